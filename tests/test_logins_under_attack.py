"""Generated services under a login storm and under attack, on every storage and token store.

Real uvicorn processes against the real servers. Requests come from 127.0.0.1, which uvicorn
trusts as a proxy by default, so `X-Forwarded-For` says which client address each one stands for.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from redis import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from .support.browser import hidden_fields
from .support.servers import REDIS_URL, service_environment
from .support.services import PACKAGE, PASSWORD, run_module, running_service

VARIANTS = {
    "sqlite": {"storage": "sqlite", "token_store": "database"},
    "postgresql": {"storage": "postgresql", "token_store": "database"},
    "mysql": {"storage": "mysql", "token_store": "database"},
    "redis": {"storage": "sqlite", "token_store": "redis"},
}
SERVICE_SETTINGS = {
    # Two connections and a long wait for one: a request that held a connection while it waited
    # for another would deadlock the pool, and no wait would be long enough.
    "DATABASE_POOL_SIZE": "2",
    "DATABASE_MAX_OVERFLOW": "0",
    "DATABASE_TIMEOUT_SECONDS": "15",
    # Argon2 at its usual cost in one lane, so a burst keeps both cores busy without swamping them.
    "ARGON2_PARALLELISM": "1",
    "MAX_FAILED_LOGINS": "10",
    "MAX_FAILED_LOGINS_PER_ACCOUNT": "30",
    "MAX_FAILED_LOGINS_PER_ADDRESS": "12",
    "PASSWORD_HASHING_CONCURRENCY": "2",
    # Room for the 20 concurrent attempts of the counting test; the 40-login burst overflows it.
    "PASSWORD_HASHING_QUEUE": "18",
}
USERS = ("storm", "victim", "counted", "raced", "sprayed", "owner")
WRONG = "not the password"


@dataclass
class Service:
    project: Path
    url: str
    env: dict[str, str]
    client_id: str
    client_secret: str

    def login(self, username: str, password: str = PASSWORD, address: str = "192.0.2.1") -> httpx.Response:
        form = {"grant_type": "password", "username": username, "password": password}
        return httpx.post(f"{self.url}/token", data=form, headers={"X-Forwarded-For": address}, timeout=60)

    def token_state_size(self) -> int:
        """How many failed-login counters and token records the service has stored."""
        if "REDIS_KEY_PREFIX" in self.env:
            redis = Redis.from_url(REDIS_URL)
            try:
                return sum(1 for _ in redis.scan_iter(match=f"{self.env['REDIS_KEY_PREFIX']}*"))
            finally:
                redis.close()
        url = self.env.get("DATABASE_URL") or f"sqlite+aiosqlite:///{self.project / 'var' / (PACKAGE + '.db')}"
        return asyncio.run(_count_rows(url, ("counters", "token_state")))


async def _count_rows(url: str, tables: tuple[str, ...]) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return sum([int(await connection.scalar(text(f"SELECT COUNT(*) FROM {table}")) or 0) for table in tables])
    finally:
        await engine.dispose()


def _variants() -> list[object]:
    # One worker per variant, so each service is booted once for all of its tests.
    return [pytest.param(name, marks=pytest.mark.xdist_group(f"attack-{name}"), id=name) for name in VARIANTS]


@pytest.fixture(scope="module")
def services(make_project: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable]:
    running: dict[str, Service] = {}
    with ExitStack() as stack:

        def service(name: str) -> Service:
            if name not in running:
                running[name] = _boot(stack, make_project, tmp_path_factory, name)
            return running[name]

        yield service


def _boot(
    stack: ExitStack, make_project: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory, name: str
) -> Service:
    variant = VARIANTS[name]
    project = Path(shutil.copytree(make_project(**variant), tmp_path_factory.mktemp(name) / "service"))
    env = {**stack.enter_context(service_environment(variant["storage"], variant["token_store"])), **SERVICE_SETTINGS}
    for username in USERS:
        created = run_module(project, PACKAGE, "create-user", username, "--password", PASSWORD, env=env)
        assert created.returncode == 0, created.stderr
    registered = run_module(
        project, PACKAGE, "create-client", "Reports", "--grant-type", "client_credentials", "--json", env=env
    )
    assert registered.returncode == 0, registered.stderr
    credentials = json.loads(registered.stdout)
    url = stack.enter_context(running_service(project, PACKAGE, env=env))
    return Service(project, url, env, credentials["client_id"], credentials["client_secret"])


def _database_unreachable(response: httpx.Response) -> bool:
    return response.status_code == 503 and "unreachable" in response.text


@pytest.mark.parametrize("variant", _variants())
def test_a_login_burst_is_shed_and_every_other_route_keeps_answering(services: Callable, variant: str) -> None:
    service: Service = services(variant)
    token = service.login("storm").json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    credentials = {"grant_type": "client_credentials"}
    auth = (service.client_id, service.client_secret)

    def login(n: int) -> httpx.Response:
        return service.login("storm", PASSWORD if n % 2 else WRONG, address=f"10.0.{n // 250}.{n % 250 + 1}")

    with ThreadPoolExecutor(56) as pool:
        logins = [pool.submit(login, n) for n in range(40)]
        others = [
            pool.submit(httpx.get, f"{service.url}{path}", headers=bearer, timeout=60)
            for path in ["/health", "/protected", "/.well-known/oauth-authorization-server"] * 4
        ]
        machines = [
            pool.submit(httpx.post, f"{service.url}/token", data=credentials, auth=auth, timeout=60) for _ in range(4)
        ]
        logins_done = [future.result() for future in logins]
        others_done = [future.result() for future in [*others, *machines]]

    assert [response.status_code for response in others_done] == [200] * len(others_done), [
        response.text for response in others_done if response.status_code != 200
    ]
    assert not [response for response in logins_done if _database_unreachable(response)], "the pool was starved"
    # 429: attempts still being checked count against the account's limit until they are settled.
    assert {response.status_code for response in logins_done} <= {200, 400, 429, 503}
    shed = [response for response in logins_done if response.status_code == 503]
    assert all(response.json()["error"] == "temporarily_unavailable" for response in shed)
    assert all(response.headers["retry-after"] == "1" for response in shed)
    assert any(response.status_code == 200 for response in logins_done)


@pytest.mark.parametrize("variant", _variants())
def test_an_attacker_elsewhere_cannot_lock_the_owner_out(services: Callable, variant: str) -> None:
    service: Service = services(variant)

    spread = [service.login("victim", WRONG, address=f"203.0.113.{n}") for n in range(11)]
    focused = [service.login("victim", WRONG, address="203.0.113.200") for _ in range(11)]
    owner = service.login("victim", address="198.51.100.7")

    assert [response.status_code for response in spread] == [400] * 11
    assert [response.status_code for response in focused] == [400] * 10 + [429]
    assert owner.status_code == 200, owner.text


@pytest.mark.parametrize("variant", _variants())
def test_spraying_from_one_address_is_limited(services: Callable, variant: str) -> None:
    service: Service = services(variant)

    sprayed = [service.login(f"guess-{n}", "Winter2026!", address="203.0.113.99") for n in range(12)]
    then = service.login("sprayed", address="203.0.113.99")
    elsewhere = service.login("sprayed", address="198.51.100.8")

    assert [response.status_code for response in sprayed] == [400] * 12
    assert then.status_code == 429
    assert elsewhere.status_code == 200


@pytest.mark.parametrize("variant", _variants())
def test_concurrent_failures_are_counted_exactly(services: Callable, variant: str) -> None:
    service: Service = services(variant)

    with ThreadPoolExecutor(20) as pool:
        statuses = sorted(pool.map(lambda _: service.login("counted", WRONG, "203.0.113.7").status_code, range(20)))

    assert statuses == [400] * 10 + [429] * 10, "exactly MAX_FAILED_LOGINS attempts are evaluated"
    assert service.login("counted", address="203.0.113.7").status_code == 429


@pytest.mark.parametrize("variant", _variants())
def test_huge_usernames_are_refused_before_anything_is_stored(services: Callable, variant: str) -> None:
    service: Service = services(variant)
    before = service.token_state_size()

    statuses = [service.login(name, address="203.0.113.50").status_code for name in ["x" * 1_000_000] * 20]
    mariadb_column_overflow = service.login("y" * 300, address="203.0.113.51")

    assert statuses == [400] * 20
    assert mariadb_column_overflow.status_code == 400
    assert mariadb_column_overflow.json()["error"] == "invalid_grant"
    assert service.token_state_size() == before


@pytest.mark.parametrize("variant", _variants())
def test_concurrent_refreshes_by_one_client_all_keep_working(services: Callable, variant: str) -> None:
    """A confidential client's workers refresh one token at once (within the grace period): every one
    gets a working pair, and the client goes on with the pair it keeps (a second branch used later would
    be a thief's, and revoke the grant)."""
    service: Service = services(variant)
    registered = run_module(
        service.project,
        PACKAGE,
        *("create-client", "Dashboard", "--grant-type", "password", "--grant-type", "refresh_token", "--json"),
        env=service.env,
    )
    assert registered.returncode == 0, registered.stderr
    credentials = json.loads(registered.stdout)
    login = {"grant_type": "password", "username": "raced", "password": PASSWORD, **credentials}
    refresh_token = httpx.post(f"{service.url}/token", data=login, timeout=60).json()["refresh_token"]
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, **credentials}

    with ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(lambda _: httpx.post(f"{service.url}/token", data=form, timeout=30), range(10)))

    assert [response.status_code for response in responses] == [200] * 10, [response.text for response in responses]
    pairs = [response.json() for response in responses]
    for pair in pairs:
        bearer = {"Authorization": f"Bearer {pair['access_token']}"}
        assert httpx.get(f"{service.url}/protected", headers=bearer).status_code == 200
    kept = {**form, "refresh_token": pairs[-1]["refresh_token"]}
    assert httpx.post(f"{service.url}/token", data=kept).status_code == 200


def _sign_in(service: Service, browser: httpx.Client, client_id: str, password: str = PASSWORD) -> httpx.Response:
    """The login page, as a browser at 198.51.100.20 fills it in: its cookies are the client's."""
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": "https://app.example/cb",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
        # The login page even for a browser signed in already.
        "prompt": "login",
    }
    headers = {"X-Forwarded-For": "198.51.100.20"}
    page = browser.get(f"{service.url}/authorize", params=params, headers=headers)
    _, fields = hidden_fields(page, "/login")
    return browser.post(
        f"{service.url}/login", data={**fields, "username": "owner", "password": password}, headers=headers
    )


@pytest.mark.parametrize("variant", _variants())
def test_the_owner_s_browser_signs_in_while_a_botnet_pauses_the_account(services: Callable, variant: str) -> None:
    service: Service = services(variant)
    registered = run_module(
        service.project,
        PACKAGE,
        "create-client",
        "Web",
        "--public",
        "--redirect-uri",
        "https://app.example/cb",
        "--json",
        env=service.env,
    )
    assert registered.returncode == 0, registered.stderr
    client_id = json.loads(registered.stdout)["client_id"]

    with httpx.Client(timeout=60) as owner, httpx.Client(timeout=60) as stranger:
        assert _sign_in(service, owner, client_id).status_code == 303
        botnet = [service.login("owner", WRONG, address=f"203.0.114.{n}") for n in range(30)]
        paused = service.login("owner", address="198.51.100.20")
        signed_in = _sign_in(service, owner, client_id)
        refused = _sign_in(service, stranger, client_id)

    assert [response.status_code for response in botnet] == [400] * 30
    assert paused.status_code == 429, "the password grant takes no device cookie"
    assert signed_in.status_code == 303, signed_in.text
    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= 3600


def test_forwarded_addresses_count_only_from_a_trusted_proxy(make_project: Callable[..., Path], tmp_path: Path) -> None:
    project = Path(shutil.copytree(make_project(**VARIANTS["sqlite"]), tmp_path / "service"))
    env = {**SERVICE_SETTINGS, "FORWARDED_ALLOW_IPS": "192.0.2.254"}  # not the loopback the tests call from
    assert run_module(project, PACKAGE, "create-user", "victim", "--password", PASSWORD, env=env).returncode == 0

    with running_service(project, PACKAGE, env=env) as url:
        service = Service(project, url, env, "", "")
        spoofed = [service.login("victim", WRONG, address=f"203.0.113.{n}") for n in range(11)]

    assert [response.status_code for response in spoofed] == [400] * 10 + [429]
