"""The admin API's clients: list them, show one, register one (its secret shown once), change what an
operator's client may do, replace its secret, and delete one with every token it holds."""

from datetime import datetime

from fastapi import HTTPException, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ...deps import SessionDep, SettingsDep, TokenStoreDep
from ...errors import NO_STORE
from ...oauth.clients import (
    BY_OPERATOR,
    OPERATOR,
    RESOURCE_SCOPES,
    NewClient,
    change_client_as_read,
    create_client,
    find_clients,
    get_client,
    metadata_columns,
    new_secret,
)
from ...oauth.connected_apps import delete_client_and_tokens, end_own_tokens
from ...oauth.resources import declared_scopes
from ...storage.models import Client
from .bodies import described, read_body
from .etags import etag_of, require_match
from .guard import admin_router
from .paging import DEFAULT_LIMIT, Cursor, Limit, Page, page_of, position_of
from .parameters import ClientId, IfMatch

router = admin_router()

CHANGED = "It changed since you read it: read it again"
# A list of URIs or names in a request: far more than any client needs, far less than a flood.
MAX_ITEMS = 50


class ClientView(BaseModel):
    client_id: str
    name: str
    # `operator` (create-client, this API), `self` (RFC 7591) or `metadata` (a Client ID Metadata Document).
    registered_by: str
    confidential: bool
    redirect_uris: list[str]
    grant_types: list[str]
    scopes: list[str]
    may_introspect: bool
    post_logout_redirect_uris: list[str]
    id_token_signed_response_alg: str
    created_at: datetime
    # Unix seconds; noted for self-registered clients only.
    last_used_at: int | None

    @classmethod
    def of(cls, client: Client) -> "ClientView":
        return cls(
            client_id=client.client_id,
            name=client.name,
            registered_by=client.registered_by,
            confidential=client.secret_hash is not None,
            redirect_uris=client.redirect_uris.split(),
            grant_types=client.grant_types.split(),
            scopes=client.scopes.split(),
            may_introspect=client.may_introspect,
            post_logout_redirect_uris=client.post_logout_redirect_uris.split(),
            id_token_signed_response_alg=client.id_token_signed_response_alg,
            created_at=client.created_at,
            last_used_at=client.last_used_at,
        )


class Credentials(ClientView):
    # Shown only in the answer that makes it: only its hash is stored.
    client_secret: str | None


class ClientChange(BaseModel):
    """What to change; what is left out keeps its value."""

    # A misspelt field is an error, not a change silently left out.
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=150)
    redirect_uris: list[str] | None = Field(default=None, max_length=MAX_ITEMS)
    grant_types: list[str] | None = Field(default=None, max_length=MAX_ITEMS)
    scopes: list[str] | None = Field(default=None, max_length=MAX_ITEMS)
    may_introspect: bool | None = None
    post_logout_redirect_uris: list[str] | None = Field(default=None, max_length=MAX_ITEMS)
    id_token_signed_response_alg: str | None = Field(default=None, max_length=16)


class ClientCreation(ClientChange):
    name: str = Field(max_length=150)
    # A public client (a browser or native app) has no secret, and uses PKCE.
    public: bool = False


def _answer(response: Response, client: Client) -> ClientView:
    view = ClientView.of(client)
    response.headers["ETag"] = _etag(client)
    return view


def _etag(client: Client) -> str:
    return etag_of(ClientView.of(client), client.secret_hash)


async def _client(session: SessionDep, client_id: str) -> Client:
    # Every client, an unused self-registered one too: it may be what the operator came to delete.
    client = await get_client(session, client_id, unused_before=0)
    if client is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No client has this id")
    return client


async def _checked(session: SessionDep, fields: dict[str, object]) -> NewClient:
    """FIELDS as the same rules as `create-client`'s take them; a 422 saying why not."""
    try:
        context = {RESOURCE_SCOPES: await declared_scopes(session), BY_OPERATOR: True}
        return NewClient.model_validate(fields, context=context)
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, reason) from None


@router.get("/admin/clients", response_model=Page[ClientView])
async def list_clients(session: SessionDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Page[ClientView]:
    clients = await find_clients(session, after=position_of(cursor, str) or "", limit=limit + 1)
    last = clients[min(limit, len(clients)) - 1].client_id if clients else ""
    return page_of([ClientView.of(client) for client in clients], limit, last)


@router.post("/admin/clients", status_code=status.HTTP_201_CREATED, openapi_extra=described(ClientCreation))
async def create(request: Request, response: Response, session: SessionDep) -> Credentials:
    creation = await read_body(request, ClientCreation)
    new_client = await _checked(session, creation.model_dump(exclude_none=True))
    client, secret = await create_client(session, new_client)
    view = _answer(response, client)
    response.headers.update({**NO_STORE, "Location": f"/admin/clients/{client.client_id}"})
    return Credentials(**view.model_dump(), client_secret=secret)


@router.get("/admin/clients/{client_id:path}")
async def show(client_id: ClientId, response: Response, session: SessionDep) -> ClientView:
    return _answer(response, await _client(session, client_id))


@router.patch("/admin/clients/{client_id:path}", openapi_extra=described(ClientChange))
async def change(
    request: Request,
    client_id: ClientId,
    response: Response,
    session: SessionDep,
    store: TokenStoreDep,
    if_match: IfMatch = None,
) -> ClientView:
    """Change what an operator's client is and may do. Taking a scope or a grant type away ends the
    tokens it got for itself; its users' refresh tokens lose the scope at their next use."""
    changes = await read_body(request, ClientChange)
    client = await _operators_client(session, client_id, if_match)
    current = ClientView.of(client)
    fields = {**current.model_dump(), "public": not current.confidential, **changes.model_dump(exclude_none=True)}
    values = metadata_columns(await _checked(session, fields))
    if not await change_client_as_read(session, client, values):
        raise HTTPException(status.HTTP_412_PRECONDITION_FAILED, CHANGED)
    changed = ClientView.of(client)
    if set(current.scopes) - set(changed.scopes) or set(current.grant_types) - set(changed.grant_types):
        await end_own_tokens(store, client.client_id)
    return _answer(response, client)


@router.post("/admin/clients/{client_id:path}/secret")
async def replace_secret(
    client_id: ClientId, response: Response, session: SessionDep, store: TokenStoreDep, if_match: IfMatch = None
) -> Credentials:
    """A new secret for an operator's client, shown this once; the old one stops working at once, and so
    do the access tokens the client got for itself (client credentials), those of this very second too.
    What users granted it stays: withdraw it, or delete the client, to end that too."""
    client = await _operators_client(session, client_id, if_match)
    if client.secret_hash is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "A public client has no secret")
    secret, secret_hash = new_secret()
    if not await change_client_as_read(session, client, {"secret_hash": secret_hash}):
        raise HTTPException(status.HTTP_412_PRECONDITION_FAILED, CHANGED)
    await end_own_tokens(store, client.client_id)
    view = _answer(response, client)
    response.headers.update(NO_STORE)
    return Credentials(**view.model_dump(), client_secret=secret)


@router.delete("/admin/clients/{client_id:path}", status_code=status.HTTP_204_NO_CONTENT)
async def delete(client_id: ClientId, session: SessionDep, store: TokenStoreDep, settings: SettingsDep) -> None:
    """Delete the client with its users' approvals; every token it holds stops working, everywhere."""
    client = await _client(session, client_id)
    await delete_client_and_tokens(session, store, settings, client.client_id)


async def _operators_client(session: SessionDep, client_id: str, if_match: str | None) -> Client:
    """The client, when its ETag is IF_MATCH and an operator registered it: a self-registered client's
    metadata is its own (RFC 7592), a metadata document's the document's, and a change here would be undone."""
    client = await _client(session, client_id)
    require_match(if_match, _etag(client))
    if client.registered_by != OPERATOR:
        raise HTTPException(status.HTTP_409_CONFLICT, "Only a client an operator registered is changed here")
    return client
