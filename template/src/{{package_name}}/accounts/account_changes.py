"""Changes to an account that end what was granted before them: the password, disabling the account,
and signing out everywhere.

Each ends every sign-in of the user's browsers and every refresh grant (both check the time of the
user's last credential change) and revokes every access token issued until now, on every process
and instance. Every way to change a password (a reset by e-mail included) goes through here.
"""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ..audit import trail as audit
from ..storage.models import User
from ..storage.token_store import TokenStore
from ..tokens.revocation import revoke_user_tokens
from .account_tokens import forget_reset_tokens, reset_holder
from .passwords import PasswordHasher
from .second_factors import remove_factors
from .users import ADMIN_COLUMNS, change_user_as_read, disable_user, end_sign_ins, set_password


async def change_password(
    session: AsyncSession, store: TokenStore, passwords: PasswordHasher, username: str, password: str
) -> None:
    user = await set_password(session, passwords, username, password)
    # After the change has committed: a token issued in between still falls before the revocation.
    await revoke_user_tokens(store, user.username)
    await forget_reset_tokens(store, user.username)
    audit.record("password.changed", actor=audit.on_behalf_of(user.username), subject=user.username)


async def reset_password(
    session: AsyncSession, store: TokenStore, passwords: PasswordHasher, token: str, password: str
) -> User | None:
    """Spend the reset TOKEN and give its holder PASSWORD (check it first: a refused password would
    waste the token); the user, as it was, or None when the token does not hold (used, expired, replaced)."""
    user = await reset_holder(session, store, token, spend=True)
    if user is None:
        return None
    await change_password(session, store, passwords, user.username, password)
    audit.record("password.reset", actor=audit.user(user.username), subject=user.username)
    return user


async def disable_account(session: AsyncSession, store: TokenStore, username: str) -> None:
    user = await disable_user(session, username)
    await revoke_user_tokens(store, user.username)
    audit.record("user.disabled", actor=audit.on_behalf_of(user.username), subject=user.username)


async def change_account_as_read(session: AsyncSession, store: TokenStore, user: User, values: dict[str, Any]) -> bool:
    """An operator's change of USER as it was read (users.change_user_as_read); whether it was made.
    Taking a scope away ends the user's sign-ins and tokens too, which may carry it."""
    # Read before the change: the UPDATE brings what USER holds up to date.
    username, scopes_before = user.username, set(user.scopes.split())
    if not await change_user_as_read(session, user, values):
        return False
    audit.record("user.changed", actor=audit.on_behalf_of(username), subject=username, detail=_changed(values))
    if "scopes" in values and scopes_before - set(values["scopes"].split()):
        await sign_out_everywhere(session, store, username)
    return True


def _changed(values: dict[str, Any]) -> audit.Detail:
    """What changed: the names of the fields an operator sees (never the values, which are personal data),
    and the scopes."""
    detail: dict[str, str | list[str]] = {"fields": sorted(values.keys() & set(ADMIN_COLUMNS))}
    if "scopes" in values:
        detail["scopes"] = values["scopes"].split()
    return detail


async def sign_out_everywhere(session: AsyncSession, store: TokenStore, username: str) -> None:
    user = await end_sign_ins(session, username)
    await revoke_user_tokens(store, user.username)
    audit.record("sign_ins.ended", actor=audit.on_behalf_of(user.username), subject=user.username)


async def reset_second_factors(session: AsyncSession, store: TokenStore, username: str) -> None:
    """Remove the user's second factors (an operator's, after checking who asks), and end every
    sign-in and token of the account, which may be in the hands of whoever took the factor."""
    user = await end_sign_ins(session, username)
    await remove_factors(session, user.username)
    await revoke_user_tokens(store, user.username)
    audit.record(
        "factor.removed", actor=audit.on_behalf_of(user.username), subject=user.username, detail={"factor": "all"}
    )
