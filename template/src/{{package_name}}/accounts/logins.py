"""Password logins, the one sequence behind the password grant and the login page: bounded
input, brute-force limits, then the password check."""

import contextlib
from collections.abc import Iterator

from sqlalchemy.ext.asyncio import AsyncSession

from ..audit import trail as audit
from ..config import Settings
from ..observability.metrics import SIGN_INS
from ..storage.models import User
from ..storage.token_store import TokenStore
from . import device_cookies, login_attempts
from .passwords import PasswordHasher, PasswordHashingBusy, is_acceptable
from .users import MAX_USERNAME_LENGTH, authenticate


class LoginFailed(Exception):
    """Wrong username or password, or a disabled account: one answer for all."""


class EmailNotVerified(LoginFailed):
    """The password was right, but REQUIRE_VERIFIED_EMAIL is on and the account's address is not
    verified yet. Only someone who knows the password learns this; `user` is whom to mail a link."""

    def __init__(self, user: User) -> None:
        super().__init__(user.username)
        self.user = user


async def log_in(
    session: AsyncSession,
    store: TokenStore,
    settings: Settings,
    passwords: PasswordHasher,
    *,
    username: str,
    password: str,
    address: str,
    device: str | None = None,
    reauthentication: bool = False,
) -> User:
    """The user these credentials log in, or LoginFailed (EmailNotVerified for a right password of
    an account whose address must be verified first); TooManyFailedLogins when paused,
    PasswordHashingBusy when the service cannot check a password now. `device` is the token of the
    browser's device cookie, if it sent one. A REAUTHENTICATION (a signed-in user's current password,
    asked before a change) is limited alike, and recorded apart from sign-ins."""
    event = "reauthentication" if reauthentication else "sign_in"
    with _outcome_counted(username, event):
        if not username or len(username) > MAX_USERNAME_LENGTH or not is_acceptable(password):
            # No such account can exist: refused before anything is counted, stored or hashed.
            raise LoginFailed
        # Taken first: a login refused for want of a place touches neither the database nor a counter.
        with passwords.slot():
            trusted = device is not None and await device_cookies.is_trusted(session, store, device, username)
            attempt = await login_attempts.begin(store, settings, username, address, device if trusted else None)
            try:
                user = await authenticate(session, passwords, username, password)
            except Exception:
                await login_attempts.abandoned(store, attempt)
                raise
            if user is None:
                raise LoginFailed
            # The right password: no failed guess, whether or not the address lets the user in.
            await login_attempts.succeeded(store, attempt)
        if must_confirm_email(settings, user):
            raise EmailNotVerified(user)
    if not reauthentication:
        SIGN_INS.labels("succeeded").inc()
    audit.record(
        f"{event}.succeeded", actor=audit.user(user.username), subject=user.username, detail={"method": "password"}
    )
    return user


@contextlib.contextmanager
def _outcome_counted(username: str, event: str) -> Iterator[None]:
    """A refused login, counted in the metrics by why (sign-ins only), and recorded as EVENT under the
    name as typed: whoever tried is not known to be its owner."""
    try:
        yield
    except EmailNotVerified:
        _refused(event, "failed", username, "unverified", "email_not_verified")
        raise
    except LoginFailed:
        _refused(event, "failed", username, "failed", "wrong_credentials")
        raise
    except login_attempts.TooManyFailedLogins:
        _refused(event, "limited", username, "limited", "failed_logins")
        raise
    except PasswordHashingBusy:
        if event == "sign_in":
            SIGN_INS.labels("busy").inc()
        raise


def _refused(event: str, outcome: str, username: str, counted_as: str, reason: str) -> None:
    if event == "sign_in":
        SIGN_INS.labels(counted_as).inc()
    detail: audit.Detail = {"method": "password", "reason": reason}
    audit.record(f"{event}.{outcome}", outcome="failure", subject=username, detail=detail)


def must_confirm_email(settings: Settings, user: User) -> bool:
    """Whether USER may sign in only once the address is confirmed, by any means."""
    return settings.email_verification_required and _unverified(user)


def _unverified(user: User) -> bool:
    # A user without any address was made by an operator (sign-ups always give one), who vouches
    # for the account; refusing it would lock out a user who has no address a link could reach.
    return user.email is not None and not user.email_verified
