"""The admin API's users: list and search them, create one, change one, disable and enable, end its
sign-ins, reset its second factors and mail it a password reset link."""

import secrets
from datetime import datetime
from email.message import EmailMessage
from typing import Annotated

from fastapi import HTTPException, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from ...accounts.account_changes import (
    change_account_as_read,
    disable_account,
    reset_second_factors,
    sign_out_everywhere,
)
from ...accounts.account_emails import reset_messages
from ...accounts.profiles import Profile
from ...accounts.users import (
    MAX_EMAIL_LENGTH,
    MAX_USERNAME_LENGTH,
    NewUser,
    UnknownUserError,
    UserExistsError,
    create_user,
    enable_user,
    find_users,
    get_user,
    profile_changes,
)
from ...audit import trail as audit
from ...deps import PasswordHasherDep, SessionDep, SettingsDep, TokenStoreDep
from ...oauth.scopes import ADMIN_SCOPES, SCOPES
from ...storage.models import User
from ...web.mail_jobs import mail_context, send_later
from .bodies import described, read_body
from .etags import etag_of, require_match
from .guard import admin_router
from .paging import DEFAULT_LIMIT, Cursor, Limit, Page, page_of, position_of
from .parameters import IfMatch, Username

router = admin_router()

# The own API's scopes, which a user may hold (`create-user --scope`).
USER_SCOPES = frozenset(SCOPES | ADMIN_SCOPES)
NOT_FOUND = "No user has this name"


class UserView(BaseModel):
    username: str
    # Its OpenID Connect `sub`.
    subject: str
    disabled: bool
    scopes: list[str]
    name: str | None
    given_name: str | None
    family_name: str | None
    email: str | None
    email_verified: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> "UserView":
        return cls(
            username=user.username,
            subject=user.subject,
            disabled=user.disabled,
            scopes=sorted(user.scopes.split()),
            name=user.name,
            given_name=user.given_name,
            family_name=user.family_name,
            email=user.email,
            email_verified=bool(user.email_verified),
            created_at=user.created_at,
        )


class ProfileFields(Profile):
    # A misspelt field is an error, not a change silently left out.
    model_config = ConfigDict(extra="forbid")

    def profile(self) -> Profile:
        return Profile.model_validate(self.model_dump(include=set(Profile.model_fields)))


def _known_scopes(scopes: list[str] | None) -> list[str] | None:
    unknown = set(scopes or ()) - USER_SCOPES
    if unknown:
        raise ValueError(
            f"unknown scopes: {' '.join(sorted(unknown))}; a user may hold {' '.join(sorted(USER_SCOPES))}"
        )
    return scopes


class UserCreation(ProfileFields):
    username: str = Field(min_length=1, max_length=MAX_USERNAME_LENGTH)
    # Left out, the user gets a random one no one knows, and signs in after a reset by e-mail.
    password: SecretStr | None = None
    scopes: list[Annotated[str, Field(max_length=64)]] = Field(default=[], max_length=len(USER_SCOPES))

    _scopes_known = field_validator("scopes")(_known_scopes)


class UserChange(ProfileFields):
    """What to change; what is left out keeps its value. Taking a scope away ends the user's sign-ins."""

    scopes: list[Annotated[str, Field(max_length=64)]] | None = Field(default=None, max_length=len(USER_SCOPES))

    _scopes_known = field_validator("scopes")(_known_scopes)


def _answer(response: Response, user: User) -> UserView:
    view = UserView.of(user)
    response.headers["ETag"] = etag_of(view)
    return view


async def existing_user(session: SessionDep, username: str) -> User:
    """The user of exactly this name (another spelling of it is another resource); a 404 otherwise."""
    user = await get_user(session, username)
    if user is None or user.username != username:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    return user


@router.get("/admin/users", response_model=Page[UserView])
async def list_users(
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=MAX_EMAIL_LENGTH, description="Part of a name or address")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[UserView]:
    after = position_of(cursor, int) or 0
    users = await find_users(session, search=q, after_id=after, limit=limit + 1)
    return page_of([UserView.of(user) for user in users], limit, users[min(limit, len(users)) - 1].id if users else 0)


@router.post("/admin/users", status_code=status.HTTP_201_CREATED, openapi_extra=described(UserCreation))
async def create(request: Request, response: Response, session: SessionDep, passwords: PasswordHasherDep) -> UserView:
    creation = await read_body(request, UserCreation)
    password = secrets.token_urlsafe(32) if creation.password is None else creation.password.get_secret_value()
    try:
        new_user = NewUser(username=creation.username, password=password)
    except ValidationError as exc:
        # The password policy's reason, or the name's: never the password itself.
        reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, reason) from None
    try:
        user = await create_user(session, passwords, new_user, frozenset(creation.scopes), creation.profile())
    except UserExistsError:
        raise HTTPException(status.HTTP_409_CONFLICT, "A user with this name exists already") from None
    response.headers["Location"] = f"/admin/users/{user.username}"
    return _answer(response, await existing_user(session, user.username))


@router.get("/admin/users/{username}")
async def show(username: Username, response: Response, session: SessionDep) -> UserView:
    return _answer(response, await existing_user(session, username))


@router.patch("/admin/users/{username}", openapi_extra=described(UserChange))
async def change(
    request: Request,
    username: Username,
    response: Response,
    session: SessionDep,
    store: TokenStoreDep,
    if_match: IfMatch = None,
) -> UserView:
    changes = await read_body(request, UserChange)
    user = await existing_user(session, username)
    require_match(if_match, etag_of(UserView.of(user)))
    values = profile_changes(user, changes.profile())
    if changes.scopes is not None:
        values["scopes"] = " ".join(sorted(set(changes.scopes)))
    if values and not await change_account_as_read(session, store, user, values):
        raise HTTPException(status.HTTP_412_PRECONDITION_FAILED, "It changed since you read it: read it again")
    return _answer(response, await existing_user(session, username))


@router.post("/admin/users/{username}/disable")
async def disable(username: Username, response: Response, session: SessionDep, store: TokenStoreDep) -> UserView:
    """Stop the user from signing in; its sign-ins and tokens end at once, everywhere."""
    try:
        await disable_account(session, store, (await existing_user(session, username)).username)
    except UnknownUserError:  # deleted meanwhile
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND) from None
    return _answer(response, await existing_user(session, username))


@router.post("/admin/users/{username}/enable")
async def enable(username: Username, response: Response, session: SessionDep) -> UserView:
    """Let a disabled user sign in again; what the disabling ended stays ended."""
    try:
        await enable_user(session, (await existing_user(session, username)).username)
    except UnknownUserError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND) from None
    return _answer(response, await existing_user(session, username))


@router.post("/admin/users/{username}/end-sign-ins", status_code=status.HTTP_204_NO_CONTENT)
async def end_sign_ins(username: Username, session: SessionDep, store: TokenStoreDep) -> None:
    """End every sign-in and token of the user, everywhere."""
    try:
        await sign_out_everywhere(session, store, (await existing_user(session, username)).username)
    except UnknownUserError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND) from None


@router.post("/admin/users/{username}/reset-second-factors", status_code=status.HTTP_204_NO_CONTENT)
async def reset_factors(username: Username, session: SessionDep, store: TokenStoreDep) -> None:
    """Remove the user's authenticator app, recovery codes and passkeys (once you know who asks); its
    sign-ins and tokens end too."""
    try:
        await reset_second_factors(session, store, (await existing_user(session, username)).username)
    except UnknownUserError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND) from None


@router.post("/admin/users/{username}/password-reset", status_code=status.HTTP_202_ACCEPTED)
async def send_password_reset(
    request: Request, username: Username, session: SessionDep, settings: SettingsDep
) -> Response:
    """Mail the user a link to choose a new password, so that no operator handles it."""
    if not settings.account_email:
        raise HTTPException(status.HTTP_409_CONFLICT, "ACCOUNT_EMAIL is false: there is no page to reset a password on")
    user = await existing_user(session, username)
    if user.disabled or user.email is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "The user is disabled or has no e-mail address")
    messages = await reset_messages(mail_context(request, settings), user.username)
    if not messages:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, "The user has had as many account e-mails as allowed for now"
        )

    async def prepared() -> list[EmailMessage]:
        return messages

    send_later(request, prepared)
    audit.record("password_reset.sent", subject=user.username)
    return Response(status_code=status.HTTP_202_ACCEPTED)
