"""Client authentication (RFC 6749 §2.3): Basic or form secrets for confidential clients, client_id alone for public."""

import base64
from urllib.parse import quote_plus

import httpx2
from fastapi.testclient import TestClient

from .helpers import Register, app_state


def client_credentials(
    client: TestClient,
    data: dict[str, str | None],
    auth: tuple[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str]]:
    form = {"grant_type": "client_credentials", **{name: value for name, value in data.items() if value is not None}}
    response: httpx2.Response = client.post(
        "/token", data=form, auth=auth or httpx2.USE_CLIENT_DEFAULT, headers=headers
    )
    return response.status_code, response.json()


def test_basic_authentication(client: TestClient, register: Register) -> None:
    client_id, secret = register(grant_types=["client_credentials"])

    status, body = client_credentials(client, {}, auth=(client_id, secret or ""))

    assert status == 200, body


def test_basic_credentials_are_form_urlencoded_first(client: TestClient, register: Register) -> None:
    client_id, secret = register(grant_types=["client_credentials"])
    encoded = base64.b64encode(f"{quote_plus(client_id)}:{quote_plus(secret or '')}".encode()).decode()

    status, body = client_credentials(client, {}, headers={"Authorization": f"Basic {encoded}"})

    assert status == 200, body


def test_secret_in_the_form(client: TestClient, register: Register) -> None:
    client_id, secret = register(grant_types=["client_credentials"])

    status, body = client_credentials(client, {"client_id": client_id, "client_secret": secret})

    assert status == 200, body


def test_wrong_secret_is_invalid_client(client: TestClient, register: Register) -> None:
    client_id, _ = register(grant_types=["client_credentials"])

    response = client.post("/token", data={"grant_type": "client_credentials"}, auth=(client_id, "wrong"))

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    realm = app_state(client.app).settings.realm
    assert response.headers["www-authenticate"] == f'Basic realm="{realm}"'


def test_confidential_client_without_its_secret_is_invalid_client(client: TestClient, register: Register) -> None:
    client_id, _ = register(grant_types=["client_credentials"])

    status, body = client_credentials(client, {"client_id": client_id})

    assert (status, body["error"]) == (401, "invalid_client")


def test_public_client_with_a_secret_is_invalid_client(client: TestClient, register: Register) -> None:
    client_id, _ = register(public=True, redirect_uris=["https://app.example/cb"])

    response = client.post("/token", data={"grant_type": "client_credentials"}, auth=(client_id, "made-up"))

    assert response.status_code == 401


def test_two_methods_at_once_are_invalid_request(client: TestClient, register: Register) -> None:
    client_id, secret = register(grant_types=["client_credentials"])

    status, body = client_credentials(client, {"client_secret": secret}, auth=(client_id, secret or ""))

    assert (status, body["error"]) == (400, "invalid_request")


def test_malformed_basic_header_is_invalid_client(client: TestClient) -> None:
    response = client.post("/token", data={"grant_type": "client_credentials"}, headers={"Authorization": "Basic %%%"})

    assert response.status_code == 401
