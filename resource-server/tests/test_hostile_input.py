"""Whatever a client sends in place of a token is answered with 401, never a 500, and never slowly."""

import base64
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from .conftest import bearer
from .issuer import LocalIssuer


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


HOSTILE = [
    "",
    "x",
    "a.b",
    "a.b.c",
    "....",
    "a" * 20_000,
    _b64(b"\xff\xfe\xfd") + ".e30.sig",
    _b64(b"[1, 2]") + ".e30.sig",
    _b64(b'{"alg": 1}') + ".e30.sig",
    _b64(b'{"alg": "ES256", "kid": ["list"]}') + ".e30.sig",
    _b64(b'{"alg": "ES256", "kid": "' + b"k" * 5000 + b'"}') + ".e30.sig",
    _b64(b"[" * 5000 + b"]" * 5000) + ".e30.sig",
    _b64(json.dumps({"alg": "ES256", "typ": "at+jwt"}).encode()) + "." + _b64(b"not json") + ".sig",
    _b64(b'{"alg": "ES256", "typ": "at+jwt", "kid": NaN}') + ".e30.sig",
]


@pytest.mark.parametrize("token", HOSTILE, ids=range(len(HOSTILE)))
def test_malformed_tokens_are_refused(client: TestClient, token: str) -> None:
    response = client.get("/protected", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401


def test_a_payload_that_is_not_an_object_is_refused(client: TestClient, issuer: LocalIssuer) -> None:
    header, _, _ = issuer.token().split(".")

    response = client.get("/protected", headers=bearer(f"{header}.{_b64(b'[]')}.sig"))

    assert response.status_code == 401


def test_non_utf8_authorization_bytes_are_refused(client: TestClient) -> None:
    response = client.get("/protected", headers=[(b"authorization", b"Bearer \xff\xfe.\xc3\x28.x")])

    assert response.status_code == 401


def test_other_schemes_and_repeated_headers(client: TestClient, issuer: LocalIssuer) -> None:
    token = issuer.token()

    assert client.get("/protected", headers={"Authorization": f"Basic {token}"}).status_code == 401
    assert client.get("/protected", headers={"Authorization": f"Bearer{token}"}).status_code == 401
    repeated = [(b"authorization", f"Bearer {token}".encode()), (b"authorization", b"Bearer x")]
    assert client.get("/protected", headers=repeated).status_code in {200, 401}


def test_a_large_key_set_is_not_read(make_client: Callable[..., TestClient], issuer: LocalIssuer) -> None:
    issuer.key_set_override = b'{"keys": [' + b'{"kty": "oct", "k": "AAAA"},' * 20_000 + b"{}]}"
    client = make_client()

    assert client.get("/health/ready").status_code == 503
    assert client.get("/protected", headers=bearer(issuer.token())).status_code == 401


@pytest.mark.parametrize(
    "key_set",
    [b"not json", b"[]", b'{"keys": "none"}', b'{"keys": [1, "x", {"kty": "EC"}, {"kty": "RSA", "n": 5}]}'],
)
def test_a_malformed_key_set_leaves_the_api_not_ready(
    make_client: Callable[..., TestClient], issuer: LocalIssuer, key_set: bytes
) -> None:
    issuer.key_set_override = key_set
    client = make_client()

    assert client.get("/health/ready").status_code == 503
    assert client.get("/protected", headers=bearer(issuer.token())).status_code == 401


def test_private_and_encryption_keys_are_left_out(make_client: Callable[..., TestClient], issuer: LocalIssuer) -> None:
    key, _ = issuer.keys[issuer.current]
    private = {**key.as_dict(private=True), "kid": issuer.current, "alg": "ES256"}
    encryption = {**key.as_dict(private=False), "kid": issuer.current, "alg": "ES256", "use": "enc"}
    issuer.key_set_override = json.dumps({"keys": [private, encryption]}).encode()
    client = make_client()

    assert client.get("/health/ready").status_code == 503


def test_concurrent_hostile_requests_leave_the_api_answering(client: TestClient, issuer: LocalIssuer) -> None:
    def hostile(index: int) -> int:
        token = HOSTILE[index % len(HOSTILE)] or "x"
        return client.get("/protected", headers={"Authorization": f"Bearer {token}"}).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = set(pool.map(hostile, range(200)))

    assert statuses == {401}
    assert client.get("/protected", headers=bearer(issuer.token())).status_code == 200
