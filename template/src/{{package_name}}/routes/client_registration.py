"""Dynamic client registration: RFC 7591 at POST /clients, and RFC 7592 management of a registered client at
/clients/{client_id}, mounted only while CLIENT_REGISTRATION is not off.

Under `token`, a registration needs an initial access token (`create-registration-token`); under `open`,
none. Each address may register CLIENT_REGISTRATIONS_PER_ADDRESS times per
CLIENT_REGISTRATION_WINDOW_SECONDS, as users register (routes/register.py). A registered client manages
itself with the registration access token it was given, and nothing else: a client an operator made is
never manageable here. Nothing is stored for a registration refused.
"""

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from ..audit import trail as audit
from ..bearer_challenges import bearer_challenge
from ..config import Settings
from ..deps import ClockDep, IssuerDep, SessionDep, SettingsDep, TokenStoreDep, bearer_token, client_address
from ..errors import NO_STORE, InvalidClientMetadata
from ..oauth.client_metadata import ClientMetadata, new_client, registered_metadata
from ..oauth.clients import (
    CLIENT_ID_LENGTH,
    ClientChangedError,
    NewClient,
    create_self_registered_client,
    delete_unused_clients,
    get_client,
    registration_token_matches,
    replace_metadata,
    secret_matches,
    unused_cutoff,
)
from ..oauth.connected_apps import delete_client_and_tokens
from ..oauth.initial_access_tokens import has_uses_left, use_initial_access_token
from ..oauth.resources import declared_scopes
from ..observability.metrics import RATE_LIMITED
from ..storage.models import Client
from ..storage.record_keys import store_key
from ..storage.token_store import TokenStore
from ..web.json_bodies import BadBody, json_object

router = APIRouter(tags=["clients"])
# Ten redirect URIs of 2,000 characters each, and the rest, fit well within this.
MAX_BODY_BYTES = 32 * 1024
# Unused self-registered clients deleted by each registration, at most: a registration never waits
# on a large deletion, and registrations outpace expiries only while clients are in use.
UNUSED_CLIENTS_PER_REGISTRATION = 100
UNAUTHORIZED: dict[int | str, dict[str, Any]] = {401: {"description": "No valid registration access token"}}
# The body is read as it came, to answer RFC 7591's errors; the API description still shows it.
METADATA_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": ClientMetadata.model_json_schema()}},
    }
}
ClientId = Annotated[str, Path(max_length=CLIENT_ID_LENGTH)]


@router.post(
    "/clients",
    name="register_client",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=METADATA_BODY,
    responses={
        400: {"description": "invalid_redirect_uri or invalid_client_metadata (RFC 7591 §3.2.2)"},
        401: {"description": "No valid initial access token (CLIENT_REGISTRATION=token)"},
        413: {"description": "The body is too large"},
        429: {"description": "Too many registrations from this address"},
    },
)
async def register_client(
    request: Request,
    session: SessionDep,
    store: TokenStoreDep,
    settings: SettingsDep,
    clock: ClockDep,
    issuer: IssuerDep,
) -> JSONResponse:
    """Register a client (RFC 7591): its credentials, shown once, and its metadata as stored."""
    await _throttle(request, store, settings)
    initial_token = bearer_token(request) if settings.client_registration_policy == "token" else None
    # Checked before the body is read, and counted only once the body is good: a refused
    # registration does not use up the token.
    if initial_token is not None and not await has_uses_left(store, initial_token, clock()):
        raise _invalid_token(settings, "The initial access token is invalid, used up or expired")
    wanted = await _asked_client(request, session)
    if initial_token is not None and not await use_initial_access_token(store, initial_token, clock()):
        raise _invalid_token(settings, "The initial access token is invalid, used up or expired")
    now = int(clock())
    await delete_unused_clients(session, unused_cutoff(settings, now), UNUSED_CLIENTS_PER_REGISTRATION)
    registered = await create_self_registered_client(session, wanted, now)
    body = _information(request, issuer, registered.client, registered.registration_token)
    if registered.secret is not None:
        body["client_secret"] = registered.secret
    return JSONResponse(body, status.HTTP_201_CREATED, headers=NO_STORE)


@router.get("/clients/{client_id}", name="read_client", responses=UNAUTHORIZED)
async def read_client(
    client_id: ClientId,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    issuer: IssuerDep,
) -> JSONResponse:
    """A self-registered client's metadata (RFC 7592 §2.1); its secret is never shown again."""
    client, token = await _managed_client(request, session, settings, clock(), client_id)
    return JSONResponse(_information(request, issuer, client, token), headers=NO_STORE)


@router.put(
    "/clients/{client_id}",
    name="update_client",
    responses={**UNAUTHORIZED, 409: {"description": "Deleted or given a secret meanwhile"}},
    openapi_extra=METADATA_BODY,
)
async def update_client(
    client_id: ClientId,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    issuer: IssuerDep,
) -> JSONResponse:
    """Replace a self-registered client's metadata (RFC 7592 §2.2), checked as a registration is. A
    confidential client keeps its secret; a public one that becomes confidential gets one, shown once."""
    client, token = await _managed_client(request, session, settings, clock(), client_id)
    body = await _body(request)
    if body.get("client_id") != client.client_id:
        raise InvalidClientMetadata("client_id must be given, and be this client's")
    sent_secret = body.get("client_secret")
    if sent_secret is not None and not (isinstance(sent_secret, str) and secret_matches(client, sent_secret)):
        raise InvalidClientMetadata("client_secret is not this client's secret")
    replacement = new_client(body, await declared_scopes(session))
    try:
        secret = await replace_metadata(session, client, replacement)
    except ClientChangedError:
        # Deleted meanwhile (a retry gets 401), or given a secret by a concurrent replacement.
        raise HTTPException(status.HTTP_409_CONFLICT, "The registration changed meanwhile; read it again") from None
    answer = _information(request, issuer, client, token)
    if secret is not None:
        answer["client_secret"] = secret
    return JSONResponse(answer, headers=NO_STORE)


@router.delete(
    "/clients/{client_id}", name="delete_client", status_code=status.HTTP_204_NO_CONTENT, responses=UNAUTHORIZED
)
async def delete_client(
    client_id: ClientId,
    request: Request,
    session: SessionDep,
    store: TokenStoreDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> Response:
    """Delete a self-registered client (RFC 7592 §2.3): its consents go, and every token it holds ends."""
    client, _token = await _managed_client(request, session, settings, clock(), client_id)
    # Its registration access token proves the client itself asks.
    await delete_client_and_tokens(session, store, settings, client.client_id, actor=audit.client(client.client_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers=NO_STORE)


async def _throttle(request: Request, store: TokenStore, settings: Settings) -> None:
    key = store_key("client-registrations", client_address(request))
    counts = await store.increment({key: settings.client_registration_window_seconds})
    if counts[key] > settings.client_registrations_per_address:
        RATE_LIMITED.labels("client_registrations").inc()
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "Too many client registrations from this address; try again later",
            # The window began at this address's first registration: only its rest is left.
            headers={"Retry-After": str(max(await store.ttl(key), 1))},
        )


async def _body(request: Request) -> dict[str, Any]:
    try:
        return await json_object(request, MAX_BODY_BYTES, status.HTTP_413_CONTENT_TOO_LARGE)
    except BadBody as exc:
        if exc.status_code == status.HTTP_413_CONTENT_TOO_LARGE:
            raise HTTPException(exc.status_code, exc.message) from None
        raise InvalidClientMetadata(exc.message) from None


async def _asked_client(request: Request, session: AsyncSession) -> NewClient:
    return new_client(await _body(request), await declared_scopes(session))


async def _managed_client(
    request: Request, session: AsyncSession, settings: Settings, now: float, client_id: str
) -> tuple[Client, str]:
    """The self-registered client the path names, with the registration access token that proves the
    caller is it; 401 for anything else (RFC 7592 §2: an unknown client as a wrong token)."""
    token = bearer_token(request)
    client = await get_client(session, client_id, unused_before=unused_cutoff(settings, now))
    if client is None or not token or not registration_token_matches(client, token):
        raise _invalid_token(settings, "The registration access token is invalid")
    return client, token


def _information(request: Request, issuer: str, client: Client, token: str) -> dict[str, Any]:
    """The client information response (RFC 7591 §3.2.1, RFC 7592 §3)."""
    uri = issuer + str(request.app.url_path_for("read_client", client_id=client.client_id))
    return {**registered_metadata(client), "registration_access_token": token, "registration_client_uri": uri}


def _invalid_token(settings: Settings, description: str) -> HTTPException:
    return bearer_challenge(settings.realm, "invalid_token", description)
