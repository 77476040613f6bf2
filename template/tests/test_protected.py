"""Protected resources answer RFC 6750 §3 challenges."""

import time

import jwt
from fastapi.testclient import TestClient

from .conftest import USERNAME


def test_valid_token_reaches_the_protected_route(client: TestClient, access_token: str) -> None:
    response = client.get("/protected", headers={"Authorization": f"Bearer {access_token}"})

    assert response.status_code == 200
    assert response.json() == {"message": f"Hello, {USERNAME}! This is a protected route."}


def test_missing_token_gets_a_challenge_without_error_code(client: TestClient) -> None:
    response = client.get("/protected")

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Bearer realm="')
    assert "error=" not in response.headers["www-authenticate"]


def test_malformed_token_is_invalid_token(client: TestClient) -> None:
    response = client.get("/protected", headers={"Authorization": "Bearer not-a-jwt"})

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_tampered_token_is_invalid_token(client: TestClient, access_token: str) -> None:
    header, _payload, signature = access_token.split(".")
    forged_payload = jwt.utils.base64url_encode(b'{"sub":"mallory"}').decode()

    response = client.get("/protected", headers={"Authorization": f"Bearer {header}.{forged_payload}.{signature}"})

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_expired_token_is_invalid_token(client: TestClient, access_token: str) -> None:
    key = client.app.state.signing_key  # type: ignore[attr-defined]
    claims = jwt.decode(access_token, key.verification_key, algorithms=[key.algorithm], audience="http://testserver")
    claims["exp"] = int(time.time()) - 3600
    expired = jwt.encode(claims, key.signing_key, algorithm=key.algorithm, headers={"typ": "at+jwt", "kid": key.kid})

    response = client.get("/protected", headers={"Authorization": f"Bearer {expired}"})

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_unsigned_token_is_refused(client: TestClient, access_token: str) -> None:
    claims = jwt.decode(access_token, options={"verify_signature": False})
    unsigned = jwt.encode(claims, key="", algorithm="none", headers={"typ": "at+jwt"})

    response = client.get("/protected", headers={"Authorization": f"Bearer {unsigned}"})

    assert response.status_code == 401
