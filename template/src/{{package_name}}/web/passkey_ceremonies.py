"""WebAuthn ceremonies in progress: the challenge of the options a browser was given, kept in the
token store for a few minutes under a random id in an HttpOnly cookie, and taken once.

A ceremony is for one purpose (a sign-in, a second factor, a registration) and, but for a sign-in
without a username, one user: its challenge is good for nothing else, and a newer ceremony of the
browser's takes the place of an older one.
"""

import base64
import secrets
from dataclasses import dataclass

from fastapi import Request, Response

from ..accounts.passkeys import CEREMONY_SECONDS
from ..config import Settings
from ..cookies import read_cookie, set_cookie
from ..storage.record_keys import store_key
from ..storage.token_store import TokenStore

COOKIE = "passkey_ceremony"
SIGN_IN = "sign-in"
SECOND_FACTOR = "second-factor"
REGISTRATION = "registration"


@dataclass(frozen=True, slots=True)
class Ceremony:
    purpose: str
    username: str | None
    challenge: bytes


def _key(ceremony_id: str) -> str:
    return store_key("passkey-ceremony", ceremony_id)


async def begin_ceremony(
    store: TokenStore,
    settings: Settings,
    request: Request,
    response: Response,
    ceremony: Ceremony,
) -> None:
    """Keep CEREMONY's challenge for the browser, whose cookie RESPONSE sets."""
    earlier = read_cookie(request, settings, COOKIE)
    if earlier:
        await store.delete(_key(earlier))
    ceremony_id = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(ceremony.challenge).decode("ascii")
    record = {"purpose": ceremony.purpose, "username": ceremony.username, "challenge": challenge}
    await store.put(_key(ceremony_id), record, CEREMONY_SECONDS)
    set_cookie(response, request, settings, COOKIE, ceremony_id, CEREMONY_SECONDS)


async def take_ceremony(
    store: TokenStore, settings: Settings, request: Request, purpose: str, username: str | None
) -> Ceremony | None:
    """The browser's ceremony for PURPOSE (and USERNAME), used up now: None when there is none,
    it expired, was taken already, or was for something else. (Its cookie is left to expire: it
    names nothing any more.)"""
    ceremony_id = read_cookie(request, settings, COOKIE)
    if not ceremony_id:
        return None
    claimed = await store.claim(_key(ceremony_id))
    if claimed is None or claimed[1] is not None:
        return None
    record = claimed[0]
    if record.get("purpose") != purpose or record.get("username") != username:
        return None
    return Ceremony(purpose, username, base64.urlsafe_b64decode(record["challenge"]))
