"""Isolation for every test run: a private HOME, so the per-user template store, git identity
and Copier settings of the developer never leak in; and generated projects shared per session."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from oauthgen.bundle import copy_working_template, git

REPO = Path(__file__).resolve().parents[1]

# Keep pip's cache when HOME moves, so virtual-environment tests don't download again.
os.environ.setdefault("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip"))
_home = Path(tempfile.mkdtemp(prefix="oauthgen-test-home-"))
(_home / ".gitconfig").write_text(
    "[user]\n\tname = oauthgen tests\n\temail = tests@oauthgen.invalid\n"
    "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n",
    encoding="utf-8",
)
os.environ["HOME"] = str(_home)
os.environ.pop("XDG_DATA_HOME", None)
_settings = _home / "copier-settings.yml"
_settings.write_text("{}\n", encoding="utf-8")
os.environ["COPIER_SETTINGS_PATH"] = str(_settings)


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
