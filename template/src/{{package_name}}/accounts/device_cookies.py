"""Device cookies (OWASP "Slow Down Online Guessing Attacks with Device Cookies"): a browser that
signed in to an account keeps a random token, and its logins to that account are then limited by
its own failures only, so failures from elsewhere that pause the account do not lock its owner out.

The token is stored under its digest in the token store, bound to the account and to the moment its
password last changed: a token for another account, a forged one, or one from before a password
change is worth nothing. Every sign-in replaces it.
"""

import re
import secrets

from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from ..config import Settings
from ..cookies import read_cookie, set_cookie
from ..storage.models import User
from ..storage.record_keys import store_key
from ..storage.token_store import TokenStore
from .casefold import folded
from .users import get_user

DEVICE_COOKIE = "device"
# What secrets.token_urlsafe(32) makes; any other value is none of ours and is not looked up.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")


def _key(token: str) -> str:
    return store_key("device", token)


def presented_device(request: Request, settings: Settings) -> str | None:
    """The device token the browser sent, if it has the form of one."""
    token = read_cookie(request, settings, DEVICE_COOKIE)
    return token if token is not None and TOKEN_PATTERN.fullmatch(token) else None


async def is_trusted(session: AsyncSession, store: TokenStore, token: str, username: str) -> bool:
    """Whether this device signed in to this account since the account's password last changed."""
    record = await store.get(_key(token))
    if record is None or record.get("account") != folded(username):
        return False
    user = await get_user(session, username)
    # The subject too: a later account that takes a freed name is another account.
    return (
        user is not None
        and user.subject == record.get("subject")
        and user.credentials_changed_at == record.get("credentials_changed_at")
    )


async def remember_device(
    store: TokenStore, settings: Settings, request: Request, response: Response, user: User
) -> None:
    """A new device token for the browser that has just signed in; its earlier one ends, so a token
    seen before this sign-in is worth nothing."""
    earlier = presented_device(request, settings)
    if earlier is not None:
        await store.delete(_key(earlier))
    token = secrets.token_urlsafe(32)
    ttl = settings.device_cookie_lifetime_days * 86400
    record = {
        "account": folded(user.username),
        "subject": user.subject,
        "credentials_changed_at": user.credentials_changed_at,
    }
    await store.put(_key(token), record, ttl)
    set_cookie(response, request, settings, DEVICE_COOKIE, token, ttl)
