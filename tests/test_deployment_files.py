"""The files a generated project ships for CI and commits: well formed, pinned, and matching the answers."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")
SERVICES = {
    ("sqlite", "database"): set(),
    ("sqlite", "redis"): {"redis"},
    ("postgresql", "database"): {"postgres"},
    ("postgresql", "redis"): {"postgres", "redis"},
    ("mysql", "database"): {"mariadb"},
    ("mysql", "redis"): {"mariadb", "redis"},
}


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


@pytest.mark.parametrize(("storage", "token_store"), list(SERVICES), ids=lambda value: str(value))
def test_the_ci_workflow_is_pinned_read_only_and_starts_the_chosen_servers(
    make_project: Callable[..., Path], storage: str, token_store: str
) -> None:
    project = make_project(storage=storage, token_store=token_store)
    path = project / ".github" / "workflows" / "ci.yml"
    workflow = _load(path)
    job = workflow["jobs"]["test"]
    steps = job["steps"]
    uses = [step["uses"] for step in steps if "uses" in step]

    assert workflow["permissions"] == {"contents": "read"}
    assert uses and all(PINNED.match(action) for action in uses), uses
    for line in path.read_text(encoding="utf-8").splitlines():
        if "uses:" in line:
            assert re.search(r"#\s*v\d+\.\d+\.\d+$", line), f"no version comment: {line}"
    checkout = next(step for step in steps if step.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["persist-credentials"] is False
    assert set(job.get("services", {})) == SERVICES[(storage, token_store)]
    commands = " ".join(step.get("run", "") for step in steps)
    for tool in ("ruff check", "ruff format --check", "mypy", "pytest"):
        assert tool in commands


def test_the_pre_commit_hooks_are_local_and_guard_against_conflict_markers(make_project: Callable[..., Path]) -> None:
    config = _load(make_project() / ".pre-commit-config.yaml")
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}

    assert [repo["repo"] for repo in config["repos"]] == ["local"], "hooks must run offline"
    assert {"ruff", "ruff-format", "mypy", "no-merge-conflict-markers"} <= set(hooks)
    marker = re.compile(hooks["no-merge-conflict-markers"]["entry"], re.MULTILINE)
    assert marker.search("x = 1\n<<<<<<< before updating\nx = 2\n=======\nx = 3\n>>>>>>> after updating\n")
    assert not marker.search("Title\n=====\n\na == b\n")
