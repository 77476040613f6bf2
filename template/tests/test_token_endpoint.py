"""The token endpoint answers RFC 6749 §5.1 successes and §5.2 errors, never a 422."""

import pytest
from fastapi.testclient import TestClient

from .conftest import PASSWORD


def test_password_grant_issues_a_bearer_token(client: TestClient, user: str) -> None:
    response = client.post("/token", data={"grant_type": "password", "username": user, "password": PASSWORD})

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] > 0
    assert body["scope"] == "read"
    assert body["access_token"].count(".") == 2
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"grant_type": "password", "username": "alice", "password": "wrong password"}, "invalid_grant"),
        ({"grant_type": "password", "username": "nobody", "password": PASSWORD}, "invalid_grant"),
        ({"grant_type": "password", "username": "alice"}, "invalid_request"),
        ({"username": "alice", "password": PASSWORD}, "invalid_request"),
        ({"grant_type": "magic", "username": "alice", "password": PASSWORD}, "unsupported_grant_type"),
        ({"grant_type": "password", "username": "alice", "password": PASSWORD, "scope": "admin"}, "invalid_scope"),
    ],
)
def test_errors_follow_rfc_6749(client: TestClient, user: str, data: dict[str, str], error: str) -> None:
    response = client.post("/token", data=data)

    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response.json()["error_description"]
    assert response.headers["cache-control"] == "no-store"


def test_repeated_parameter_is_invalid_request(client: TestClient, user: str) -> None:
    body = f"grant_type=password&username={user}&username=bob&password={PASSWORD}"
    response = client.post("/token", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_json_body_gets_an_oauth_error_not_a_422(client: TestClient, user: str) -> None:
    response = client.post("/token", json={"grant_type": "password", "username": user, "password": PASSWORD})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
