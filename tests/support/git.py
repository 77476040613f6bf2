"""git as the tests run it: a command that must succeed, and clones of the checkout under test."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd``; its output, or the test fails with what git said."""
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"git {' '.join(args)} failed in {cwd}:\n{result.stderr}"
    return result.stdout


def commit_count(repository: Path) -> int:
    return int(git(repository, "rev-list", "--count", "HEAD"))


def clone_working_tree(repo: Path, dest: Path) -> Path:
    """A clone of ``repo`` whose last commit is its working tree as it is now."""
    git(repo, "clone", "-q", "--no-hardlinks", str(repo), str(dest))
    listed = git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for relative in filter(None, listed):
        if (repo / relative).is_file():
            (dest / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo / relative, dest / relative)
        elif (dest / relative).exists():
            (dest / relative).unlink()
    git(dest, "add", "-A")
    if git(dest, "status", "--porcelain"):
        git(dest, "commit", "-qm", "Working tree under test")
    return dest
