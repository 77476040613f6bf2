"""The token store under concurrency: counts are never lost, and a record is claimed exactly once."""

import asyncio
import secrets

from fastapi.testclient import TestClient


def test_concurrent_increments_are_all_counted(client: TestClient) -> None:
    store = client.app.state.token_store  # type: ignore[attr-defined]
    key = f"test:{secrets.token_hex(4)}"

    async def hammer() -> int:
        await asyncio.gather(*(store.increment(key, 60) for _ in range(20)))
        count: int = await store.count(key)
        return count

    assert client.portal is not None
    assert client.portal.call(hammer) == 20


def test_concurrent_claims_of_one_record_let_exactly_one_through(client: TestClient) -> None:
    store = client.app.state.token_store  # type: ignore[attr-defined]
    key = f"test:{secrets.token_hex(4)}"

    async def race() -> list[bool]:
        await store.put(key, {"value": 1}, 60)
        claims = await asyncio.gather(*(store.claim(key) for _ in range(10)))
        return [first for _, first in claims]

    assert client.portal is not None
    assert sorted(client.portal.call(race)) == [False] * 9 + [True]


def test_a_claimed_record_is_no_longer_active(client: TestClient) -> None:
    store = client.app.state.token_store  # type: ignore[attr-defined]
    key = f"test:{secrets.token_hex(4)}"

    async def claim_then_get() -> object:
        await store.put(key, {"value": 1}, 60)
        await store.claim(key)
        return await store.get(key)

    assert client.portal is not None
    assert client.portal.call(claim_then_get) is None
