"""Each issuer's conventions (ISSUER_PRESET): where scopes and roles are read from, how the audience is
named, and what tells its access tokens from its ID tokens. Every preset is tested whatever the answer."""

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from .conftest import bearer
from .issuer import AUDIENCE, LocalIssuer


def _me(client: TestClient, token: str) -> dict[str, object]:
    response = client.get("/me", headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def _refused(client: TestClient, token: str) -> None:
    assert client.get("/me", headers=bearer(token)).status_code == 401


def test_auth0_permissions_are_scopes(make_client: Callable[..., TestClient], issuer: LocalIssuer) -> None:
    client = make_client(issuer_preset="auth0")
    token = issuer.token(header={"typ": "JWT"}, scope="openid profile", permissions=["reports:read"], azp="spa")

    me = _me(client, token)

    assert me["scopes"] == ["openid", "profile", "reports:read"]
    assert client.get("/reports", headers=bearer(token)).status_code == 200
    _refused(client, issuer.token(header={"typ": "JWT"}, aud="the-spa-client-id"))  # an ID token's audience


def test_keycloak_roles_and_token_type(make_client: Callable[..., TestClient], issuer: LocalIssuer) -> None:
    client = make_client(issuer_preset="keycloak")
    claims: dict[str, Any] = {"typ": "Bearer", "azp": "web", "realm_access": {"roles": ["admin", "user"]}}

    me = _me(client, issuer.token(header={"typ": "JWT"}, client_id=None, **claims))

    assert me["roles"] == ["admin", "user"]
    assert me["client_id"] == "web"
    _refused(client, issuer.token(header={"typ": "JWT"}, typ="ID"))  # Keycloak's ID tokens
    _refused(client, issuer.token(header={"typ": "JWT"}, typ="Bearer", realm_access={"roles": "admin"}))


def test_entra_scp_and_roles(make_client: Callable[..., TestClient], issuer: LocalIssuer) -> None:
    client = make_client(issuer_preset="entra")

    delegated = _me(client, issuer.token(header={"typ": "JWT"}, scope=None, scp="reports:read", azp="web"))
    application = _me(client, issuer.token(header={"typ": "JWT"}, scope=None, roles=["Reports.All"], azp="daemon"))

    assert delegated["scopes"] == ["reports:read"]
    assert application["scopes"] == ["Reports.All"]
    assert application["roles"] == ["Reports.All"]
    assert application["client_id"] == "daemon"
    _refused(client, issuer.token(header={"typ": "JWT"}, scope=None))  # an ID token has neither


def test_cognito_audience_is_the_client_id(make_client: Callable[..., TestClient], issuer: LocalIssuer) -> None:
    client = make_client(issuer_preset="cognito", oauth_audience="app-client-1 app-client-2")

    me = _me(client, issuer.token(header={"typ": None}, aud=None, client_id="app-client-2", token_use="access"))

    assert me["client_id"] == "app-client-2"
    _refused(client, issuer.token(header={"typ": None}, aud=None, client_id="another-client", token_use="access"))
    _refused(client, issuer.token(header={"typ": None}, aud="app-client-1", client_id=None, token_use="id"))
    _refused(client, issuer.token(header={"typ": None}, aud=None, client_id="app-client-1"))


def test_okta_scp_array_and_cid(make_client: Callable[..., TestClient], issuer: LocalIssuer) -> None:
    client = make_client(issuer_preset="okta")

    me = _me(client, issuer.token(header={"typ": None}, scope=None, scp=["reports:read", "openid"], cid="0oa1"))

    assert me["scopes"] == ["openid", "reports:read"]
    assert me["client_id"] == "0oa1"
    _refused(client, issuer.token(header={"typ": None}, scope=None, scp=[1, 2]))


def test_generic_needs_rfc_9068_tokens(make_client: Callable[..., TestClient], issuer: LocalIssuer) -> None:
    client = make_client(issuer_preset="generic")

    assert _me(client, issuer.token(scope=None, scp="a b"))["scopes"] == ["a", "b"]
    _refused(client, issuer.token(header={"typ": "JWT"}))
    assert _me(make_client(issuer_preset="generic", oauth_require_at_jwt=False), issuer.token(header={"typ": "JWT"}))


def test_oauthgen_tokens_are_for_the_issuer_unless_told(
    make_client: Callable[..., TestClient], issuer: LocalIssuer
) -> None:
    client = make_client(issuer_preset="oauthgen", oauth_audience=None)

    assert _me(client, issuer.token(aud=issuer.issuer))["subject"] == "alice"
    _refused(client, issuer.token(aud=AUDIENCE))
