"""A password change or a disabled account, made by the command line in a process of its own, revokes
the user's live access tokens in a running service at once: every process learns of it through the
token store's revocation feed (a journal beside SQLite, LISTEN/NOTIFY, Redis pub/sub, polling)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from .support.servers import service_environment
from .support.services import PACKAGE, PASSWORD, eventually, password_token, run_module, running_service

VARIANTS = [
    {"storage": "sqlite", "token_store": "database"},
    {"storage": "postgresql", "token_store": "redis"},
    {"storage": "mysql", "token_store": "database"},
]


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda variant: "-".join(variant.values()))
def test_a_password_change_by_command_revokes_tokens_in_the_running_service(
    make_project: Callable[..., Path], tmp_path: Path, variant: dict[str, str]
) -> None:
    project = Path(shutil.copytree(make_project(**variant), tmp_path / "service"))
    with service_environment(variant["storage"], variant["token_store"]) as env:
        for user in ("alice", "bob"):
            created = run_module(project, PACKAGE, "create-user", user, "--password", PASSWORD, env=env)
            assert created.returncode == 0, created.stderr

        with running_service(project, PACKAGE, env=env) as base_url:
            tokens = {user: password_token(base_url, user).json()["access_token"] for user in ("alice", "bob")}

            def status(user: str) -> int:
                headers = {"Authorization": f"Bearer {tokens[user]}"}
                return httpx.get(f"{base_url}/protected", headers=headers).status_code

            assert (status("alice"), status("bob")) == (200, 200)
            changed = run_module(
                project, PACKAGE, "set-password", "alice", "--password", "a brand new passphrase", env=env
            )
            assert changed.returncode == 0, changed.stderr
            assert "revoked" in changed.stdout

            assert eventually(lambda: status("alice") == 401, seconds=10), "alice's old token still works"
            assert status("bob") == 200, "only the changed user's tokens are revoked"
            assert password_token(base_url, "alice").status_code == 400, "the old password still works"

            disabled = run_module(project, PACKAGE, "disable-user", "bob", env=env)
            assert disabled.returncode == 0, disabled.stderr
            assert eventually(lambda: status("bob") == 401, seconds=10), "a disabled user's token still works"
