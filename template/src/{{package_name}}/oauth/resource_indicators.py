"""Resource indicators (RFC 8707) in a request: which resources a token is for, and what its
`aud` and `scope` then hold.

A request that names no `resource` is for the service's own API, exactly as before resources
existed: `aud` is AUDIENCE (or the issuer), and the scopes are those of `oauth/scopes.py`. One that
names some gets a token whose `aud` is exactly them. Every scope requested must be declared by one
of them, except the OpenID Connect scopes, which concern the ID token and UserInfo; the access
token's `scope` claim holds only the scopes its audiences declare, so a token for another API never
carries `openid` or the own API's scopes unless the own API is among its audiences.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from ..accounts.profiles import IDENTITY_SCOPES
from ..errors import InvalidScope, InvalidTarget
from ..storage.models import Resource
from .resources import get_resource
from .scopes import ADMIN_SCOPES, MCP_SCOPES, SCOPES

# Per request: a token for more APIs than this is a token too easily misused, and each costs a lookup.
MAX_RESOURCES = 10
OWN_SCOPES = frozenset(SCOPES) | frozenset(ADMIN_SCOPES)
# Granted only to a request that names them: a client or user allowed `admin` still gets a token
# without it unless asking for it.
BY_NAME_ONLY = frozenset(ADMIN_SCOPES)
# Where the MCP endpoint is, under the issuer; its resource URI is the issuer with this path.
MCP_PATH = "/mcp"


@dataclass(frozen=True, slots=True)
class Target:
    """A resource a token may be for: its URI (the `aud` value), its name, and the scopes it declares."""

    uri: str
    name: str
    scopes: frozenset[str]

    @classmethod
    def registered(cls, resource: Resource) -> "Target":
        return cls(resource.uri, resource.name, resource.declared_scopes)


def own_api(audience: str, name: str) -> Target:
    """The service's own API: its audience, with the scopes of `oauth/scopes.py`."""
    return Target(audience, name, OWN_SCOPES)


def mcp_endpoint(issuer: str, realm: str) -> Target:
    """The service's MCP endpoint, a resource apart from its API: tokens for one are not for the other."""
    return Target(issuer + MCP_PATH, f"{realm} MCP server", frozenset(MCP_SCOPES))


def served_here(issuer: str, realm: str, mcp: bool) -> tuple[Target, ...]:
    """The resources besides its own API that the service serves itself: the MCP endpoint when on."""
    return (mcp_endpoint(issuer, realm),) if mcp else ()


async def targets_of(
    session: AsyncSession, requested: Sequence[str], own: Target, served: Sequence[Target] = ()
) -> tuple[Target, ...]:
    """The resources REQUESTED names, in order and once each: the own API, one SERVED here too, or
    registered ones. The own API alone when none is named. `InvalidTarget` for a malformed or unknown one."""
    if not requested:
        return (own,)
    if len(requested) > MAX_RESOURCES:
        raise InvalidTarget(f"At most {MAX_RESOURCES} resources per request")
    found: dict[str, Target] = {}
    here = {target.uri: target for target in (own, *served)}
    for uri in requested:
        if uri in found:
            continue
        if uri in here:
            found[uri] = here[uri]
            continue
        # Only registered URIs are accepted, and every one was checked when it was registered: a
        # relative URI or one with a fragment (RFC 8707 §2) is simply never found.
        resource = await get_resource(session, uri)
        if resource is None:
            raise InvalidTarget(f"Not a resource of this server: {uri}")
        found[uri] = Target.registered(resource)
    return tuple(found.values())


def within(requested: Sequence[str], granted: Iterable[str]) -> list[str]:
    """The resources a token request may name from a grant: REQUESTED, all among GRANTED (a grant may
    be narrowed, never widened); all of GRANTED when it names none."""
    granted = list(granted)
    beyond = [uri for uri in requested if uri not in granted]
    if beyond:
        raise InvalidTarget(f"Not granted: {beyond[0]}")
    return list(requested) or granted


def declared(targets: Iterable[Target]) -> frozenset[str]:
    """What a request for TARGETS may ask for: the scopes they declare, and the OpenID Connect ones."""
    return IDENTITY_SCOPES.union(*(target.scopes for target in targets))


def settle_scopes(
    requested: str | None, allowed: frozenset[str], targets: Sequence[Target], *, renewing: bool = False
) -> frozenset[str]:
    """The requested scopes when the client may have them and TARGETS declare them; when none are
    requested, every allowed scope they declare but those granted by name only, unless RENEWING a
    grant (a refresh), whose scopes were named when it was made."""
    if requested is None:
        return (allowed if renewing else allowed - BY_NAME_ONLY) & declared(targets)
    wanted = frozenset(requested.split())
    if not wanted <= allowed:
        raise InvalidScope(f"Scope not allowed: {' '.join(sorted(wanted - allowed))}")
    if wanted & BY_NAME_ONLY and len(targets) > 1:
        # Every audience of a token can replay it: the operator's scope goes only to this service's API alone.
        raise InvalidScope(f"{' '.join(sorted(wanted & BY_NAME_ONLY))} is granted only for this service's API alone")
    undeclared = wanted - declared(targets)
    if undeclared:
        raise InvalidScope(f"Scope not declared by the requested resources: {' '.join(sorted(undeclared))}")
    return wanted


def token_scopes(scopes: frozenset[str], targets: Iterable[Target]) -> frozenset[str]:
    """The scopes an access token for TARGETS carries: those of SCOPES that one of them declares."""
    return scopes & frozenset().union(*(target.scopes for target in targets))


def audience_claim(targets: Sequence[Target]) -> str | list[str]:
    """`aud`: a string for one resource, an array for several (RFC 7519 §4.1.3)."""
    uris = [target.uri for target in targets]
    return uris[0] if len(uris) == 1 else uris


def grantable_by_user(scopes: frozenset[str], user_scopes: frozenset[str]) -> frozenset[str]:
    """What a user may grant of SCOPES: the own API's scopes the account holds (`create-user --scope`),
    and every scope of another API, which is that API's to enforce and the user's to grant."""
    return scopes & (user_scopes | (scopes - OWN_SCOPES))
