"""Changes to an account that end what was granted before them: the password, disabling the account,
and signing out everywhere.

Each ends every sign-in of the user's browsers and every refresh grant (both check the time of the
user's last credential change) and revokes every access token issued until now, on every process
and instance. Any later way to change a password (account recovery included) goes through here.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from ..storage.token_store import TokenStore
from ..tokens.revocation import revoke_user_tokens
from .account_tokens import forget_reset_tokens
from .passwords import PasswordHasher
from .users import disable_user, end_sign_ins, set_password


async def change_password(
    session: AsyncSession, store: TokenStore, passwords: PasswordHasher, username: str, password: str
) -> None:
    user = await set_password(session, passwords, username, password)
    # After the change has committed: a token issued in between still falls before the revocation.
    await revoke_user_tokens(store, user.username)
    await forget_reset_tokens(store, user.username)


async def disable_account(session: AsyncSession, store: TokenStore, username: str) -> None:
    user = await disable_user(session, username)
    await revoke_user_tokens(store, user.username)


async def sign_out_everywhere(session: AsyncSession, store: TokenStore, username: str) -> None:
    user = await end_sign_ins(session, username)
    await revoke_user_tokens(store, user.username)
