"""Token revocation (RFC 7009)."""

import httpx2
from fastapi.testclient import TestClient

from .helpers import PASSWORD, USERNAME, Register, bearer


def password_tokens(client: TestClient, auth: tuple[str, str] | None = None) -> dict[str, str]:
    form = {"grant_type": "password", "username": USERNAME, "password": PASSWORD}
    response = client.post("/token", data=form, auth=auth or httpx2.USE_CLIENT_DEFAULT)
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


def test_revoked_access_token_is_refused(client: TestClient, user: str) -> None:
    token = password_tokens(client)["access_token"]

    response = client.post("/revoke", data={"token": token, "token_type_hint": "access_token"})

    assert response.status_code == 200
    assert client.get("/protected", headers=bearer(token)).status_code == 401


def test_unknown_token_still_gets_200(client: TestClient) -> None:
    assert client.post("/revoke", data={"token": "never-issued"}).status_code == 200


def test_token_is_required(client: TestClient) -> None:
    response = client.post("/revoke", data={})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_a_client_authenticates_to_revoke(client: TestClient, user: str, register: Register) -> None:
    client_id, secret = register(grant_types=["password"], scopes=["profile"])
    token = password_tokens(client, auth=(client_id, secret or ""))["access_token"]

    wrong = client.post("/revoke", data={"token": token}, auth=(client_id, "wrong"))
    right = client.post("/revoke", data={"token": token}, auth=(client_id, secret or ""))

    assert wrong.status_code == 401
    assert right.status_code == 200
    assert client.get("/protected", headers=bearer(token)).status_code == 401


def test_another_clients_token_is_left_alone(client: TestClient, user: str, register: Register) -> None:
    owner, owner_secret = register(grant_types=["password"], scopes=["profile"])
    other, other_secret = register(grant_types=["password"], scopes=["profile"])
    token = password_tokens(client, auth=(owner, owner_secret or ""))["access_token"]

    response = client.post("/revoke", data={"token": token}, auth=(other, other_secret or ""))

    assert response.status_code == 200
    assert client.get("/protected", headers=bearer(token)).status_code == 200


def test_revoking_a_refresh_token_revokes_its_access_tokens(client: TestClient, user: str) -> None:
    tokens = password_tokens(client)

    client.post("/revoke", data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"})

    assert client.get("/protected", headers=bearer(tokens["access_token"])).status_code == 401
    refreshed = client.post("/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refreshed.json()["error"] == "invalid_grant"


def test_a_wrong_hint_does_not_stop_revocation(client: TestClient, user: str) -> None:
    tokens = password_tokens(client)

    client.post("/revoke", data={"token": tokens["refresh_token"], "token_type_hint": "access_token"})
    client.post("/revoke", data={"token": tokens["access_token"], "token_type_hint": "refresh_token"})

    assert client.get("/protected", headers=bearer(tokens["access_token"])).status_code == 401
