"""Opaque tokens, asked about at the issuer's introspection endpoint (RFC 7662) when a client is configured."""

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .conftest import Clock, bearer
from .issuer import LocalIssuer


def introspecting_client(make_client: Callable[..., TestClient], issuer: LocalIssuer, **settings: Any) -> TestClient:
    """The API with a client of its own at ISSUER for introspection, and SETTINGS."""
    user, secret = issuer.introspection_client
    return make_client(oauth_introspection_client_id=user, oauth_introspection_client_secret=secret, **settings)


@pytest.fixture
def introspecting(make_client: Callable[..., TestClient], issuer: LocalIssuer) -> TestClient:
    return introspecting_client(make_client, issuer)


def _status(client: TestClient, token: str) -> int:
    return client.get("/protected", headers=bearer(token)).status_code


def test_an_active_opaque_token_is_accepted_and_kept_a_while(
    introspecting: TestClient, issuer: LocalIssuer, clock: Clock
) -> None:
    token = issuer.opaque_token(scope="reports:read")

    assert introspecting.get("/reports", headers=bearer(token)).status_code == 200
    assert _status(introspecting, token) == 200
    assert issuer.introspection_calls == 1

    clock.advance(60)  # INTROSPECTION_CACHE_SECONDS
    assert _status(introspecting, token) == 200
    assert issuer.introspection_calls == 2


def test_the_answer_is_kept_no_longer_than_the_token_lives(
    introspecting: TestClient, issuer: LocalIssuer, clock: Clock
) -> None:
    token = issuer.opaque_token(exp=int(clock()) + 10)
    assert _status(introspecting, token) == 200

    clock.advance(10 + 31)
    assert _status(introspecting, token) == 401
    assert issuer.introspection_calls == 2


@pytest.mark.parametrize(
    "claims",
    [{"aud": "https://another-api.example"}, {"iss": "https://evil.example"}, {"exp": 1}, {"sub": None}, {"exp": None}],
)
def test_active_answers_are_held_to_the_claim_rules(
    introspecting: TestClient, issuer: LocalIssuer, claims: dict[str, object]
) -> None:
    assert _status(introspecting, issuer.opaque_token(**claims)) == 401


def test_an_answer_without_an_issuer_is_taken(introspecting: TestClient, issuer: LocalIssuer) -> None:
    assert _status(introspecting, issuer.opaque_token(iss=None)) == 200


def test_inactive_and_unknown_tokens_are_refused_each_time(introspecting: TestClient, issuer: LocalIssuer) -> None:
    token = issuer.opaque_token()
    issuer.introspection_answers[token] = {"active": False}

    assert _status(introspecting, token) == 401
    assert _status(introspecting, token) == 401
    assert _status(introspecting, "never-issued") == 401
    assert issuer.introspection_calls == 3


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"active": "true", "exp": 9999999999}',
        b'{"active": true}',
        b'{"active": 1}',
        b'{"active": true, "exp": Infinity, "sub": "a", "aud": "https://api.example"}',
    ],
)
def test_malformed_answers_are_refused(introspecting: TestClient, issuer: LocalIssuer, raw: bytes) -> None:
    issuer.introspection_raw = raw

    assert _status(introspecting, issuer.opaque_token()) == 401


def test_refused_client_credentials_are_a_401_not_a_500(introspecting: TestClient, issuer: LocalIssuer) -> None:
    token = issuer.opaque_token()
    issuer.introspection_client = ("api:one", "another secret")

    assert _status(introspecting, token) == 401


def test_an_unreachable_issuer_is_a_401(introspecting: TestClient, issuer: LocalIssuer) -> None:
    token = issuer.opaque_token()
    issuer.unreachable = True

    assert _status(introspecting, token) == 401


def test_without_a_client_opaque_tokens_are_never_sent(client: TestClient, issuer: LocalIssuer) -> None:
    assert _status(client, issuer.opaque_token()) == 401
    assert issuer.introspection_calls == 0


def test_jwts_are_still_verified_here(introspecting: TestClient, issuer: LocalIssuer) -> None:
    assert _status(introspecting, issuer.token()) == 200
    assert _status(introspecting, issuer.token(aud="https://another-api.example")) == 401
    assert issuer.introspection_calls == 0


def test_a_flood_of_made_up_tokens_reaches_the_issuer_a_bounded_number_at_a_time(
    make_client: Callable[..., TestClient], issuer: LocalIssuer
) -> None:
    client = introspecting_client(make_client, issuer, introspection_concurrency=3)
    issuer.introspection_delay = 0.01

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = set(pool.map(lambda n: _status(client, f"made-up-{n}"), range(60)))

    assert statuses == {401}
    assert issuer.most_introspections_at_once <= 3
    assert issuer.introspection_calls == 60


def test_a_shared_secret_with_introspection_reads_the_metadata_but_no_keys(
    make_client: Callable[..., TestClient], issuer: LocalIssuer
) -> None:
    client = introspecting_client(make_client, issuer, oauth_shared_secret="s" * 40, oauth_algorithms="HS256")

    assert _status(client, issuer.opaque_token()) == 200
    assert client.get("/health/ready").status_code == 200
    assert issuer.key_set_fetches == 0


def test_an_issuer_that_hangs_frees_the_introspection_slot(
    make_client: Callable[..., TestClient], issuer: LocalIssuer
) -> None:
    """A question the issuer never answers gives up after ISSUER_TIMEOUT_SECONDS, and its slot is free."""
    client = introspecting_client(make_client, issuer, introspection_concurrency=1, issuer_timeout_seconds=0.2)
    issuer.introspection_delay = 600

    started = time.monotonic()
    assert _status(client, issuer.opaque_token()) == 401
    assert _status(client, issuer.opaque_token()) == 401
    assert time.monotonic() - started < 5

    issuer.introspection_delay = 0
    assert _status(client, issuer.opaque_token()) == 200


@pytest.mark.parametrize("endpoint", ["http://issuer.example/introspect", 7, None])
def test_no_question_is_sent_but_to_an_https_endpoint(
    make_client: Callable[..., TestClient], issuer: LocalIssuer, endpoint: object, caplog: pytest.LogCaptureFixture
) -> None:
    """The question carries this API's client secret and the token: never in clear text."""
    issuer.metadata_overrides["introspection_endpoint"] = endpoint
    client = introspecting_client(make_client, issuer)

    assert _status(client, issuer.opaque_token()) == 401
    assert issuer.introspection_calls == 0
    assert "names no https introspection endpoint" in caplog.text
    assert _status(client, issuer.token()) == 200  # JWTs need no introspection


@pytest.mark.parametrize(
    "claims",
    [
        {"token_type": "refresh_token"},  # oauthgen, IdentityServer
        {"token_use": "refresh_token"},  # Ory Hydra
        {"token_type": "DPoP", "cnf": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}},
        {"token_type": ["Bearer"]},
    ],
    ids=["refresh-token", "hydra-refresh-token", "dpop-bound", "malformed-token-type"],
)
def test_an_active_token_that_is_no_bearer_access_token_is_refused(
    introspecting: TestClient, issuer: LocalIssuer, claims: dict[str, object]
) -> None:
    """Issuers introspect refresh tokens too, with the same `sub`, `aud`, `scope` and an `exp`."""
    assert _status(introspecting, issuer.opaque_token(**claims)) == 401


@pytest.mark.parametrize("kind", ["Bearer", "bearer", "access_token"])
def test_the_access_token_types_issuers_name_are_accepted(
    introspecting: TestClient, issuer: LocalIssuer, kind: str
) -> None:
    assert _status(introspecting, issuer.opaque_token(token_type=kind, token_use="access_token")) == 200


def test_an_exp_beyond_any_float_is_no_server_error(introspecting: TestClient, issuer: LocalIssuer) -> None:
    assert _status(introspecting, issuer.opaque_token(exp=10**400)) == 200


def test_an_oversized_answer_is_refused(introspecting: TestClient, issuer: LocalIssuer) -> None:
    """Answers are kept for a while, up to a thousand of them: each must be small."""
    token = issuer.opaque_token(padding="x" * 40_000)

    assert _status(introspecting, token) == 401
    assert _status(introspecting, issuer.opaque_token(padding="x" * 1000)) == 200
