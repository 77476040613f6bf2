"""Authorization requests (RFC 6749 §4.1.1, RFC 7636 §4.3, OpenID Connect Core §3.1.2.1): their
parameters, and the checks that also decide where an error may be told (RFC 6749 §4.1.2.1).

Until the client and its redirect URI are known, an error is an `ErrorPage`: the user is told, and
nothing is sent anywhere. Once they are, every error is an `ErrorRedirect` to that redirect URI.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import ImmutableMultiDict

from ..errors import InvalidScope, InvalidTarget, error_description
from ..storage.models import Client
from . import pkce, redirect_uris
from .client_documents import ClientDocumentRefused, ClientDocuments
from .resource_indicators import MAX_RESOURCES, Target, settle_scopes, targets_of

# Core §3.1.2.1. `select_account` is read as `login`: the login page is where another account is chosen.
PROMPTS = frozenset({"none", "login", "consent", "select_account"})
REAUTHENTICATE = frozenset({"login", "select_account"})
# A nonce is echoed in the ID token; one longer than this is no random value but an attempt to bloat it.
MAX_NONCE_LENGTH = 512


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """The parameters of RFC 6749 §4.1.1 and RFC 7636 §4.3, carried through the pages' forms."""

    response_type: str | None = None
    client_id: str | None = None
    redirect_uri: str | None = None
    scope: str | None = None
    state: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    # OpenID Connect Core §3.1.2.1.
    nonce: str | None = None
    prompt: str | None = None
    max_age: str | None = None
    login_hint: str | None = None
    id_token_hint: str | None = None
    # The authentication levels the client asks for, most wanted first (accounts/authentication_methods.py).
    acr_values: str | None = None
    # Request objects (Core §6), which this service does not support: named only to refuse them.
    request: str | None = None
    request_uri: str | None = None
    # RFC 8707 §2: the resources the token is for, which the request may name several times. Kept
    # space-separated, as one value, so that the pages' forms carry them like every other
    # parameter; no resource URI holds a space, so none is split in two.
    resource: str | None = None
    # Parameters sent more than once, which RFC 6749 §3.1 forbids: the request fails.
    repeated: frozenset[str] = field(default=frozenset(), repr=False)

    @classmethod
    def from_mapping(cls, values: ImmutableMultiDict[str, Any], *, from_client: bool = False) -> "AuthorizationRequest":
        """The request in VALUES: the client's own (FROM_CLIENT), or one a page's form carried on."""
        names = [field.name for field in fields(cls) if field.name not in {"repeated", "resource"}]
        repeated = frozenset(name for name in names if len(values.getlist(name)) > 1)
        resources = [text for value in values.getlist("resource") if (text := _text(value)) is not None]
        if from_client:
            # Each of the client's values is one URI, which holds no space (RFC 3986): one that does is
            # one unknown resource, never two.
            resources = ["" if " " in uri else uri for uri in resources]
        resource = " ".join(resources[: MAX_RESOURCES + 1]) if resources else None
        return cls(**{name: _text(values.get(name)) for name in names}, resource=resource, repeated=repeated)

    @property
    def resources(self) -> list[str]:
        """The resources named; an empty value names an empty (so unknown) resource."""
        return [] if self.resource is None else self.resource.split(" ")

    def params(self) -> dict[str, str]:
        return {
            field.name: value
            for field in fields(self)
            if field.name != "repeated" and (value := getattr(self, field.name)) is not None
        }

    def after_login(self) -> "AuthorizationRequest":
        """The request once the user has just signed in: `prompt=login` and `max_age` are satisfied,
        and so is `id_token_hint`, checked against the user at the login itself."""
        prompts = [prompt for prompt in (self.prompt or "").split() if prompt not in REAUTHENTICATE]
        return replace(self, prompt=" ".join(prompts) or None, max_age=None, id_token_hint=None)


@dataclass(frozen=True, slots=True)
class ValidRequest:
    """An authorization request once checked: its client, where to send the answer, what it asks for."""

    client: Client
    redirect_uri: str
    scopes: frozenset[str]
    # What the tokens are for (RFC 8707): the resources named, or the own API.
    targets: tuple[Target, ...]
    prompts: frozenset[str] = frozenset()
    max_age: int | None = None


class ErrorPage(Exception):
    """The client or its redirect URI cannot be trusted: say so to the user, redirect nowhere."""


class ErrorRedirect(Exception):
    """An error the client hears of at its redirect URI, with a description when there is more to say."""

    def __init__(self, redirect_uri: str, error: str, description: str | None = None) -> None:
        super().__init__(error)
        self.redirect_uri = redirect_uri
        self.params: dict[str, str] = {"error": error}
        if description is not None:
            # As at the token endpoint: a description may quote the client's scope, which may be any text.
            self.params["error_description"] = error_description(description)


async def validate(
    auth: AuthorizationRequest,
    session: AsyncSession,
    clients: ClientDocuments,
    own_api: Target,
    served: Sequence[Target] = (),
) -> ValidRequest:
    """AUTH checked: its client and redirect URI first (`ErrorPage`), then the rest (`ErrorRedirect`).
    CLIENTS finds the client, registered or described by a metadata document; OWN_API is the
    service's own API, what a request that names no resource is for; SERVED the other resources the
    service serves itself."""
    if {"client_id", "redirect_uri"} & auth.repeated:
        raise ErrorPage("This request names its application or its return address more than once.")
    try:
        client = None if not auth.client_id else await clients.client(session, auth.client_id)
    except ClientDocumentRefused as refused:
        # The document is unverified: nothing it says, its redirect URIs least of all, is used.
        raise ErrorPage(f"This application's description cannot be used: {refused}.") from None
    if client is None:
        raise ErrorPage("This application is not registered here.")
    registered = redirect_uris.usable(client.allowed_redirect_uris)
    if auth.redirect_uri is None and len(registered) == 1:
        redirect_uri = registered[0]
    elif auth.redirect_uri is not None and redirect_uris.is_registered(auth.redirect_uri, registered):
        redirect_uri = auth.redirect_uri
    else:
        raise ErrorPage("This application asked to send you to an address it has not registered.")

    def fail(error: str, description: str) -> ErrorRedirect:
        return ErrorRedirect(redirect_uri, error, description)

    if auth.repeated:
        raise fail("invalid_request", f"Repeated parameter: {', '.join(sorted(auth.repeated))}")
    if "authorization_code" not in client.allowed_grant_types:
        raise fail("unauthorized_client", "This client may not use the authorization code grant")
    if auth.response_type != "code":
        raise fail("unsupported_response_type", "Only response_type=code is supported")
    if auth.code_challenge is None:
        if client.is_public:
            raise fail("invalid_request", "Public clients must use PKCE (code_challenge with S256)")
        if auth.code_challenge_method is not None:
            raise fail("invalid_request", "code_challenge_method without code_challenge")
    elif auth.code_challenge_method != pkce.METHOD or not pkce.CHALLENGE.fullmatch(auth.code_challenge):
        raise fail("invalid_request", "PKCE needs code_challenge_method=S256 and a 43-character code_challenge")
    try:
        targets = await targets_of(session, auth.resources, own_api, served)
        requested = settle_scopes(auth.scope, client.allowed_scopes, targets)
    except (InvalidTarget, InvalidScope) as exc:
        raise fail(exc.error, exc.description) from None
    if auth.request is not None:
        raise fail("request_not_supported", "Request objects are not supported")
    if auth.request_uri is not None:
        raise fail("request_uri_not_supported", "request_uri is not supported")
    prompts = frozenset((auth.prompt or "").split())
    if not prompts <= PROMPTS or ("none" in prompts and len(prompts) > 1):
        raise fail("invalid_request", "prompt is none alone, or any of login, consent and select_account")
    if auth.max_age is not None and not (auth.max_age.isdigit() and auth.max_age.isascii() and len(auth.max_age) < 10):
        raise fail("invalid_request", "max_age is a number of seconds")
    if auth.nonce is not None and len(auth.nonce) > MAX_NONCE_LENGTH:
        raise fail("invalid_request", f"nonce is longer than {MAX_NONCE_LENGTH} characters")
    max_age = None if auth.max_age is None else int(auth.max_age)
    return ValidRequest(client, redirect_uri, requested, targets, prompts, max_age)


def authorization_query(params: Mapping[str, str]) -> str:
    """PARAMS, a request's `params()`, as the query of a request to /authorize again: each resource a
    value of its own, as a client sends them."""
    pairs = [(name, value) for name, value in params.items() if name != "resource"]
    if "resource" in params:
        pairs += [("resource", uri) for uri in params["resource"].split(" ")]
    return urlencode(pairs)


def _text(value: object) -> str | None:
    # A form's value may be an uploaded file: no parameter.
    return value if isinstance(value, str) else None
