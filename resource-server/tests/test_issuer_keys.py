"""The issuer's keys: a rotation is picked up without a restart, made-up key ids cost at most one fetch per
interval, and an issuer outage does not take the API down while the keys in hand are young enough."""

import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from .conftest import Clock, bearer
from .issuer import LocalIssuer, new_key

INTERVAL = 10  # JWKS_UNKNOWN_KEY_INTERVAL_SECONDS' default


def _status(client: TestClient, token: str) -> int:
    return client.get("/protected", headers=bearer(token)).status_code


UNPUBLISHED = new_key("ES256")


def _made_up_kid_token(issuer: LocalIssuer) -> str:
    """A token naming a key id the issuer never published (signed with a key it never had)."""
    kid = secrets.token_hex(8)
    issuer.keys[kid] = (UNPUBLISHED, "ES256")
    try:
        return issuer.token(kid)
    finally:
        del issuer.keys[kid]


def test_keys_are_fetched_once_at_start(client: TestClient, issuer: LocalIssuer) -> None:
    assert client.get("/health/ready").status_code == 200
    for _ in range(20):
        assert _status(client, issuer.token()) == 200

    assert issuer.key_set_fetches == 1


def test_a_rotated_key_is_fetched_on_first_use(client: TestClient, issuer: LocalIssuer) -> None:
    old = issuer.token()
    issuer.rotate()

    assert _status(client, issuer.token()) == 200
    assert issuer.key_set_fetches == 2
    assert _status(client, old) == 200  # still published
    assert _status(client, issuer.token()) == 200
    assert issuer.key_set_fetches == 2


def test_made_up_key_ids_cost_one_fetch_per_interval(client: TestClient, issuer: LocalIssuer, clock: Clock) -> None:
    tokens = [_made_up_kid_token(issuer) for _ in range(300)]

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda token: _status(client, token), tokens))

    assert set(statuses) == {401}
    assert issuer.key_set_fetches == 2  # the start's and one more
    assert _status(client, issuer.token()) == 200

    clock.advance(INTERVAL)
    assert _status(client, tokens[0]) == 401
    assert _status(client, tokens[1]) == 401
    assert issuer.key_set_fetches == 3


def test_a_key_published_after_a_flood_waits_for_the_interval(
    client: TestClient, issuer: LocalIssuer, clock: Clock
) -> None:
    """The price of the bound, documented: a real new key seen within the interval after a made-up one."""
    assert _status(client, _made_up_kid_token(issuer)) == 401
    issuer.rotate()

    assert _status(client, issuer.token()) == 401
    clock.advance(INTERVAL)
    assert _status(client, issuer.token()) == 200


def test_concurrent_first_uses_of_a_new_key_share_one_fetch(client: TestClient, issuer: LocalIssuer) -> None:
    issuer.rotate()
    tokens = [issuer.token() for _ in range(50)]

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda token: _status(client, token), tokens))

    assert statuses == [200] * 50
    assert issuer.key_set_fetches == 2


def test_an_outage_keeps_the_keys_in_hand(
    make_client: Callable[..., TestClient], issuer: LocalIssuer, clock: Clock
) -> None:
    client = make_client(jwks_max_stale_seconds=3600)
    token = issuer.token()
    issuer.unreachable = True

    clock.advance(INTERVAL)
    assert _status(client, _made_up_kid_token(issuer)) == 401  # its fetch failed...
    assert _status(client, token) == 200  # ...and the keys stayed
    clock.advance(3600 - INTERVAL - 1)
    assert client.get("/health/ready").status_code == 200
    assert _status(client, issuer.token(exp=int(clock()) + 300)) == 200

    clock.advance(1)  # the keys are now an hour old
    ready = client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["issuer_keys"] == "unavailable"
    assert _status(client, issuer.token(exp=int(clock()) + 300)) == 401

    issuer.unreachable = False
    clock.advance(INTERVAL)
    assert _status(client, issuer.token(exp=int(clock()) + 300)) == 200  # fetched again on use
    assert client.get("/health/ready").status_code == 200


def test_an_error_status_is_an_outage_too(client: TestClient, issuer: LocalIssuer, clock: Clock) -> None:
    token = issuer.token()
    issuer.key_set_status = 500
    issuer.rotate()
    clock.advance(INTERVAL)

    assert _status(client, issuer.token()) == 401
    assert _status(client, token) == 200


def test_an_issuer_down_at_start_leaves_the_api_up_and_not_ready(
    make_client: Callable[..., TestClient], issuer: LocalIssuer, clock: Clock
) -> None:
    issuer.unreachable = True
    client = make_client()

    assert client.get("/health/live").status_code == 200
    assert client.get("/health/ready").status_code == 503
    assert _status(client, issuer.token()) == 401

    issuer.unreachable = False
    clock.advance(INTERVAL)
    assert _status(client, issuer.token()) == 200
    assert client.get("/health/ready").json()["status"] == "ok"


def test_a_key_the_issuer_withdraws_stops_verifying(client: TestClient, issuer: LocalIssuer, clock: Clock) -> None:
    token = issuer.token()
    assert _status(client, token) == 200
    withdrawn = issuer.current
    issuer.rotate()
    del issuer.keys[withdrawn]

    assert _status(client, issuer.token()) == 200  # the new key's fetch brings the withdrawal too
    assert _status(client, token) == 401  # though it was verified before


def test_an_issuer_that_hangs_holds_no_request_past_the_timeout(
    make_client: Callable[..., TestClient], issuer: LocalIssuer, clock: Clock
) -> None:
    """ISSUER_TIMEOUT_SECONDS bounds a whole fetch, not each read: a hung key set holds neither the
    request that waits for it nor the fetches after it."""
    client = make_client(issuer_timeout_seconds=0.2)
    issuer.rotate()
    issuer.key_set_delay = 600

    started = time.monotonic()
    assert _status(client, issuer.token()) == 401
    assert time.monotonic() - started < 5

    issuer.key_set_delay = 0
    clock.advance(INTERVAL)
    assert _status(client, issuer.token()) == 200


def test_a_key_replaced_under_its_kid_stops_verifying(client: TestClient, issuer: LocalIssuer) -> None:
    """A verified token is kept for its key, not its kid: an issuer may publish a new key (after a
    compromise, say) under the old key's kid, and the old key's tokens must stop working at once."""
    replaced = issuer.current
    token = issuer.token()
    assert _status(client, token) == 200
    issuer.keys[replaced] = (new_key("ES256"), "ES256")
    issuer.rotate()

    assert _status(client, issuer.token()) == 200  # the new kid's fetch brings the replacement too
    assert _status(client, token) == 401
    assert _status(client, issuer.token(replaced)) == 200
