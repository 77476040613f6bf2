"""Every storage and token-store choice against real servers: the generated project's own tests,
a booted service's token flow over HTTP, and an outage it must survive without a restart."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from redis import Redis
from sqlalchemy.engine import make_url

from .support.servers import REDIS_URL, SERVER_URLS, TcpProxy, require, service_environment
from .support.services import (
    PACKAGE,
    PASSWORD,
    eventually,
    password_token,
    run_module,
    run_own_tests,
    running_service,
)

VARIANTS = [
    {"storage": "postgresql", "token_store": "database", "jwt_algorithm": "ES256"},
    {"storage": "mysql", "token_store": "database", "jwt_algorithm": "EdDSA"},
    {"storage": "postgresql", "token_store": "redis", "jwt_algorithm": "RS256"},
    {"storage": "mysql", "token_store": "redis", "jwt_algorithm": "HS256"},
    {"storage": "postgresql", "token_store": "database", "jwt_algorithm": "Ed25519"},
    {"storage": "sqlite", "token_store": "redis", "jwt_algorithm": "HS384"},
]

# Each storage and each token store runs the project's own suite once (the default project, SQLite with the
# database token store, runs it in full elsewhere). A server database with Redis renders the code of that
# database (its own run) and of Redis (SQLite's with Redis), nothing of the pair alone; it is booted below,
# with the others. The runs cover a key of each type (EC, OKP, oct; RSA by default). Ed25519 signs as EdDSA does
# (RFC 9864 names the one curve EdDSA uses here).
SUITE_VARIANTS = [
    variant
    for variant in VARIANTS
    if (variant["storage"] == "sqlite" or variant["token_store"] == "database")
    and variant["jwt_algorithm"] != "Ed25519"
]


def _id(variant: dict[str, str]) -> str:
    return "-".join(variant.values())


@pytest.fixture
def project_copy(make_project: Callable[..., Path], tmp_path: Path) -> Callable[..., Path]:
    def copy(**answers: str) -> Path:
        return Path(shutil.copytree(make_project(**answers), tmp_path / "service"))

    return copy


@pytest.mark.parametrize("variant", SUITE_VARIANTS, ids=_id)
def test_own_test_suite_passes_against_the_real_server(
    project_copy: Callable[..., Path], variant: dict[str, str]
) -> None:
    project = project_copy(**variant)
    env = {"TEST_REDIS_URL": REDIS_URL}
    if variant["storage"] != "sqlite":
        require(SERVER_URLS[variant["storage"]])
        env["TEST_DATABASE_URL"] = SERVER_URLS[variant["storage"]]
    if variant["token_store"] == "redis":
        require(REDIS_URL)

    run_own_tests(project, env, shallow=True)


@pytest.mark.parametrize("variant", VARIANTS, ids=_id)
def test_service_runs_the_token_flow_on_the_real_server(
    project_copy: Callable[..., Path], variant: dict[str, str]
) -> None:
    project = project_copy(**variant)
    with service_environment(variant["storage"], variant["token_store"]) as env:
        created = run_module(project, PACKAGE, "create-user", "alice", "--password", PASSWORD, env=env)
        assert created.returncode == 0, created.stderr

        with running_service(project, PACKAGE, env=env) as base_url:
            health = httpx.get(f"{base_url}/health")
            assert health.status_code == 200, health.text
            token = password_token(base_url, "alice").json()["access_token"]
            protected = httpx.get(f"{base_url}/protected", headers={"Authorization": f"Bearer {token}"})
            assert protected.json() == {"message": "Hello, alice! This is a protected route."}
            assert httpx.get(f"{base_url}/users/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
            assert password_token(base_url, "alice", "wrong password").status_code == 400

            if variant["token_store"] == "redis":
                redis = Redis.from_url(REDIS_URL)
                counters = list(redis.scan_iter(match=f"{env['REDIS_KEY_PREFIX']}failed-logins:*"))
                assert len(counters) == 3, (
                    "failed logins are counted in Redis: per account and address, account, address"
                )
                assert {redis.get(key) for key in counters} == {b"1"}
                assert not [key for key in counters if b"alice" in key], "counters are keyed by digests"


@pytest.mark.parametrize(
    ("variant", "cut"),
    [
        ({"storage": "postgresql", "token_store": "database"}, "database"),
        ({"storage": "mysql", "token_store": "database"}, "database"),
        ({"storage": "sqlite", "token_store": "redis"}, "redis"),
    ],
    ids=["postgresql", "mysql", "redis"],
)
def test_outage_gives_503_json_and_the_service_recovers(
    project_copy: Callable[..., Path], variant: dict[str, str], cut: str
) -> None:
    project = project_copy(**variant)
    target_url = make_url(SERVER_URLS[variant["storage"]] if cut == "database" else REDIS_URL)
    require(target_url.render_as_string(hide_password=False))
    with (
        TcpProxy((target_url.host or "127.0.0.1", target_url.port or 0)) as proxy,
        service_environment(variant["storage"], variant["token_store"], **{cut: proxy}) as env,
    ):
        assert run_module(project, PACKAGE, "create-user", "alice", "--password", PASSWORD, env=env).returncode == 0
        with running_service(project, PACKAGE, env=env) as base_url:
            token = password_token(base_url, "alice").json()["access_token"]

            proxy.cut()
            started = time.monotonic()
            refused = password_token(base_url, "alice")
            health = httpx.get(f"{base_url}/health", timeout=10)
            protected = httpx.get(f"{base_url}/protected", headers={"Authorization": f"Bearer {token}"})
            waited = time.monotonic() - started

            assert refused.status_code == 503, refused.text
            assert refused.json()["error"] == "temporarily_unavailable"
            assert "Traceback" not in refused.text
            assert health.status_code == 503
            assert health.json()[cut] == "unreachable"
            # Revocations cannot be checked: fail closed, never let a possibly revoked token through.
            assert protected.status_code == 503
            assert waited < 15, f"requests hung for {waited:.1f} s during the outage"

            proxy.restore()
            assert eventually(lambda: password_token(base_url, "alice").status_code == 200, seconds=15, interval=0.3)
            assert httpx.get(f"{base_url}/health").status_code == 200
