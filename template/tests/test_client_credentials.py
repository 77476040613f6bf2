"""The client credentials grant (RFC 6749 §4.4)."""

import jwt
from fastapi.testclient import TestClient

from .helpers import Register, bearer


def test_token_names_the_client_and_has_no_refresh_token(client: TestClient, register: Register) -> None:
    client_id, secret = register(grant_types=["client_credentials"], scopes=["reports:read"])

    response = client.post("/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret or ""))

    assert response.status_code == 200, response.text
    body = response.json()
    assert "refresh_token" not in body
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == "client:" + client_id
    assert claims["client_id"] == client_id
    assert claims["scope"] == "reports:read"
    assert client.get("/reports", headers=bearer(body["access_token"])).status_code == 200


def test_scope_beyond_the_client_is_invalid_scope(client: TestClient, register: Register) -> None:
    client_id, secret = register(grant_types=["client_credentials"], scopes=["reports:read"])

    response = client.post(
        "/token", data={"grant_type": "client_credentials", "scope": "profile"}, auth=(client_id, secret or "")
    )

    assert response.json()["error"] == "invalid_scope"


def test_a_client_not_registered_for_it_is_unauthorized_client(client: TestClient, register: Register) -> None:
    client_id, secret = register(redirect_uris=["https://app.example/cb"])

    response = client.post("/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret or ""))

    assert response.json()["error"] == "unauthorized_client"


def test_public_clients_cannot_use_it(client: TestClient, register: Register) -> None:
    client_id, _ = register(public=True, redirect_uris=["https://app.example/cb"])

    response = client.post("/token", data={"grant_type": "client_credentials", "client_id": client_id})

    assert response.json()["error"] == "unauthorized_client"


def test_without_a_client_it_is_invalid_client(client: TestClient) -> None:
    response = client.post("/token", data={"grant_type": "client_credentials"})

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
