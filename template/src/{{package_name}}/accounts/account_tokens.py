"""Single-use tokens mailed to an address: e-mail verification, change of address, sign-up and
password reset links.

A token is 256 random bits; the token store keeps its digest (record_keys), never the token, for
EMAIL_TOKEN_MINUTES or RESET_TOKEN_MINUTES, and gives it out once (`claim`). A verification token
holds only for the address it was sent to. A sign-up token holds what the sign-up asked for (the
password hashed), as no account exists until its link is used. A change-of-address token holds
only while it is the user's newest and the account is as it was when the change was asked: the
same address, and no change of password or sign-out everywhere since. A reset token holds only
while it is the user's newest and no password change came after it: every change of password
deletes the user's newest-reset record (`forget_reset_tokens`), and each new reset replaces it.
"""

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ..config import Settings
from ..storage.models import User
from ..storage.record_keys import store_key
from ..storage.token_store import TokenStore
from .users import get_user

VERIFY_EMAIL = "verify-email"
SIGN_UP = "sign-up"
EMAIL_CHANGE = "email-change"
NEWEST_EMAIL_CHANGE = "newest-email-change"
PASSWORD_RESET = "password-reset"
NEWEST_RESET = "newest-reset"
# Longer than any token: only a client that means harm sends one.
MAX_TOKEN_LENGTH = 100


async def issue_verification_token(store: TokenStore, settings: Settings, user: User) -> str:
    token = secrets.token_urlsafe(32)
    record = {"username": user.username, "email": user.email}
    await store.put(store_key(VERIFY_EMAIL, token), record, settings.email_token_minutes * 60)
    return token


async def verification_holder(session: AsyncSession, store: TokenStore, token: str, *, spend: bool) -> User | None:
    """The user whose address TOKEN verifies, while the token holds; SPEND uses it up."""
    record = await _record(store, VERIFY_EMAIL, token, spend=spend)
    if record is None:
        return None
    user = await get_user(session, record["username"])
    if user is None or user.disabled or user.email is None or user.email != record["email"]:
        return None
    return user


@dataclass(frozen=True, slots=True)
class PendingSignUp:
    """An account asked for on the sign-up page, made once its address is confirmed."""

    username: str
    email: str
    password_hash: str


async def issue_sign_up_token(store: TokenStore, settings: Settings, sign_up: PendingSignUp) -> str:
    token = secrets.token_urlsafe(32)
    record = {"username": sign_up.username, "email": sign_up.email, "password_hash": sign_up.password_hash}
    await store.put(store_key(SIGN_UP, token), record, settings.email_token_minutes * 60)
    return token


async def pending_sign_up(store: TokenStore, token: str, *, spend: bool) -> PendingSignUp | None:
    """The sign-up TOKEN finishes, while the token holds; SPEND uses it up."""
    record = await _record(store, SIGN_UP, token, spend=spend)
    if record is None:
        return None
    return PendingSignUp(record["username"], record["email"], record["password_hash"])


async def issue_email_change_token(store: TokenStore, settings: Settings, user: User, email: str) -> str:
    """A token that makes EMAIL the user's address; it replaces any change asked for before."""
    token = secrets.token_urlsafe(32)
    ttl = settings.email_token_minutes * 60
    key = store_key(EMAIL_CHANGE, token)
    record = {
        "username": user.username,
        "email": email,
        # The account as it is now: the change holds only while it stays so.
        "old_email": user.email,
        "credentials_changed_at": user.credentials_changed_at,
    }
    await store.put(key, record, ttl)
    await store.put(store_key(NEWEST_EMAIL_CHANGE, user.username), {"key": key}, ttl)
    return token


async def email_change_holder(
    session: AsyncSession, store: TokenStore, token: str, *, spend: bool
) -> tuple[User, str] | None:
    """The user whose address TOKEN changes, and the new address, while the token holds; SPEND uses it up."""
    record = await _record(store, EMAIL_CHANGE, token, spend=spend)
    if record is None or not await _is_newest_change(store, record["username"], store_key(EMAIL_CHANGE, token)):
        return None
    user = await get_user(session, record["username"])
    if user is None or not _as_when_asked(user, record):
        return None
    return user, record["email"]


async def pending_email(store: TokenStore, user: User) -> str | None:
    """The address the user asked to change to, while the link mailed to it holds."""
    newest = await store.get(store_key(NEWEST_EMAIL_CHANGE, user.username))
    record = None if newest is None else await store.get(newest["key"])
    return None if record is None or not _as_when_asked(user, record) else str(record["email"])


async def forget_email_change(store: TokenStore, username: str) -> None:
    """The user's pending change of address stops working: asked back to the address it has."""
    await store.delete(store_key(NEWEST_EMAIL_CHANGE, username))


async def _is_newest_change(store: TokenStore, username: str, key: str) -> bool:
    newest = await store.get(store_key(NEWEST_EMAIL_CHANGE, username))
    return newest is not None and newest["key"] == key


def _as_when_asked(user: User, record: dict[str, Any]) -> bool:
    return (
        not user.disabled
        and user.email == record["old_email"]
        and user.credentials_changed_at == record["credentials_changed_at"]
    )


async def issue_reset_token(store: TokenStore, settings: Settings, user: User) -> str:
    token = secrets.token_urlsafe(32)
    ttl = settings.reset_token_minutes * 60
    key = store_key(PASSWORD_RESET, token)
    await store.put(key, {"username": user.username}, ttl)
    await store.put(store_key(NEWEST_RESET, user.username), {"key": key}, ttl)
    return token


async def reset_holder(session: AsyncSession, store: TokenStore, token: str, *, spend: bool) -> User | None:
    """The user whose password TOKEN may reset, while the token holds; SPEND uses it up."""
    record = await _record(store, PASSWORD_RESET, token, spend=spend)
    if record is None:
        return None
    newest = await store.get(store_key(NEWEST_RESET, record["username"]))
    if newest is None or newest["key"] != store_key(PASSWORD_RESET, token):
        return None
    user = await get_user(session, record["username"])
    return None if user is None or user.disabled else user


async def forget_reset_tokens(store: TokenStore, username: str) -> None:
    """Every reset token of the user stops working: after any change of password."""
    await store.delete(store_key(NEWEST_RESET, username))


async def _record(store: TokenStore, purpose: str, token: str, *, spend: bool) -> dict[str, Any] | None:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    key = store_key(purpose, token)
    if not spend:
        return await store.get(key)
    claimed = await store.claim(key)
    if claimed is None or claimed[1] is not None:
        return None
    return claimed[0]
