"""RFC 9068 and RFC 8725: every rule a token must pass, each with a test that breaks only that rule."""

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from .helpers import ISSUER, USERNAME, Mint, app_state, bearer


def status_of(client: TestClient, token: str) -> int:
    status: int = client.get("/protected", headers=bearer(token)).status_code
    return status


def test_issued_token_has_the_rfc_9068_header_and_claims(client: TestClient, access_token: str) -> None:
    header = jwt.get_unverified_header(access_token)
    claims = jwt.decode(access_token, options={"verify_signature": False})

    assert header["typ"] == "at+jwt"
    assert header["alg"] == app_state(client.app).keys.algorithm
    assert header["kid"] == app_state(client.app).keys.kid
    assert set(claims) == {"iss", "aud", "sub", "exp", "iat", "jti", "client_id", "scope", "grant_id"}
    assert claims["iss"] == ISSUER
    assert claims["aud"] == ISSUER
    assert claims["sub"] == USERNAME
    assert claims["scope"] == "profile reports:read"


def test_reminted_token_is_accepted(client: TestClient, mint: Mint) -> None:
    """The control for every test below: only the rule under test differs."""
    assert status_of(client, mint()) == 200


def test_expired_token_is_refused(client: TestClient, mint: Mint) -> None:
    assert status_of(client, mint({"exp": int(time.time()) - 3600})) == 401


def test_token_within_leeway_is_accepted(client: TestClient, mint: Mint) -> None:
    assert status_of(client, mint({"exp": int(time.time()) - 5})) == 200


def test_token_not_yet_valid_is_refused(client: TestClient, mint: Mint) -> None:
    assert status_of(client, mint({"nbf": int(time.time()) + 3600})) == 401


def test_token_issued_in_the_future_is_refused(client: TestClient, mint: Mint) -> None:
    assert status_of(client, mint({"iat": int(time.time()) + 3600})) == 401


def test_wrong_issuer_is_refused(client: TestClient, mint: Mint) -> None:
    assert status_of(client, mint({"iss": "https://evil.example"})) == 401


def test_issuer_must_match_exactly(client: TestClient, mint: Mint) -> None:
    assert status_of(client, mint({"iss": ISSUER + "/"})) == 401


def test_wrong_audience_is_refused(client: TestClient, mint: Mint) -> None:
    assert status_of(client, mint({"aud": "https://other-api.example"})) == 401


@pytest.mark.parametrize("typ", ["JWT", "refresh+jwt", "id_token"])
def test_wrong_type_is_refused(client: TestClient, mint: Mint, typ: str) -> None:
    assert status_of(client, mint(headers={"typ": typ})) == 401


def test_long_form_type_is_accepted(client: TestClient, mint: Mint) -> None:
    assert status_of(client, mint(headers={"typ": "application/at+jwt"})) == 200


@pytest.mark.parametrize("claim", ["iss", "aud", "sub", "exp", "iat", "jti", "client_id"])
def test_each_missing_claim_is_refused(client: TestClient, mint: Mint, claim: str) -> None:
    assert status_of(client, mint(drop=claim)) == 401


def test_unsigned_token_is_refused(client: TestClient, access_token: str) -> None:
    claims = jwt.decode(access_token, options={"verify_signature": False})
    kid = jwt.get_unverified_header(access_token)["kid"]
    unsigned = jwt.encode(claims, key="", algorithm="none", headers={"typ": "at+jwt", "kid": kid})

    assert status_of(client, unsigned) == 401


def test_tampered_payload_is_refused(client: TestClient, access_token: str) -> None:
    header, _payload, signature = access_token.split(".")
    forged = jwt.utils.base64url_encode(b'{"sub":"mallory"}').decode()

    assert status_of(client, f"{header}.{forged}.{signature}") == 401


def test_unknown_kid_is_refused(client: TestClient, mint: Mint) -> None:
    assert status_of(client, mint(headers={"kid": "someone-elses-key"})) == 401


def test_missing_kid_is_refused(client: TestClient, mint: Mint) -> None:
    assert status_of(client, mint(headers={"kid": None})) == 401


def test_critical_header_is_refused(client: TestClient, mint: Mint) -> None:
    assert status_of(client, mint(headers={"crit": ["exp"]})) == 401


def test_garbage_is_refused(client: TestClient) -> None:
    assert status_of(client, "not-a-jwt") == 401


@pytest.mark.parametrize("header", ["jku", "x5u"])
def test_key_locations_in_the_token_are_never_followed(client: TestClient, mint: Mint, header: str) -> None:
    """RFC 8725 §3.10: only the service's own keys verify; a URL naming other keys changes nothing."""
    elsewhere = {header: "https://attacker.example/keys"}
    assert status_of(client, mint(headers=elsewhere)) == 200

    forged = jwt.encode(
        jwt.decode(mint(), options={"verify_signature": False}),
        ec.generate_private_key(ec.SECP256R1()),
        algorithm="ES256",
        headers={"typ": "at+jwt", "kid": app_state(client.app).keys.kid, **elsewhere},
    )
    assert status_of(client, forged) == 401


@pytest.mark.parametrize(
    ("claims", "headers"),
    [({"padding": "x" * 200_000}, None), (None, {"padding": "x" * 1_000})],
    ids=["payload", "header"],
)
def test_oversized_tokens_are_refused(
    client: TestClient, mint: Mint, claims: dict[str, object] | None, headers: dict[str, object] | None
) -> None:
    """Signed with our key, but larger than any token the service issues: refused before the signature is checked."""
    assert status_of(client, mint(claims, headers)) == 401
