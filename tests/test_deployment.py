"""Deploying a generated service: several worker processes, and several instances, behave as one service."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from .support.ports import free_port
from .support.servers import service_environment
from .support.services import (
    NO_MAIL_SERVER,
    PACKAGE,
    PASSWORD,
    TEST_TOTP_KEY,
    eventually,
    password_token,
    project_env,
    run_module,
    running_service,
)

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
            # The other worker learns of it from the store: at once, or (PostgreSQL's notification,
            # SQLite's journal) within moments.
            assert eventually(
                lambda: httpx.get(f"{base_url}/protected", headers=headers).status_code == 401, seconds=1.0
            )

            after = [httpx.get(f"{base_url}/protected", headers=headers).status_code for _ in range(200)]
    assert set(after) == {401}
    assert (
        len({line.split("[")[1].split("]")[0] for line in log[0].splitlines() if "Started server process" in line}) == 2
    )


def test_workers_on_a_new_database_do_not_race_to_migrate_it(make_project: Callable[..., Path], tmp_path: Path) -> None:
    project = Path(shutil.copytree(make_project(), tmp_path / "service"))
    env = {"PYTHONPATH": str(project / "src"), "WEB_CONCURRENCY": "3"}
    log: list[str] = []
    with running_service(project, PACKAGE, env=env, command=serve_command(), log=log) as base_url:
        assert httpx.get(f"{base_url}/health/ready").status_code == 200
    assert log[0].count("Application startup complete") == 3, log[0]
    assert "Traceback" not in log[0]


# A worker's settings that differ from those `serve` checked before it started the workers: in the
# child processes only (spawned with --multiprocessing-fork), DATABASE_URL becomes WORKER_DATABASE_URL.
WORKER_ONLY_SETTING = """
import os, sys
if "--multiprocessing-fork" in sys.argv:
    os.environ["DATABASE_URL"] = os.environ["WORKER_DATABASE_URL"]
"""


@pytest.mark.parametrize(
    "worker_database_url",
    # Refused when the application is made; and valid, but beneath a file, so that its start-up fails.
    ["nonsense", "sqlite+aiosqlite:///{project}/pyproject.toml/service.db"],
    ids=["invalid-setting", "failing-startup"],
)
def test_serve_exits_non_zero_when_a_worker_fails_to_start(
    make_project: Callable[..., Path], tmp_path: Path, worker_database_url: str
) -> None:
    project = Path(shutil.copytree(make_project(), tmp_path / "service"))
    (tmp_path / "hook").mkdir()
    (tmp_path / "hook" / "sitecustomize.py").write_text(WORKER_ONLY_SETTING, encoding="utf-8")
    env = {
        "PYTHONPATH": f"{tmp_path / 'hook'}:{project / 'src'}",
        "WORKER_DATABASE_URL": worker_database_url.format(project=project),
    }
    command = [sys.executable, "-m", PACKAGE, "serve", "--port", str(free_port()), "--workers", "2"]
    serve = subprocess.Popen(
        command, cwd=project, env=project_env(None, env), stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        _, stderr = serve.communicate(timeout=60)
    finally:
        # Workers restarted forever would outlive their parent: end the whole group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(serve.pid, signal.SIGKILL)

    assert serve.returncode != 0, stderr[-3000:]
    assert "failed to start" in stderr


def test_two_instances_share_tokens_revocations_and_login_limits(
    make_project: Callable[..., Path], tmp_path: Path
) -> None:
    """Two instances of a production service, as on two machines: one key from the environment, one
    PostgreSQL database and one Redis. Nothing about a token or a login depends on which one answers."""
    answers = {"storage": "postgresql", "token_store": "redis", "jwt_algorithm": "ES256"}
    project = Path(shutil.copytree(make_project(**answers), tmp_path / "service"))
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    with service_environment("postgresql", "redis") as servers:
        env = {
            **servers,
            "PYTHONPATH": str(project / "src"),
            "ENVIRONMENT": "production",
            "ISSUER": "https://auth.example",
            "SMTP_URL": NO_MAIL_SERVER,
            "TOTP_ENCRYPTION_KEYS": TEST_TOTP_KEY,
            "PRIVATE_KEY": pem,
            "ID_TOKEN_PRIVATE_KEY": _id_token_key().decode(),
            "MAX_FAILED_LOGINS": "3",
        }
        auth, login = _prepare_production(project, env)

        with running_service(project, PACKAGE, env=env) as first, running_service(project, PACKAGE, env=env) as second:
            token = login(first).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            assert httpx.get(f"{second}/protected", headers=headers).status_code == 200
            assert (
                httpx.get(f"{second}/.well-known/jwks.json").json()
                == httpx.get(f"{first}/.well-known/jwks.json").json()
            )

            assert httpx.post(f"{first}/revoke", data={"token": token}, auth=auth).status_code == 200
            assert eventually(lambda: httpx.get(f"{second}/protected", headers=headers).status_code == 401, seconds=1.0)

            failures = [
                login(first, "wrong").status_code,
                login(second, "wrong").status_code,
                login(first, "wrong").status_code,
            ]
            assert failures == [400, 400, 400]
            assert login(second).status_code == 429, "the limit counts the failures made at either instance"


def _id_token_key() -> bytes:
    """The RS256 key that production requires for ID tokens, whatever signs the access tokens."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


def _prepare_production(project: Path, env: dict[str, str]) -> tuple[tuple[str, str], Callable[..., httpx.Response]]:
    """Migrate, add alice and a first-party client, as a production deploy does; return the client's
    credentials, and alice's login through it at a given instance (with another password to fail it)."""
    assert run_module(project, PACKAGE, "migrate", env=env).returncode == 0
    assert run_module(project, PACKAGE, "create-user", "alice", "--password", PASSWORD, env=env).returncode == 0
    registered = run_module(project, PACKAGE, "create-client", "App", "--grant-type", "password", "--json", env=env)
    client = json.loads(registered.stdout)
    auth = (client["client_id"], client["client_secret"])

    def login(base_url: str, password: str = PASSWORD) -> httpx.Response:
        form = {"grant_type": "password", "username": "alice", "password": password}
        return httpx.post(f"{base_url}/token", data=form, auth=auth, timeout=30)

    return auth, login


def test_json_logs_are_one_object_per_line_with_request_ids(make_project: Callable[..., Path], tmp_path: Path) -> None:
    project = Path(shutil.copytree(make_project(), tmp_path / "service"))
    env = {"PYTHONPATH": str(project / "src"), "LOG_FORMAT": "json"}
    assert run_module(project, PACKAGE, "create-user", "alice", "--password", PASSWORD, env=env).returncode == 0
    log: list[str] = []
    with running_service(project, PACKAGE, env=env, command=serve_command(), log=log) as base_url:
        token = password_token(base_url, "alice").json()["access_token"]
        refused = httpx.get(f"{base_url}/protected", params={"access_token": token})

    lines = [json.loads(line) for line in log[0].splitlines()]
    access = [line for line in lines if line["logger"] == f"{PACKAGE}.access"]
    assert {line["level"] for line in lines} <= {"INFO", "WARNING"}
    assert any("Application startup complete" in line["message"] for line in lines)
    by_id = {line["request_id"]: line for line in access}
    assert by_id[refused.headers["x-request-id"]]["path"] == "/protected"
    assert by_id[refused.headers["x-request-id"]]["status"] == 401
    assert token not in log[0]
    assert PASSWORD not in log[0]


def test_a_rolling_key_rotation_across_two_instances_rejects_no_token(
    make_project: Callable[..., Path], tmp_path: Path
) -> None:
    """The documented procedure: stage the next key, restart every instance, rotate, restart them one by
    one. While one instance signs with the new key and the other has not restarted, both accept both keys."""
    answers = {"storage": "postgresql", "token_store": "redis", "jwt_algorithm": "ES256"}
    project = Path(shutil.copytree(make_project(**answers), tmp_path / "service"))
    key = ec.generate_private_key(ec.SECP256R1())
    (project / "var" / "keys").mkdir(parents=True)
    (project / "var" / "keys" / "signing.pem").write_bytes(
        key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    )
    (project / "var" / "keys" / "id_token.pem").write_bytes(_id_token_key())
    with service_environment("postgresql", "redis") as servers:
        env = {
            **servers,
            "PYTHONPATH": str(project / "src"),
            "ENVIRONMENT": "production",
            "ISSUER": "https://auth.example",
            "SMTP_URL": NO_MAIL_SERVER,
            "TOTP_ENCRYPTION_KEYS": TEST_TOTP_KEY,
        }
        _, login = _prepare_production(project, env)

        def token_from(base_url: str) -> str:
            token: str = login(base_url).json()["access_token"]
            return token

        def accepted(base_url: str, token: str) -> bool:
            return httpx.get(f"{base_url}/protected", headers={"Authorization": f"Bearer {token}"}).status_code == 200

        with running_service(project, PACKAGE, env=env) as first:
            before = token_from(first)
        prepared = run_module(project, PACKAGE, "rotate-key", "--prepare", env=env)
        assert prepared.returncode == 0, prepared.stderr
        with running_service(project, PACKAGE, env=env) as second:  # restarted: trusts the next key
            rotated = run_module(project, PACKAGE, "rotate-key", env=env)
            assert rotated.returncode == 0, rotated.stderr
            with running_service(project, PACKAGE, env=env) as first_again:  # restarted: signs with it
                after = token_from(first_again)
                assert jwt.get_unverified_header(after)["kid"] != jwt.get_unverified_header(before)["kid"]
                for instance in (first_again, second):
                    assert accepted(instance, before), instance
                    assert accepted(instance, after), instance
