"""Tokens from the issuer are accepted; every other kind of token is refused with an RFC 6750 challenge."""

import json
from collections.abc import Callable
from typing import Any

import jwt as pyjwt
import pytest
from fastapi.testclient import TestClient

from .conftest import Clock, bearer
from .issuer import AUDIENCE, LocalIssuer, new_key


def _refused(response: object) -> None:
    assert getattr(response, "status_code", None) == 401
    challenge = response.headers["www-authenticate"]  # type: ignore[attr-defined]
    assert challenge.startswith('Bearer realm="')
    assert 'error="invalid_token"' in challenge
    assert 'resource_metadata="https://api.example/.well-known/oauth-protected-resource"' in challenge


def test_a_token_from_the_issuer_is_accepted(client: TestClient, issuer: LocalIssuer) -> None:
    token = issuer.token()

    response = client.get("/protected", headers=bearer(token))

    assert response.status_code == 200
    assert response.json() == {"message": "Hello, alice! This is a protected route."}
    me = client.get("/me", headers=bearer(token)).json()
    assert me == {"subject": "alice", "client_id": "app", "scopes": ["profile", "reports:read"], "roles": []}


def test_no_token_gets_a_challenge_without_an_error(client: TestClient) -> None:
    response = client.get("/protected")

    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert "error=" not in challenge
    assert 'resource_metadata="https://api.example/.well-known/oauth-protected-resource"' in challenge


def test_a_scope_guarded_route_needs_its_scope(client: TestClient, issuer: LocalIssuer) -> None:
    assert client.get("/reports", headers=bearer(issuer.token())).status_code == 200

    response = client.get("/reports", headers=bearer(issuer.token(scope="profile")))

    assert response.status_code == 403
    assert 'error="insufficient_scope", scope="reports:read"' in response.headers["www-authenticate"]


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "https://another-api.example"},
        {"aud": ["https://another-api.example", "https://third.example"]},
        {"aud": None},
        {"iss": "https://issuer.example/"},
        {"iss": "https://evil.example"},
        {"iss": None},
        {"sub": None},
        {"sub": ""},
        {"exp": None},
        {"exp": "tomorrow"},
        {"nbf": 1_800_000_000 + 3600},
        {"iat": 1_800_000_000 + 3600},
    ],
    ids=lambda claims: json.dumps(claims),
)
def test_tokens_with_wrong_claims_are_refused(client: TestClient, issuer: LocalIssuer, claims: dict[str, Any]) -> None:
    _refused(client.get("/protected", headers=bearer(issuer.token(**claims))))


def test_an_audience_among_several_is_enough(client: TestClient, issuer: LocalIssuer) -> None:
    token = issuer.token(aud=["https://another-api.example", AUDIENCE])

    assert client.get("/protected", headers=bearer(token)).status_code == 200


def test_expiry_allows_the_leeway_and_no_more(client: TestClient, issuer: LocalIssuer, clock: Clock) -> None:
    token = issuer.token()
    assert client.get("/protected", headers=bearer(token)).status_code == 200

    clock.advance(300 + 29)
    assert client.get("/protected", headers=bearer(token)).status_code == 200
    clock.advance(2)
    _refused(client.get("/protected", headers=bearer(token)))  # also when it was verified before


def test_a_token_from_another_issuer_is_refused(client: TestClient, issuer: LocalIssuer, clock: Clock) -> None:
    other = LocalIssuer(clock, issuer="https://other-issuer.example")
    other.current = issuer.current  # the same kid, another key: only the key set decides
    other.keys = {issuer.current: (new_key("ES256"), "ES256")}

    _refused(client.get("/protected", headers=bearer(other.token())))
    _refused(client.get("/protected", headers=bearer(other.token(iss=issuer.issuer))))


def test_an_id_token_is_not_an_access_token(client: TestClient, issuer: LocalIssuer) -> None:
    id_token = issuer.token(header={"typ": "JWT"}, nonce="n-0S6_WzA2Mj")
    untyped = issuer.token(header={"typ": None})

    _refused(client.get("/protected", headers=bearer(id_token)))
    _refused(client.get("/protected", headers=bearer(untyped)))


def test_the_long_form_of_the_access_token_type_is_accepted(client: TestClient, issuer: LocalIssuer) -> None:
    token = issuer.token(header={"typ": "application/at+jwt"})

    assert client.get("/protected", headers=bearer(token)).status_code == 200


def test_the_header_cannot_choose_another_algorithm(client: TestClient, issuer: LocalIssuer) -> None:
    """The key's `alg` pins the algorithm: a token naming another is refused, even one the key could do."""
    key, _ = issuer.keys[issuer.current]
    issuer.keys[issuer.current] = (key, "ES256")
    pem = key.as_pem(private=False)

    _refused(client.get("/protected", headers=bearer(issuer.hmac_token(pem))))
    _refused(client.get("/protected", headers=bearer(issuer.hmac_token(pem, "HS512"))))
    _refused(client.get("/protected", headers=bearer(issuer.unsigned_token())))
    rsa = issuer.rotate("RS256")
    issuer.keys[rsa] = (issuer.keys[rsa][0], "PS256")  # signs RS256, claims PS256
    _refused(client.get("/protected", headers=bearer(issuer.token(header={"alg": "RS256"}))))


def test_keys_carried_in_the_token_are_never_used(client: TestClient, issuer: LocalIssuer) -> None:
    attacker = new_key("ES256")
    for header in (
        {"kid": "attacker", "jwk": attacker.as_dict(private=False)},
        {"kid": "attacker", "jku": "https://evil.example/jwks"},
        {"x5u": "https://evil.example/cert"},
    ):
        claims = issuer.claims()
        token = pyjwt.encode(
            claims, attacker.as_pem(private=True), algorithm="ES256", headers={"typ": "at+jwt", **header}
        )
        _refused(client.get("/protected", headers=bearer(token)))


def test_critical_header_extensions_are_refused(client: TestClient, issuer: LocalIssuer) -> None:
    token = issuer.token_by_pyjwt({"crit": ["exp"], "exp": 1})
    assert client.get("/protected", headers=bearer(issuer.token_by_pyjwt({}))).status_code == 200

    _refused(client.get("/protected", headers=bearer(token)))


def test_a_tampered_token_is_refused(client: TestClient, issuer: LocalIssuer) -> None:
    header, payload, signature = issuer.token().split(".")
    other_payload = issuer.token(sub="mallory").split(".")[1]

    _refused(client.get("/protected", headers=bearer(f"{header}.{other_payload}.{signature}")))
    _refused(client.get("/protected", headers=bearer(f"{header}.{payload}.{signature[:-4]}AAAA")))


def test_the_scheme_name_is_case_insensitive(client: TestClient, issuer: LocalIssuer) -> None:
    response = client.get("/protected", headers={"Authorization": f"bEaReR {issuer.token()}"})

    assert response.status_code == 200


def test_a_shared_secret_is_used_only_when_configured(
    make_client: Callable[..., TestClient], issuer: LocalIssuer
) -> None:
    secret = b"a shared secret of 32 bytes or more, chosen on purpose"
    client = make_client(oauth_shared_secret=secret.decode(), oauth_algorithms="HS256")

    assert client.get("/protected", headers=bearer(issuer.hmac_token(secret))).status_code == 200
    _refused(client.get("/protected", headers=bearer(issuer.hmac_token(secret, "HS512"))))
    _refused(client.get("/protected", headers=bearer(issuer.token())))  # its public keys are not used
    assert issuer.key_set_fetches == 0


def test_a_shared_secret_needs_nothing_from_the_issuer(
    make_client: Callable[..., TestClient], issuer: LocalIssuer
) -> None:
    secret = b"a shared secret of 32 bytes or more, chosen on purpose"
    issuer.unreachable = True
    client = make_client(oauth_shared_secret=secret.decode(), oauth_algorithms="HS256")

    ready = client.get("/health/ready")

    assert ready.status_code == 200
    assert ready.json()["issuer_keys"].startswith("not used")
    assert client.get("/protected", headers=bearer(issuer.hmac_token(secret))).status_code == 200


def test_a_token_bound_to_a_key_is_not_a_bearer_token(client: TestClient, issuer: LocalIssuer) -> None:
    """A DPoP- or mTLS-bound token needs a proof this API does not check: a stolen one must not work here."""
    dpop = issuer.token(cnf={"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"})
    mtls = issuer.token(cnf={"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"})

    _refused(client.get("/protected", headers=bearer(dpop)))
    _refused(client.get("/protected", headers=bearer(mtls)))
