"""RFC 7591 §2 client metadata: what a client registering itself may ask for, checked by the rules of
`create-client` (clients.NewClient) and those of self-registration, and the metadata it is answered with.

Kept: redirect_uris, client_name, grant_types, response_types, token_endpoint_auth_method, scope,
post_logout_redirect_uris, id_token_signed_response_alg. Every other field is ignored, as RFC 7591 §2
lets a server do: client_uri, logo_uri, tos_uri and policy_uri would put a page or an image of the
client's choosing in front of users; contacts, software_id, software_version and software_statement
are unverified claims nothing here reads; jwks and jwks_uri serve authentication methods not offered.
"""

from collections.abc import Iterable
from datetime import UTC
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import InvalidClientMetadata, InvalidRedirectUri, OAuthError
from ..storage.models import Client
from ..tokens.id_tokens import DEFAULT_ALGORITHM
from .clients import RESOURCE_SCOPES, NewClient
from .scopes import SCOPES

# Bounds on what one registration may hold; the body as a whole is bounded where it is read.
MAX_URIS = 10
MAX_SCOPE_LENGTH = 1000
MAX_NAME_LENGTH = 150
MAX_SHORT_TEXT = 64
# Grants only an operator may allow: a client's own secret, or a user's password, hands out tokens
# with no user at the authorization server to consent (RFC 9700 §2.4).
OPERATOR_ONLY_GRANTS = frozenset({"client_credentials", "password"})
# RFC 7591 §2's defaults, for a field left out or null.
DEFAULT_GRANT_TYPES = ("authorization_code",)
DEFAULT_RESPONSE_TYPES = ("code",)
DEFAULT_AUTH_METHOD = "client_secret_basic"
AUTH_METHODS = frozenset({"none", "client_secret_basic", "client_secret_post"})
# A client registered without a name is shown to users as this, never as a name it did not give.
UNNAMED = "Unnamed client"
REDIRECT_FIELDS = frozenset({"redirect_uris", "post_logout_redirect_uris"})

ShortText = Annotated[str, Field(max_length=MAX_SHORT_TEXT)]


class ClientMetadata(BaseModel):
    """The metadata fields this service reads, as sent: JSON types exactly, null for left out."""

    model_config = ConfigDict(strict=True, extra="ignore")

    redirect_uris: list[str] | None = Field(default=None, max_length=MAX_URIS)
    client_name: str | None = Field(default=None, max_length=MAX_NAME_LENGTH)
    grant_types: list[ShortText] | None = Field(default=None, max_length=MAX_URIS)
    response_types: list[ShortText] | None = Field(default=None, max_length=MAX_URIS)
    token_endpoint_auth_method: ShortText | None = None
    scope: str | None = Field(default=None, max_length=MAX_SCOPE_LENGTH)
    post_logout_redirect_uris: list[str] | None = Field(default=None, max_length=MAX_URIS)
    id_token_signed_response_alg: ShortText | None = None


def new_client(body: dict[str, Any], declared_scopes: frozenset[str]) -> NewClient:
    """The client BODY asks to be, checked as `create-client` checks one, with the scopes registered
    resources declare; an RFC 7591 §3.2.2 error (InvalidRedirectUri, InvalidClientMetadata) otherwise."""
    try:
        metadata = ClientMetadata.model_validate(body)
    except ValidationError as exc:
        raise _metadata_error(exc) from None
    grant_types = list(DEFAULT_GRANT_TYPES if metadata.grant_types is None else metadata.grant_types)
    response_types = set(DEFAULT_RESPONSE_TYPES if metadata.response_types is None else metadata.response_types)
    method = metadata.token_endpoint_auth_method or DEFAULT_AUTH_METHOD
    redirect_uris = metadata.redirect_uris or []
    if refused := OPERATOR_ONLY_GRANTS & set(grant_types):
        raise InvalidClientMetadata(f"A client cannot register itself for the grants: {_listed(refused)}")
    if method not in AUTH_METHODS:
        raise InvalidClientMetadata(f"token_endpoint_auth_method must be one of: {_listed(AUTH_METHODS)}")
    if response_types - set(DEFAULT_RESPONSE_TYPES):
        raise InvalidClientMetadata("The only response type offered is code")
    # RFC 7591 §2.1: the code response type goes with the authorization_code grant, and only with it.
    if ("code" in response_types) != ("authorization_code" in grant_types):
        raise InvalidClientMetadata("The code response type and the authorization_code grant go together")
    if "authorization_code" in grant_types and not redirect_uris:
        raise InvalidRedirectUri("The authorization_code grant needs at least one redirect URI")
    fields = {
        "name": metadata.client_name or UNNAMED,
        "public": method == "none",
        "redirect_uris": redirect_uris,
        "grant_types": grant_types,
        # Left out, the own API's scopes (RFC 7591 §2 lets the server choose): each user consents to
        # those asked for, and grants only those the account has.
        "scopes": list(SCOPES) if metadata.scope is None else metadata.scope.split(),
        "may_introspect": False,
        "post_logout_redirect_uris": metadata.post_logout_redirect_uris or [],
        "id_token_signed_response_alg": metadata.id_token_signed_response_alg or DEFAULT_ALGORITHM,
    }
    try:
        return NewClient.model_validate(fields, context={RESOURCE_SCOPES: declared_scopes})
    except ValidationError as exc:
        raise _metadata_error(exc) from None


def registered_metadata(client: Client) -> dict[str, Any]:
    """CLIENT's metadata as stored (RFC 7591 §3.2.1): what the service replaced, it answers with. A
    confidential client may authenticate either way; it is told the first."""
    grant_types = sorted(client.allowed_grant_types)
    metadata: dict[str, Any] = {
        "client_id": client.client_id,
        "client_id_issued_at": int(client.created_at.replace(tzinfo=UTC).timestamp()),
        "client_name": client.name,
        "redirect_uris": client.allowed_redirect_uris,
        "grant_types": grant_types,
        "response_types": list(DEFAULT_RESPONSE_TYPES) if "authorization_code" in grant_types else [],
        "token_endpoint_auth_method": "none" if client.is_public else DEFAULT_AUTH_METHOD,
        "post_logout_redirect_uris": client.allowed_post_logout_redirect_uris,
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
    }
    if client.scopes:
        metadata["scope"] = client.scopes
    if not client.is_public:
        # The secret itself is stored only hashed: it is shown when issued, never again. It never expires.
        metadata["client_secret_expires_at"] = 0
    return metadata


def _metadata_error(exc: ValidationError) -> OAuthError:
    error = exc.errors()[0]
    location = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    # NewClient names its fields as create-client does; a client knows them by their RFC 7591 names.
    field, dot, rest = location.partition(".")
    location = {"name": "client_name", "scopes": "scope"}.get(field, field) + dot + rest
    text = f"{location}: {message}" if location else message
    if str(error["loc"][0] if error["loc"] else "") in REDIRECT_FIELDS:
        return InvalidRedirectUri(text)
    return InvalidClientMetadata(text)


def _listed(values: Iterable[str]) -> str:
    return " ".join(sorted(values))
