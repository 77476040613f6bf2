"""uv.lock: `oauthgen new` and `oauthgen update` write it, current and naming every dependency that
pyproject.toml asks for; without the package index the project is still generated, with one warning line."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from typer.testing import CliRunner
from uv import find_uv_bin

from oauthgen.bundle import git
from oauthgen.cli import app

runner = CliRunner()


def _new(project: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["new", str(project), "--defaults", *args])
    return result.exit_code, result.stderr


def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No network and an empty cache: uv cannot resolve anything."""
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-uv-cache"))


def test_new_writes_a_current_lock_of_every_dependency(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "svc"
    # As users lock: not as of the test run's start, which the other tests' locks record (tests/conftest.py).
    monkeypatch.delenv("UV_EXCLUDE_NEWER")

    code, err = _new(project, "--storage", "postgresql", "--token-store", "redis")

    assert code == 0, err
    assert "uv.lock" not in err
    checked = subprocess.run(
        [find_uv_bin(), "lock", "--check"], cwd=project, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr
    asked = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = [Requirement(text) for text in [*asked["dependencies"], *asked["optional-dependencies"]["dev"]]]
    lock = tomllib.loads((project / "uv.lock").read_text(encoding="utf-8"))
    assert "exclude-newer" not in lock.get("options", {})
    packages = {canonicalize_name(package["name"]): package for package in lock["package"]}
    # The lock records what pyproject.toml asks for, and pins a version of each.
    recorded = packages["svc"]["metadata"]["requires-dist"]
    assert {canonicalize_name(entry["name"]) for entry in recorded} == {
        canonicalize_name(requirement.name) for requirement in requirements
    }
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        assert name in packages, name
        assert requirement.specifier.contains(packages[name]["version"]), (requirement, packages[name]["version"])
    assert {"asyncpg", "redis", "pytest"} <= set(packages)
    assert "aiosqlite" not in packages


def test_without_the_package_index_new_succeeds_with_one_warning_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _offline(monkeypatch, tmp_path)
    project = tmp_path / "svc"

    code, err = _new(project)

    assert code == 0, err
    assert (project / "pyproject.toml").is_file()
    assert not (project / "uv.lock").exists()
    [warning] = err.splitlines()
    assert warning.startswith(f"warning: {project / 'uv.lock'} was not written (")
    assert f"run `uv lock` in {project}" in warning


def test_update_writes_the_lock_a_project_lacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "svc"
    with monkeypatch.context() as offline:
        _offline(offline, tmp_path)
        assert _new(project)[0] == 0  # committed by `new`, without a lock
    assert not (project / "uv.lock").exists()
    assert git(project, "status", "--porcelain") == b""

    result = runner.invoke(app, ["update", str(project)])

    assert result.exit_code == 0, result.stderr
    assert "uv.lock" in result.stdout  # among the changed files, for review
    checked = subprocess.run(
        [find_uv_bin(), "lock", "--check"], cwd=project, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr
