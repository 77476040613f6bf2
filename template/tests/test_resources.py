"""Protected resources answer with RFC 6750 §3 challenges; scopes guard what they should."""

from fastapi.testclient import TestClient

from .helpers import ISSUER, USERNAME, bearer, get_token

# RFC 9728 §5.1: every 401 names where the own API's metadata is.
METADATA = f'resource_metadata="{ISSUER}/.well-known/oauth-protected-resource"'


def test_valid_token_reaches_the_protected_route(client: TestClient, access_token: str) -> None:
    response = client.get("/protected", headers=bearer(access_token))

    assert response.status_code == 200
    assert response.json() == {"message": f"Hello, {USERNAME}! This is a protected route."}


def test_missing_token_gets_a_challenge_without_error_code(client: TestClient, settings_realm: str) -> None:
    response = client.get("/protected")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == f'Bearer realm="{settings_realm}", {METADATA}'


def test_invalid_token_gets_invalid_token(client: TestClient, settings_realm: str) -> None:
    response = client.get("/protected", headers=bearer("not-a-jwt"))

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == (
        f'Bearer realm="{settings_realm}", error="invalid_token", '
        f'error_description="The access token is invalid or has expired", {METADATA}'
    )
    assert response.json() == {"detail": "The access token is invalid or has expired"}


def test_basic_credentials_on_a_resource_get_the_bearer_challenge(client: TestClient, settings_realm: str) -> None:
    response = client.get("/protected", headers={"Authorization": "Basic YWxpY2U6c2VjcmV0"})

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == f'Bearer realm="{settings_realm}", {METADATA}'


def test_scope_guarded_route_accepts_a_token_with_the_scope(client: TestClient, access_token: str) -> None:
    response = client.get("/reports", headers=bearer(access_token))

    assert response.status_code == 200
    assert response.json() == {"owner": USERNAME, "reports": []}


def test_missing_scope_is_insufficient_scope(client: TestClient, user: str, settings_realm: str) -> None:
    narrow = get_token(client, user, scope="profile")

    response = client.get("/reports", headers=bearer(narrow))

    assert response.status_code == 403
    assert response.headers["www-authenticate"] == (
        f'Bearer realm="{settings_realm}", error="insufficient_scope", scope="reports:read"'
    )


def test_own_profile(client: TestClient, access_token: str) -> None:
    response = client.get("/users/me", headers=bearer(access_token))

    assert response.status_code == 200
    assert response.json() == {"username": USERNAME, "scopes": ["profile", "reports:read"]}
