"""A newcomer's checkout: a project generated inside it, or any nested repository, does not break the tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .support import REPO
from .support.git import clone_working_tree, git

DEFAULT_VARIANT = "tests/test_template.py::test_variant_renders_clean[HS256-sqlite-database-0-5]"


def test_a_nested_repository_in_the_checkout_does_not_break_rendering(tmp_path: Path) -> None:
    checkout = clone_working_tree(REPO, tmp_path / "checkout")
    # What following the README used to leave behind: `oauthgen new demo`, then `git init` in it.
    nested = checkout / "demo"
    nested.mkdir()
    (nested / "README.md").write_text("a project of its own\n", encoding="utf-8")
    git(nested, "init", "-q")
    git(nested, "add", "-A")
    git(nested, "commit", "-qm", "Generate")
    (checkout / "scratch.txt").write_text("an untracked file\n", encoding="utf-8")

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", DEFAULT_VARIANT],
        cwd=checkout,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout
