"""Isolation for every test run: a private HOME, so the per-user template store, git identity and
Copier settings of the developer never leak in, and one instant that every uv.lock resolves as of (set up
in `pytest_configure`, removed in `pytest_unconfigure`); and generated projects shared per session."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from oauthgen.bundle import copy_working_template

from .support import REPO
from .support.git import git

pytest_plugins = ("tests.support.browser",)  # the `browser` and `page` fixtures

# What `pytest_configure` replaces in os.environ, and `pytest_unconfigure` puts back.
_ISOLATED = ("HOME", "XDG_DATA_HOME", "COPIER_SETTINGS_PATH", "PIP_CACHE_DIR", "UV_EXCLUDE_NEWER")
_saved: dict[str, str | None] = {}
_home: Path | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _home
    _saved.update({name: os.environ.get(name) for name in _ISOLATED})
    # Keep pip's cache when HOME moves, so virtual-environment tests don't download again.
    os.environ.setdefault("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip"))
    # Every uv.lock of the run resolves as of its start: a project locked minutes after another must not
    # differ from it by a dependency released in between. An instant, whatever the developer's own setting
    # (a span such as "7 days" would move during the run); the workers keep the controller's.
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ["UV_EXCLUDE_NEWER"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    _home = Path(tempfile.mkdtemp(prefix="oauthgen-test-home-"))
    (_home / ".gitconfig").write_text(
        "[user]\n\tname = oauthgen tests\n\temail = tests@oauthgen.invalid\n"
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n",
        encoding="utf-8",
    )
    (_home / "copier-settings.yml").write_text("{}\n", encoding="utf-8")
    os.environ["HOME"] = str(_home)
    os.environ.pop("XDG_DATA_HOME", None)
    os.environ["COPIER_SETTINGS_PATH"] = str(_home / "copier-settings.yml")


# The tests that run a generated project's whole suite or build an image, minutes each: run first, so that
# the other tests fill in around them and no worker is left alone with one of them at the end.
LONGEST = (
    "tests/test_storage.py::test_own_test_suite_passes_against_the_real_server",
    "tests/test_generated_project.py::test_own_test_suite_passes",
    "tests/test_generated_project.py::test_readme_commands_install_run_and_test_in_a_fresh_venv",
    "tests/test_container.py::",
    "tests/test_resource_server.py::test_rotations_and_an_outage_of_the_issuer_need_no_restart",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(LONGEST))


def pytest_runtest_setup(item: pytest.Item) -> None:
    # pytest-xdist puts a test's group into its node id. Without it, a module's image, wheels or services are
    # made again on every worker: fail rather than go on slower (pytest 9.2 with pytest-xdist 3.8 loses them).
    grouping = getattr(item.config.option, "loadgroup", False)  # set on the workers of a `--dist loadgroup` run
    nodeid = item.nodeid  # pytest-xdist's own test: an "@" after any parameters' "]"
    if grouping and item.get_closest_marker("xdist_group") and nodeid.rfind("@") <= nodeid.rfind("]"):
        pytest.fail("pytest-xdist lost this test's xdist_group: its module's set-up would run on every worker")


def pytest_unconfigure(config: pytest.Config) -> None:
    for name, value in _saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    if _home is not None:
        shutil.rmtree(_home, ignore_errors=True)


@pytest.fixture(scope="session")
def template_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template as it stands in this checkout, committed alone in a repository of its own: what the
    bundle builder takes, never the whole dirty checkout, whose nested repositories or generated projects
    Copier would otherwise try to commit with it."""
    snapshot = tmp_path_factory.mktemp("template-snapshot")
    copy_working_template(REPO, snapshot)
    git(snapshot, "init", "-q")
    git(snapshot, "add", "-A")
    git(snapshot, "commit", "-q", "-m", "The template as it stands in the checkout")
    return snapshot


@pytest.fixture(scope="session")
def make_project(copie_session: Any, template_snapshot: Path) -> Callable[..., Path]:
    """Render the template (pytest-copie) once per distinct set of answers in this session."""
    rendered: dict[tuple[tuple[str, Any], ...], Path] = {}

    def make(**answers: Any) -> Path:
        key = tuple(sorted(answers.items()))
        if key not in rendered:
            result = copie_session.copy(extra_answers=answers, template_dir=template_snapshot)
            assert result.exit_code == 0, result.exception
            rendered[key] = Path(result.project_dir)
        return rendered[key]

    return make
