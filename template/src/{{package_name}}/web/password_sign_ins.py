"""Signing a browser in with a password, as the login page and the account page both do: the same
failed-login limits, the same answers when it fails, the same cookies when it succeeds."""

from fastapi import Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from ..accounts.account_emails import verification_messages
from ..accounts.authentication_methods import PASSWORD
from ..accounts.device_cookies import presented_device, remember_device
from ..accounts.login_attempts import TooManyFailedLogins
from ..accounts.logins import EmailNotVerified, LoginFailed, log_in
from ..accounts.passwords import PasswordHasher, PasswordHashingBusy
from ..config import Settings
from ..deps import client_address
from ..errors import BUSY_RETRY_AFTER_SECONDS
from ..storage.models import User
from ..storage.token_store import TokenStore
from .mail_jobs import mail_context, send_later
from .sign_ins import start_sign_in


class SignInRefused(Exception):
    """What the page says instead, with its status, and when to try again if that is known."""

    def __init__(self, message: str, status_code: int, retry_after: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.retry_after = retry_after

    def answered(self, response: Response) -> Response:
        """RESPONSE, the page that says so, with `Retry-After` when there is one."""
        if self.retry_after is not None:
            response.headers["Retry-After"] = self.retry_after
        return response


async def password_sign_in(
    request: Request,
    session: AsyncSession,
    store: TokenStore,
    settings: Settings,
    passwords: PasswordHasher,
    username: str,
    password: str,
) -> User:
    """The user USERNAME and PASSWORD log in; SignInRefused otherwise. An account whose address
    must be confirmed first is mailed a new link, as the last may be lost or expired."""
    try:
        return await log_in(
            session,
            store,
            settings,
            passwords,
            username=username,
            password=password,
            address=client_address(request),
            device=presented_device(request, settings),
        )
    except TooManyFailedLogins as exc:
        raise SignInRefused(
            "Too many failed logins; try again later.", status.HTTP_429_TOO_MANY_REQUESTS, str(exc.retry_after)
        ) from None
    except PasswordHashingBusy:
        raise SignInRefused(
            "The service is busy; try again in a moment.", status.HTTP_503_SERVICE_UNAVAILABLE, BUSY_RETRY_AFTER_SECONDS
        ) from None
    except EmailNotVerified as exc:
        if not settings.account_email:
            raise SignInRefused("Confirm your e-mail address first.", status.HTTP_403_FORBIDDEN) from None
        context, unconfirmed = mail_context(request, settings), exc.user.username
        send_later(request, lambda: verification_messages(context, unconfirmed))
        message = "Confirm your e-mail address first; we sent you a new link."
        raise SignInRefused(message, status.HTTP_403_FORBIDDEN) from None
    except LoginFailed:
        raise SignInRefused("Incorrect username or password.", status.HTTP_400_BAD_REQUEST) from None


async def begin_sign_in(
    store: TokenStore,
    settings: Settings,
    request: Request,
    response: Response,
    user: User,
    methods: tuple[str, ...] = (PASSWORD,),
) -> None:
    """Sign the browser in as USER on RESPONSE, and remember the device for the account."""
    await start_sign_in(
        store, settings, request, response, user.username, after_change=user.credentials_changed_at, methods=methods
    )
    await remember_device(store, settings, request, response, user)
