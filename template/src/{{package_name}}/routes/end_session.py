"""RP-Initiated Logout 1.0: a relying party sends the browser here to end its session with this service.

The browser goes back only to a `post_logout_redirect_uri` registered for the client
(`create-client --post-logout-redirect-uri`), with `state`; otherwise it sees the signed-out page.
The client is named by `client_id` or by the audience of `id_token_hint`, and both must agree.
Unless `id_token_hint` names the user signed in here, the user is asked first (§2): any site can
send a browser to this address, and none may end a session the user did not mean to end.
"""

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import ImmutableMultiDict

from ..config import Settings, issuer_of
from ..deps import ClientDocumentsDep, IdTokenSignersDep, SessionDep, SettingsDep, TokenStoreDep
from ..oauth.client_documents import ClientDocumentRefused, ClientDocuments
from ..storage.models import Client
from ..storage.token_store import TokenStore
from ..tokens.id_tokens import IdTokenSigners, verified_hint
from ..web.pages import PAGE_HEADERS, checked_form, error_page, form_text, page, templates
from ..web.second_factor_sign_ins import end_waiting_sign_in
from ..web.sign_ins import end_sign_in, holds_sign_in, signed_in_user

router = APIRouter(tags=["openid"], include_in_schema=False)

PARAMETERS = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state")


@router.get("/end-session", name="end_session")
async def end_session_by_get(
    request: Request,
    session: SessionDep,
    clients: ClientDocumentsDep,
    store: TokenStoreDep,
    settings: SettingsDep,
    signers: IdTokenSignersDep,
) -> Response:
    return await _sign_out(request, request.query_params, session, clients, store, settings, signers)


@router.post("/end-session")
async def end_session_by_post(
    request: Request,
    session: SessionDep,
    clients: ClientDocumentsDep,
    store: TokenStoreDep,
    settings: SettingsDep,
    signers: IdTokenSignersDep,
) -> Response:
    form = await request.form()
    if form.get("confirm") == "yes":
        # The user's answer on the confirmation page, which only this service's page can post. Without
        # a sign-in (signed out already, in another tab or by a second click) there is nothing to end.
        if holds_sign_in(settings, request):
            form = await checked_form(request, settings)
        return await _sign_out(request, form, session, clients, store, settings, signers, confirmed=True)
    return await _sign_out(request, form, session, clients, store, settings, signers)


async def _sign_out(
    request: Request,
    values: ImmutableMultiDict[str, object],
    session: AsyncSession,
    clients: ClientDocuments,
    store: TokenStore,
    settings: Settings,
    signers: IdTokenSigners,
    *,
    confirmed: bool = False,
) -> Response:
    if any(len(values.getlist(name)) > 1 for name in PARAMETERS):
        return error_page(request, "This sign-out request names something more than once.")
    given = {name: form_text(values.get(name)) for name in PARAMETERS}
    client_id = given["client_id"]
    hint = None
    if given["id_token_hint"] is not None:
        hint = verified_hint(signers, given["id_token_hint"], issuer_of(request, settings))
        audience = None if hint is None else hint.get("aud")
        if hint is None or not isinstance(audience, str) or (client_id is not None and client_id != audience):
            return error_page(request, "This sign-out request came with a token that is not for its application.")
        client_id = audience
    if not confirmed and not await _hint_names_the_signed_in_user(request, session, store, settings, hint):
        asked = {name: value for name, value in given.items() if value is not None}
        return page(request, settings, "confirm_sign_out.html", {"parameters": asked})
    uri = given["post_logout_redirect_uri"]
    client = None if client_id is None or uri is None else await _client(session, clients, client_id)
    response: Response
    if client is not None and uri in client.allowed_post_logout_redirect_uris:
        state = given["state"]
        separator = "&" if "?" in uri else "?"
        target = uri if state is None else f"{uri}{separator}{urlencode({'state': state})}"
        response = RedirectResponse(target, status.HTTP_303_SEE_OTHER)
    else:
        response = templates.TemplateResponse(request, "signed_out.html", headers=PAGE_HEADERS)
    await end_sign_in(store, settings, request, response)
    await end_waiting_sign_in(store, settings, request, response)
    return response


async def _client(session: AsyncSession, clients: ClientDocuments, client_id: str) -> Client | None:
    """The client, registered or described by its metadata document; None too when that document
    cannot be used, and then the user sees the signed-out page instead of going back."""
    try:
        return await clients.client(session, client_id)
    except ClientDocumentRefused:
        return None


async def _hint_names_the_signed_in_user(
    request: Request, session: AsyncSession, store: TokenStore, settings: Settings, hint: dict[str, Any] | None
) -> bool:
    """True too when no one is signed in: there is nothing to end, so nothing to ask."""
    signed_in = await signed_in_user(session, store, settings, request)
    return signed_in is None or (hint is not None and hint.get("sub") == signed_in[1].subject)
