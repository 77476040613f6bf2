"""Sign-ins of a browser to the login and consent pages: a random id in an HttpOnly cookie, the
sign-in itself in the token store, so signing out really ends it. Forms carry a CSRF token that
must match a cookie of its own (double submit); both cookies are SameSite=Lax.

("Session" elsewhere in this service means a database session.)"""

import hmac
import secrets
import time
from dataclasses import dataclass

from fastapi import Request, Response

from .config import Settings
from .store_keys import store_key
from .token_store import TokenStore

SESSION_COOKIE = "session"
CSRF_COOKIE = "csrf"


@dataclass(frozen=True, slots=True)
class SignIn:
    username: str
    auth_time: int


def _key(session_id: str) -> str:
    return store_key("session", session_id)


async def start_sign_in(
    store: TokenStore, settings: Settings, request: Request, response: Response, username: str
) -> None:
    """A new session id and a new CSRF token at every login, so nothing planted or seen before it
    is worth anything; the browser's earlier session ends."""
    earlier = request.cookies.get(SESSION_COOKIE)
    if earlier:
        await store.delete(_key(earlier))
    session_id = secrets.token_urlsafe(32)
    ttl = settings.session_lifetime_minutes * 60
    await store.put(_key(session_id), {"username": username, "auth_time": int(time.time())}, ttl)
    _set_cookie(response, settings, SESSION_COOKIE, session_id, ttl)
    set_csrf_cookie(response, settings, secrets.token_urlsafe(32))


async def current_sign_in(store: TokenStore, request: Request) -> SignIn | None:
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        return None
    record = await store.get(_key(session_id))
    return None if record is None else SignIn(record["username"], record["auth_time"])


async def end_sign_in(store: TokenStore, request: Request, response: Response) -> None:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        await store.delete(_key(session_id))
    response.delete_cookie(SESSION_COOKIE, path="/")


def csrf_token(request: Request) -> str:
    """The browser's CSRF token, or a new one (set it with `set_csrf_cookie`)."""
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)


def set_csrf_cookie(response: Response, settings: Settings, token: str) -> None:
    _set_cookie(response, settings, CSRF_COOKIE, token, settings.session_lifetime_minutes * 60)


def csrf_is_valid(request: Request, submitted: str | None) -> bool:
    expected = request.cookies.get(CSRF_COOKIE)
    if not (expected and submitted):
        return False
    # Compared as bytes: compare_digest refuses str with characters outside ASCII.
    return hmac.compare_digest(expected.encode("utf-8", "surrogatepass"), submitted.encode("utf-8", "surrogatepass"))


def _set_cookie(response: Response, settings: Settings, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        secure=not settings.is_development,
        samesite="lax",
    )
