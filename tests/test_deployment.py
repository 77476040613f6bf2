"""Deploying a generated service: several worker processes behave as one service."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from .helpers import password_token, run_module, running_service
from .servers import service_environment

PACKAGE = "my_service"
STORES = [
    {"storage": "sqlite", "token_store": "database"},
    {"storage": "postgresql", "token_store": "database"},
    {"storage": "mysql", "token_store": "database"},
    {"storage": "postgresql", "token_store": "redis"},
]


def serve_command(*options: str) -> Callable[[int], list[str]]:
    return lambda port: [sys.executable, "-m", PACKAGE, "serve", "--port", str(port), *options]


@pytest.mark.parametrize("answers", STORES, ids=lambda answers: "-".join(answers.values()))
def test_a_revocation_in_one_worker_is_honoured_by_every_worker(
    make_project: Callable[..., Path], tmp_path: Path, answers: dict[str, str]
) -> None:
    project = Path(shutil.copytree(make_project(**answers), tmp_path / "service"))
    with service_environment(answers["storage"], answers["token_store"]) as env:
        env = {**env, "PYTHONPATH": str(project / "src"), "WEB_CONCURRENCY": "2"}
        assert (
            run_module(project, PACKAGE, "create-user", "alice", "--password", "a long password", env=env).returncode
            == 0
        )
        log: list[str] = []
        with running_service(project, PACKAGE, env=env, command=serve_command(), log=log) as base_url:
            token = password_token(base_url, "alice", "a long password").json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            # Fresh connections, spread over both workers: each now holds the token as verified.
            assert {httpx.get(f"{base_url}/protected", headers=headers).status_code for _ in range(60)} == {200}

            assert httpx.post(f"{base_url}/revoke", data={"token": token}).status_code == 200

            after = [httpx.get(f"{base_url}/protected", headers=headers).status_code for _ in range(200)]
    assert set(after) == {401}
    assert (
        len({line.split("[")[1].split("]")[0] for line in log[0].splitlines() if "Started server process" in line}) == 2
    )
