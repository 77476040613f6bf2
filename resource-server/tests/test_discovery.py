"""The API's own metadata (RFC 9728), and how it reads the issuer's: the issuer must vouch for itself."""

from collections.abc import Callable

from fastapi.testclient import TestClient

from .conftest import Clock, bearer
from .issuer import LocalIssuer


def test_protected_resource_metadata_names_the_issuer(client: TestClient, issuer: LocalIssuer) -> None:
    response = client.get("/.well-known/oauth-protected-resource")

    assert response.status_code == 200
    assert response.json() == {
        "resource": "https://api.example",
        "authorization_servers": [issuer.issuer],
        "bearer_methods_supported": ["header"],
        "resource_name": response.json()["resource_name"],
    }


def test_without_a_url_audience_the_resource_is_where_the_api_is(
    make_client: Callable[..., TestClient], issuer: LocalIssuer
) -> None:
    client = make_client(issuer_preset="cognito", oauth_audience="app-client")

    assert client.get("/.well-known/oauth-protected-resource").json()["resource"] == "http://testserver"
    challenge = client.get("/protected").headers["www-authenticate"]
    assert 'resource_metadata="http://testserver/.well-known/oauth-protected-resource"' in challenge


def test_metadata_naming_another_issuer_is_not_trusted(
    make_client: Callable[..., TestClient], issuer: LocalIssuer
) -> None:
    issuer.metadata_overrides = {"issuer": "https://evil.example"}
    client = make_client()

    assert client.get("/health/ready").status_code == 503
    assert client.get("/protected", headers=bearer(issuer.token())).status_code == 401
    assert issuer.key_set_fetches == 0


def test_a_plain_http_key_set_is_refused_in_production(
    make_client: Callable[..., TestClient], issuer: LocalIssuer
) -> None:
    issuer.metadata_overrides = {"jwks_uri": "http://issuer.example/jwks"}
    client = make_client(environment="production")

    assert client.get("/health/ready").status_code == 503
    assert issuer.key_set_fetches == 0


def test_rfc_8414_metadata_is_found_below_a_path(
    make_client: Callable[..., TestClient], issuer: LocalIssuer, clock: Clock
) -> None:
    """An issuer with a path: OpenID Connect's location is tried first for other presets."""
    issuer.issuer = "https://issuer.example/tenant"
    issuer.metadata_overrides = {"jwks_uri": "https://issuer.example/jwks"}
    client = make_client(issuer_preset="generic", oauth_issuer=issuer.issuer)

    assert client.get("/protected", headers=bearer(issuer.token())).status_code == 200
