"""How each kind of issuer shapes its access tokens: where scopes and roles live, how the audience is
named, and what tells an access token from an ID token. ISSUER_PRESET picks one at run time."""

from dataclasses import dataclass, field

OPENID_CONFIGURATION = "/.well-known/openid-configuration"
OAUTH_AUTHORIZATION_SERVER = "/.well-known/oauth-authorization-server"


@dataclass(frozen=True)
class Preset:
    name: str
    # Claims whose values are scopes: a space-separated string or an array of strings.
    scope_claims: tuple[str, ...] = ("scope",)
    # Claims (dotted paths into nested objects) whose arrays are the subject's roles.
    role_claims: tuple[str, ...] = ()
    # The claim that must name the API: `aud` (RFC 7519), or Cognito's `client_id` in access tokens.
    audience_claim: str = "aud"
    # Claims that must hold exactly this value: what tells an issuer's access tokens from its ID tokens.
    required_values: dict[str, str] = field(default_factory=dict)
    # At least one of these claims must be present (Entra: an ID token has neither `scp` nor `roles`).
    required_any: tuple[str, ...] = ()
    # The header's `typ` must be `at+jwt` (RFC 9068 §2.1).
    require_at_jwt: bool = False
    # With no OAUTH_AUDIENCE, tokens are for the issuer itself (an oauthgen authorization server's default).
    audience_is_issuer: bool = False
    # Claims naming the client a token was issued to, the first one present wins.
    client_claims: tuple[str, ...] = ("client_id", "azp")
    # Where the issuer's metadata is, tried in this order below the issuer's URL.
    discovery: tuple[str, ...] = (OPENID_CONFIGURATION, OAUTH_AUTHORIZATION_SERVER)


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        # A service `oauthgen new` generated: RFC 9068 tokens, scopes in `scope`.
        Preset(
            "oauthgen",
            require_at_jwt=True,
            audience_is_issuer=True,
            discovery=(OAUTH_AUTHORIZATION_SERVER, OPENID_CONFIGURATION),
        ),
        # Auth0: scopes in `scope`, and RBAC permissions in `permissions`; the API identifier in `aud`.
        Preset("auth0", scope_claims=("scope", "permissions")),
        # Keycloak: `typ` "Bearer" in access tokens ("ID" in ID tokens); realm roles in `realm_access`.
        Preset("keycloak", role_claims=("realm_access.roles",), required_values={"typ": "Bearer"}),
        # Entra ID (v2 tokens): delegated scopes in `scp`, application permissions in `roles`.
        Preset(
            "entra",
            scope_claims=("scp", "roles"),
            role_claims=("roles",),
            required_any=("scp", "roles"),
            client_claims=("azp", "appid"),
        ),
        # Cognito: access tokens carry no `aud` but the app client's `client_id`, and `token_use`.
        Preset("cognito", audience_claim="client_id", required_values={"token_use": "access"}),
        # Okta (custom authorization servers): scopes in `scp` as an array, the client in `cid`.
        Preset("okta", scope_claims=("scp",), role_claims=("groups",), client_claims=("cid",)),
        # Any RFC 9068 issuer.
        Preset("generic", scope_claims=("scope", "scp"), require_at_jwt=True),
    )
}
