"""The admin pages (`/admin`): users and clients for a signed-in user who holds `admin`: list and search
users, disable and enable one, list clients, register one and copy its credentials, shown only once.

Server-rendered and without JavaScript, as the account page is, under the same rules: a sign-in (made on
the account page, and no older than ADMIN_SIGN_IN_MAX_AGE_MINUTES), a CSRF token bound to it in every form, and a 303 back after each change, with a notice
named by a fixed word. Only the new client's credentials are answered directly: a redirect would have to
carry the secret in its URL. The admin API (routes/admin/) does all of this and more for automation."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from ..accounts.account_changes import disable_account
from ..accounts.users import MAX_EMAIL_LENGTH, enable_user, find_users, get_user
from ..app_state import app_state
from ..audit import trail as audit
from ..config import Settings
from ..deps import SessionDep, SettingsDep, TokenStoreDep
from ..oauth.clients import BY_OPERATOR, CLIENT_ID_LENGTH, RESOURCE_SCOPES, NewClient, create_client, find_clients
from ..oauth.resources import declared_scopes
from ..oauth.scopes import ADMIN_SCOPE, ADMIN_SCOPES, SCOPES
from ..storage.models import User
from ..web.pages import PAGE_HEADERS, checked_form, error_page, form_text, page, page_url
from ..web.sign_ins import signed_in_user

router = APIRouter(tags=["admin pages"], include_in_schema=False)

PAGE_SIZE = 50
# What `?done=` may name.
NOTICES = {
    "disabled": "The user is disabled: every sign-in and token of theirs has ended.",
    "enabled": "The user can sign in again.",
    "unknown": "No user has that name.",
}
# The grant types the form offers, with what each is for.
GRANT_CHOICES = {
    "authorization_code": "Users sign in through it (with refresh tokens)",
    "client_credentials": "It acts for itself (a job, a service)",
}
OFFERED_SCOPES = SCOPES | ADMIN_SCOPES


class NotAnAdmin(Exception):
    """Signed in without `admin`, or not signed in: answered with a page saying so."""

    def __init__(self, answer: Response) -> None:
        self.answer = answer


@router.get("/admin", name="admin")
async def admin_page(
    request: Request,
    session: SessionDep,
    store: TokenStoreDep,
    settings: SettingsDep,
    q: Annotated[str | None, Query(max_length=MAX_EMAIL_LENGTH)] = None,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    clients_after: Annotated[str, Query(max_length=CLIENT_ID_LENGTH)] = "",
) -> Response:
    try:
        await _admin(request, session, store, settings)
    except NotAnAdmin as refused:
        return refused.answer
    return await _page(request, session, settings, q=q, after=after, clients_after=clients_after)


@router.post("/admin/forms/disable-user", name="admin_disable_user")
async def disable_user(request: Request, session: SessionDep, store: TokenStoreDep, settings: SettingsDep) -> Response:
    try:
        _admin_user, form = await _admin_form(request, session, store, settings)
    except NotAnAdmin as refused:
        return refused.answer
    user = await _named_user(session, form)
    if user is None:
        return _back(request, settings, "unknown")
    await disable_account(session, store, user.username)
    return _back(request, settings, "disabled")


@router.post("/admin/forms/enable-user", name="admin_enable_user")
async def enable(request: Request, session: SessionDep, store: TokenStoreDep, settings: SettingsDep) -> Response:
    try:
        _admin_user, form = await _admin_form(request, session, store, settings)
    except NotAnAdmin as refused:
        return refused.answer
    user = await _named_user(session, form)
    if user is None:
        return _back(request, settings, "unknown")
    await enable_user(session, user.username)
    return _back(request, settings, "enabled")


@router.post("/admin/forms/create-client", name="admin_create_client")
async def create(request: Request, session: SessionDep, store: TokenStoreDep, settings: SettingsDep) -> Response:
    try:
        _admin_user, form = await _admin_form(request, session, store, settings)
    except NotAnAdmin as refused:
        return refused.answer
    grant_types = [value for value in form.getlist("grant_type") if value in GRANT_CHOICES]
    if "authorization_code" in grant_types:
        grant_types.append("refresh_token")
    fields = {
        "name": (form_text(form.get("name")) or "").strip(),
        "public": form_text(form.get("public")) == "on",
        "redirect_uris": (form_text(form.get("redirect_uris")) or "").split(),
        "grant_types": grant_types,
        "scopes": [value for value in form.getlist("scope") if value in OFFERED_SCOPES],
    }
    try:
        context = {RESOURCE_SCOPES: await declared_scopes(session), BY_OPERATOR: True}
        new_client = NewClient.model_validate(fields, context=context)
    except ValidationError as exc:
        # The rule that failed, in its own words: it quotes only what this operator typed.
        error = exc.errors()[0]["msg"].removeprefix("Value error, ")
        return await _page(request, session, settings, error=error, status_code=status.HTTP_400_BAD_REQUEST)
    client, secret = await create_client(session, new_client)
    credentials = {"client_id": client.client_id, "client_secret": secret}
    return await _page(request, session, settings, created=client.name, credentials=credentials)


async def _admin(request: Request, session: SessionDep, store: TokenStoreDep, settings: Settings) -> User:
    """The signed-in user, who holds `admin` (NotAnAdmin otherwise); the events of the request name them."""
    signed_in = await signed_in_user(session, store, settings, request)
    if signed_in is None:
        message = "Sign in on your account page first, then come back here."
        raise NotAnAdmin(
            page(request, settings, "admin_sign_in.html", {"message": message}, status.HTTP_401_UNAUTHORIZED)
        )
    browser, user = signed_in
    if ADMIN_SCOPE not in user.allowed_scopes:
        raise NotAnAdmin(
            error_page(request, "Your account may not administer this service.", status.HTTP_403_FORBIDDEN)
        )
    # A browser left signed in is not an operator at the keyboard: administering needs a recent sign-in.
    max_age = settings.admin_sign_in_max_age_minutes
    if app_state(request.app).clock() - browser.auth_time > max_age * 60:
        message = (
            f"Your sign-in is more than {max_age} minutes old: sign out on your account page, sign in again,"
            " then come back here."
        )
        raise NotAnAdmin(
            page(request, settings, "admin_sign_in.html", {"message": message}, status.HTTP_401_UNAUTHORIZED)
        )
    audit.act_for(audit.user(user.username))
    return user


async def _admin_form(
    request: Request, session: SessionDep, store: TokenStoreDep, settings: Settings
) -> tuple[User, FormData]:
    user = await _admin(request, session, store, settings)
    return user, await checked_form(request, settings)


async def _named_user(session: SessionDep, form: FormData) -> User | None:
    values = form.getlist("username")
    username = form_text(values[0]) if len(values) == 1 else None
    if not username:
        return None
    user = await get_user(session, username)
    return user if user is not None and user.username == username else None


async def _page(
    request: Request,
    session: SessionDep,
    settings: Settings,
    *,
    q: str | None = None,
    after: int = 0,
    clients_after: str = "",
    error: str | None = None,
    created: str | None = None,
    credentials: dict[str, str | None] | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    users = await find_users(session, search=q, after_id=after, limit=PAGE_SIZE + 1)
    clients = await find_clients(session, after=clients_after, limit=PAGE_SIZE + 1)
    context = {
        "notice": NOTICES.get(request.query_params.get("done", "")),
        "error": error,
        "q": q or "",
        "users": users[:PAGE_SIZE],
        "next_after": users[PAGE_SIZE - 1].id if len(users) > PAGE_SIZE else None,
        "clients": clients[:PAGE_SIZE],
        "next_clients_after": clients[PAGE_SIZE - 1].client_id if len(clients) > PAGE_SIZE else None,
        "grant_choices": GRANT_CHOICES,
        "scope_choices": OFFERED_SCOPES,
        "created": created,
        "credentials": credentials,
    }
    return page(request, settings, "admin.html", context, status_code)


def _back(request: Request, settings: Settings, done: str) -> Response:
    url = page_url(request, settings, "admin") + f"?done={done}"
    return RedirectResponse(url, status.HTTP_303_SEE_OTHER, headers=PAGE_HEADERS)
