"""OAuth2 grants: one module per grant type, each turning a token request into a `Grant`."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from ...accounts.authentication_methods import PASSWORD
from ...accounts.passwords import PasswordHasher
from ...config import Settings
from ...errors import UnauthorizedClient
from ...storage.models import Client
from ...storage.token_store import TokenStore
from ..resource_indicators import Target, targets_of, within

# The client_id claim of tokens issued to the service's own front end, which has no registration.
FIRST_PARTY_CLIENT_ID = "first-party"


class TokenForm(BaseModel):
    """The token request's parameters (RFC 6749 §4.1.3, §4.3.2, §4.4.2, §6): each grant reads those it
    needs. Client authentication reads `client_id` and `client_secret` from the same form (§2.3.1)."""

    model_config = ConfigDict(frozen=True)

    grant_type: str | None = None
    username: str | None = None
    password: str | None = None
    scope: str | None = None
    code: str | None = None
    redirect_uri: str | None = None
    code_verifier: str | None = None
    refresh_token: str | None = None
    # RFC 8707 §2: the resources the token is for, each named once; repeatable, unlike the others.
    resource: list[str] = []


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """A token request: its form, and the client that authenticated, if any."""

    form: TokenForm
    client: Client | None
    # The caller's address: the peer's, or the one a trusted proxy forwarded (FORWARDED_ALLOW_IPS).
    client_address: str


@dataclass(frozen=True, slots=True)
class Grant:
    """What a grant settles: whom the tokens are for, which client holds them, and their scopes."""

    subject: str
    client_id: str
    scopes: frozenset[str]
    # The login or authorization code the tokens descend from; None for client credentials.
    grant_id: str | None = None
    auth_time: int = 0
    # How the user signed in (RFC 8176 `amr`), for the ID tokens of the grant.
    methods: tuple[str, ...] = (PASSWORD,)
    # When the grant began, in Unix seconds: the user's approval, or the password login. A withdrawal
    # of the client's access ends the grants begun until then.
    granted_at: float = 0.0
    refreshable: bool = False
    # What the user granted; a refresh may ask for less (`scopes`), and its new refresh token
    # keeps the whole grant (RFC 6749 §6).
    granted_scopes: frozenset[str] | None = None
    # OpenID Connect: the authorization request's nonce, for the ID token issued with the code.
    nonce: str | None = None
    # The refresh token this refresh spent (its `token_id`): the new one records it.
    refreshed_from: str | None = None
    # RFC 8707: what the access token is for, its `aud`; the own API when empty.
    targets: tuple[Target, ...] = ()
    # The resources the whole grant covers, which its refresh tokens keep: a refresh may ask for fewer.
    granted_resources: tuple[str, ...] = ()

    @property
    def refresh_scopes(self) -> frozenset[str]:
        return self.scopes if self.granted_scopes is None else self.granted_scopes


@dataclass(frozen=True, slots=True)
class Context:
    session: AsyncSession
    store: TokenStore
    settings: Settings
    passwords: PasswordHasher
    # The service's own API, what a request that names no resource is for.
    own_api: Target
    # The other resources the service serves itself (`resource_indicators.served_here`).
    served: tuple[Target, ...] = ()


async def requested_targets(request: TokenRequest, context: Context) -> tuple[Target, ...]:
    """The resources a grant of its own (password, client credentials) is for."""
    return await targets_of(context.session, request.form.resource, context.own_api, context.served)


async def granted_targets(request: TokenRequest, context: Context, record: Mapping[str, Any]) -> tuple[Target, ...]:
    """The resources a code's or refresh token's request is for: those it names, all among the ones
    granted; all of them when it names none. Records made before resources were kept granted the own API."""
    granted = record.get("resources") or [context.own_api.uri]
    requested = within(request.form.resource, granted)
    return await targets_of(context.session, requested, context.own_api, context.served)


def granted_resources(record: Mapping[str, Any], own_api: Target) -> tuple[str, ...]:
    return tuple(record.get("resources") or [own_api.uri])


def require_grant_type(client: Client, grant_type: str) -> None:
    if grant_type not in client.allowed_grant_types:
        raise UnauthorizedClient(f"This client may not use the {grant_type} grant")


def recorded_methods(record: Mapping[str, Any]) -> tuple[str, ...]:
    """How the user of a code's or refresh token's grant signed in: with a password, for records
    made before the methods were kept."""
    return tuple(record.get("amr", [PASSWORD]))
