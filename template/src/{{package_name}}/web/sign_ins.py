"""Sign-ins of a browser to the login and consent pages, and the CSRF tokens of their forms.

A sign-in is a random id in an HttpOnly cookie, the sign-in itself in the token store, so signing
out really ends it; it ends too when the user's password changes or the account is disabled. A
form's CSRF token is derived from the sign-in's id (before sign-in, from a random id in a cookie of
its own), never taken from a cookie: a value planted by a sibling site is worth nothing, as the
session id it would need is a secret of the browser's. Behind https both cookies carry the
`__Host-` prefix (cookies.py), so only this host can set them.

("Session" elsewhere in this service means a database session.)"""

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from ..accounts.authentication_methods import PASSWORD
from ..accounts.users import get_user
from ..audit import trail as audit
from ..config import Settings
from ..cookies import delete_cookie, read_cookie, set_cookie
from ..storage.models import User
from ..storage.record_keys import store_key
from ..storage.token_store import TokenStore

SESSION_COOKIE = "session"
# What a sign-in must be to stand in for a password its user does not have (one who signed up through
# another provider): this recent.
RECENT_SIGN_IN_SECONDS = 300
# Before sign-in, what the forms' CSRF tokens are bound to.
PRE_SIGN_IN_COOKIE = "pre_sign_in"


@dataclass(frozen=True, slots=True)
class SignIn:
    username: str
    auth_time: int
    # How the user signed in (RFC 8176 `amr` values): the ID tokens of its codes say so.
    methods: tuple[str, ...] = (PASSWORD,)

    @property
    def is_recent(self) -> bool:
        return time.time() - self.auth_time <= RECENT_SIGN_IN_SECONDS


def _key(session_id: str) -> str:
    return store_key("session", session_id)


async def start_sign_in(
    store: TokenStore,
    settings: Settings,
    request: Request,
    response: Response,
    username: str,
    *,
    after_change: int = 0,
    methods: tuple[str, ...] = (PASSWORD,),
) -> None:
    """A new session id at every login, and a new pre-sign-in id for after it, so nothing planted or
    seen before it is worth anything; the browser's earlier session ends. AFTER_CHANGE is the user's
    `credentials_changed_at` as read before the password was checked: a change ends the sign-ins
    of its own second too, so this one begins in the second after it at the earliest. METHODS are
    how the user proved who they are."""
    earlier = read_cookie(request, settings, SESSION_COOKIE)
    if earlier:
        await store.delete(_key(earlier))
    session_id = secrets.token_urlsafe(32)
    ttl = settings.session_lifetime_minutes * 60
    auth_time = max(int(time.time()), after_change + 1)
    record = {"username": username, "auth_time": auth_time, "amr": list(methods)}
    await store.put(_key(session_id), record, ttl)
    set_cookie(response, request, settings, SESSION_COOKIE, session_id, ttl)
    set_cookie(response, request, settings, PRE_SIGN_IN_COOKIE, secrets.token_urlsafe(32), ttl)


async def _current_sign_in(store: TokenStore, settings: Settings, request: Request) -> SignIn | None:
    session_id = read_cookie(request, settings, SESSION_COOKIE)
    if not session_id:
        return None
    record = await store.get(_key(session_id))
    if record is None:
        return None
    # Sign-ins made before methods were recorded were made with a password.
    return SignIn(record["username"], record["auth_time"], tuple(record.get("amr", [PASSWORD])))


async def signed_in_user(
    session: AsyncSession, store: TokenStore, settings: Settings, request: Request
) -> tuple[SignIn, User] | None:
    """The browser's sign-in and its user, while the sign-in holds: not once the user is gone or
    disabled, or has changed password since signing in (whoever changed it may be locking out the
    holder of a stolen password, whose sign-in must end with it)."""
    browser = await _current_sign_in(store, settings, request)
    if browser is None:
        return None
    user = await get_user(session, browser.username)
    if user is None or user.disabled or user.credentials_changed_at >= browser.auth_time:
        return None
    return browser, user


def sign_in_id(settings: Settings, request: Request) -> str | None:
    """The id of the browser's sign-in, for what only that sign-in may finish (a secret being set up)."""
    return read_cookie(request, settings, SESSION_COOKIE)


def holds_sign_in(settings: Settings, request: Request) -> bool:
    """Whether the request carries a sign-in cookie: only then is there a sign-in for a form to end."""
    return bool(read_cookie(request, settings, SESSION_COOKIE))


async def end_sign_in(store: TokenStore, settings: Settings, request: Request, response: Response) -> None:
    """End the browser's sign-in; a request that carries none changes no cookie (a cross-site form
    arrives without the SameSite cookie, and must not sign anyone out)."""
    session_id = read_cookie(request, settings, SESSION_COOKIE)
    if not session_id:
        return
    ended = await _current_sign_in(store, settings, request)
    await store.delete(_key(session_id))
    delete_cookie(response, request, settings, SESSION_COOKIE)
    if ended is not None:
        audit.record("signed_out", actor=audit.user(ended.username), subject=ended.username)


def csrf_token(settings: Settings, request: Request) -> tuple[str, str | None]:
    """The CSRF token of the browser's forms, bound to its sign-in or else to its pre-sign-in id;
    and a new pre-sign-in id when it has neither, which `set_pre_sign_in_cookie` must set."""
    binding = _binding(settings, request)
    new_id = None
    if binding is None:
        binding = new_id = secrets.token_urlsafe(32)
    return _token_for(binding), new_id


def set_pre_sign_in_cookie(response: Response, request: Request, settings: Settings, pre_sign_in_id: str) -> None:
    set_cookie(response, request, settings, PRE_SIGN_IN_COOKIE, pre_sign_in_id, settings.session_lifetime_minutes * 60)


def csrf_is_valid(settings: Settings, request: Request, submitted: str | None) -> bool:
    binding = _binding(settings, request)
    if binding is None or not submitted:
        return False
    # Compared as bytes: compare_digest refuses str with characters outside ASCII.
    expected = _token_for(binding).encode()
    return hmac.compare_digest(expected, submitted.encode("utf-8", "surrogatepass"))


def _binding(settings: Settings, request: Request) -> str | None:
    """The session id while the browser has one, else its pre-sign-in id: a planted pre-sign-in
    cookie cannot stand in for a sign-in."""
    return read_cookie(request, settings, SESSION_COOKIE) or read_cookie(request, settings, PRE_SIGN_IN_COOKIE)


def _token_for(binding: str) -> str:
    # A one-way function of a 256-bit secret: the token shows in pages, the id never may.
    digest = hashlib.sha256(b"csrf-token\0" + binding.encode("utf-8", "surrogatepass")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
