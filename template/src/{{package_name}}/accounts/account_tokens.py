"""Single-use tokens mailed to a user: e-mail verification and password reset links.

A token is 256 random bits; the token store keeps its digest (record_keys), never the token, for
EMAIL_TOKEN_MINUTES or RESET_TOKEN_MINUTES, and gives it out once (`claim`). A verification token
holds only for the address it was sent to. A reset token holds only while it is the user's newest
and no password change came after it: every change of password deletes the user's newest-reset
record (`forget_reset_tokens`), and each new reset replaces it.
"""

import secrets
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ..config import Settings
from ..storage.models import User
from ..storage.record_keys import store_key
from ..storage.token_store import TokenStore
from .users import get_user

VERIFY_EMAIL = "verify-email"
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
