"""The token store under concurrency: counts are never lost, and a record is claimed exactly once."""

import asyncio
import secrets
import time

from fastapi.testclient import TestClient

from .helpers import app_state


def test_concurrent_increments_each_get_a_count_of_their_own(client: TestClient) -> None:
    store = app_state(client.app).token_store
    key = f"test:{secrets.token_hex(4)}"

    async def hammer() -> tuple[list[int], int]:
        results = await asyncio.gather(*(store.increment({key: 60}) for _ in range(20)))
        count: int = await store.count(key)
        return sorted(result[key] for result in results), count

    assert client.portal is not None
    counts, final = client.portal.call(hammer)
    assert counts == list(range(1, 21))
    assert final == 20


def test_one_increment_counts_several_counters(client: TestClient) -> None:
    store = app_state(client.app).token_store
    first, second = f"test:{secrets.token_hex(4)}", f"test:{secrets.token_hex(4)}"

    async def count_twice() -> list[dict[str, int]]:
        return [await store.increment({first: 60, second: 60}), await store.increment({second: 60})]

    assert client.portal is not None
    assert client.portal.call(count_twice) == [{first: 1, second: 1}, {second: 2}]


def test_decrement_never_goes_below_zero_nor_creates_a_counter(client: TestClient) -> None:
    store = app_state(client.app).token_store
    counted, absent = f"test:{secrets.token_hex(4)}", f"test:{secrets.token_hex(4)}"

    async def go() -> tuple[int, int, dict[str, int]]:
        await store.increment({counted: 60})
        await store.decrement(counted, absent)
        await store.decrement(counted, absent)
        return await store.count(counted), await store.count(absent), await store.increment({absent: 60})

    assert client.portal is not None
    assert client.portal.call(go) == (0, 0, {absent: 1})


def test_a_counter_tells_how_long_it_has_left(client: TestClient) -> None:
    store = app_state(client.app).token_store
    counted, absent = f"test:{secrets.token_hex(4)}", f"test:{secrets.token_hex(4)}"

    async def go() -> tuple[int, int]:
        await store.increment({counted: 60})
        await store.increment({counted: 3600})  # a later count keeps the counter's lifetime
        return await store.ttl(counted), await store.ttl(absent)

    assert client.portal is not None
    left, none = client.portal.call(go)
    assert 58 <= left <= 60
    assert none == 0


def test_concurrent_claims_of_one_record_let_exactly_one_through(client: TestClient) -> None:
    store = app_state(client.app).token_store
    key = f"test:{secrets.token_hex(4)}"

    async def race() -> list[int | None]:
        await store.put(key, {"value": 1}, 60)
        claims = await asyncio.gather(*(store.claim(key) for _ in range(10)))
        claimed = [claim for claim in claims if claim is not None]
        assert len(claimed) == len(claims)  # the record stays claimable, marked used, while it lives
        return [used_before for _, used_before in claimed]

    assert client.portal is not None
    used_before = client.portal.call(race)
    assert used_before.count(None) == 1
    # The others learn when the first claim used it.
    first_use = [moment for moment in used_before if moment is not None]
    assert len(first_use) == 9
    assert all(abs(moment - time.time()) < 5 for moment in first_use)


def test_a_claimed_record_is_no_longer_active(client: TestClient) -> None:
    store = app_state(client.app).token_store
    key = f"test:{secrets.token_hex(4)}"

    async def claim_then_get() -> object:
        await store.put(key, {"value": 1}, 60)
        await store.claim(key)
        return await store.get(key)

    assert client.portal is not None
    assert client.portal.call(claim_then_get) is None
