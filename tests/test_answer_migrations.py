"""A question renamed between two releases strands no project: copier.yml's `_migrations` carry the answer over.

Release N is a clone of this repository as it stands; release N+1 renames `author_name` to `author` in
copier.yml and the template and bumps the version. Each runs as oauthgen from that clone's source tree, in a
home of its own, so the template store holds exactly these two versions.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version

from .support import REPO
from .support.generator import QUESTIONS, recorded_answers, source_version
from .support.git import clone_working_tree, git

OLD_KEY, NEW_KEY = "author_name", "author"
AUTHOR = "Ada Lovelace"
DEFAULT_AUTHOR = QUESTIONS[OLD_KEY]["default"]


class Oauthgen:
    """oauthgen run from a source tree, with a home (and so a template store) of its own."""

    def __init__(self, source: Path, home: Path) -> None:
        self.source = source
        self.home = home

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "HOME": str(self.home), "PYTHONPATH": str(self.source / "src")}
        return subprocess.run(
            [sys.executable, "-m", "oauthgen", *args], env=env, capture_output=True, text=True, timeout=300, check=False
        )


@pytest.fixture
def release_n(tmp_path: Path) -> Oauthgen:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(Path.home() / ".gitconfig", home / ".gitconfig")
    return Oauthgen(clone_working_tree(REPO, tmp_path / "oauthgen"), home)


def test_renamed_question_keeps_the_answer_across_an_update(release_n: Oauthgen, tmp_path: Path) -> None:
    kept = _generate(release_n, tmp_path / "kept" / "svc")
    lost = _generate(release_n, tmp_path / "lost" / "svc")
    version = _release_renaming_the_question(release_n.source)

    # Without a migration, the update cannot know the old answer: the new question takes its default.
    without = release_n("update", str(lost))
    assert without.returncode == 0, without.stderr
    assert recorded_answers(lost)[NEW_KEY] == DEFAULT_AUTHOR

    _add_migration(release_n.source, version)
    result = release_n("update", str(kept))

    assert result.returncode == 0, result.stderr
    assert f"to v{version}." in result.stdout
    assert f"  {NEW_KEY}: (none) -> {AUTHOR}\n" in result.stdout
    answers = recorded_answers(kept)
    assert answers[NEW_KEY] == AUTHOR
    assert OLD_KEY not in answers
    assert answers["_commit"] == f"v{version}"
    assert f'authors = [{{ name = "{AUTHOR}"' in (kept / "pyproject.toml").read_text(encoding="utf-8")
    assert git(kept, "status", "--porcelain") == " M .copier-answers.yml\n", "only the answer's key changed"


def test_rename_answer_script_renames_only_that_key(tmp_path: Path) -> None:
    answers = tmp_path / ".copier-answers.yml"
    text = f"_commit: v1.0.0\n{OLD_KEY}: {AUTHOR}\n{OLD_KEY}_suffix: other\nfolded: >-\n  {OLD_KEY}: in a value\n"
    answers.write_text(text, encoding="utf-8")

    _rename(tmp_path, OLD_KEY, NEW_KEY)

    expected = text.replace(f"{OLD_KEY}: {AUTHOR}", f"{NEW_KEY}: {AUTHOR}")
    assert answers.read_text(encoding="utf-8") == expected
    _rename(tmp_path, OLD_KEY, NEW_KEY)  # a second run (a later update) changes nothing
    assert answers.read_text(encoding="utf-8") == expected
    assert _rename(tmp_path, "not a key", NEW_KEY, check=False).returncode == 2


def _generate(oauthgen: Oauthgen, dest: Path) -> Path:
    result = oauthgen("new", str(dest), "--defaults", "-d", f"{OLD_KEY}={AUTHOR}")
    assert result.returncode == 0, result.stderr  # and committed, in a repository of its own
    return dest


def _release_renaming_the_question(source: Path) -> str:
    """Rename the question everywhere in the template and bump the version: release N+1, uncommitted."""
    pattern = re.compile(rf"\b{OLD_KEY}\b")
    renamed = []
    for path in [source / "copier.yml", *(source / "template").rglob("*.jinja")]:
        text = path.read_text(encoding="utf-8")
        if pattern.search(text):
            path.write_text(pattern.sub(NEW_KEY, text), encoding="utf-8")
            renamed.append(path)
    assert len(renamed) >= 2, "the question and at least one use of it"
    pyproject = source / "pyproject.toml"
    old = source_version(source)
    release = Version(old).release
    new = f"{release[0]}.{release[1]}.{release[2] + 1}"
    pyproject.write_text(
        pyproject.read_text(encoding="utf-8").replace(f'version = "{old}"', f'version = "{new}"', 1), encoding="utf-8"
    )
    return new


def _add_migration(source: Path, version: str) -> None:
    """The `_migrations` entry copier.yml's comments tell a release that renames a question to add."""
    copier_yml = source / "copier.yml"
    entry = (
        "_migrations:\n"
        f"  - version: v{version}\n"
        "    when: \"{{ _stage == 'before' }}\"\n"
        '    command: ["{{ _copier_python }}", "{{ _copier_conf.src_path }}/migrations/rename_answer.py", '
        f"{OLD_KEY}, {NEW_KEY}]\n"
    )
    text = copier_yml.read_text(encoding="utf-8")
    assert "\n_migrations: []\n" in text
    copier_yml.write_text(text.replace("\n_migrations: []\n", "\n" + entry), encoding="utf-8")


def _rename(folder: Path, old: str, new: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "migrations" / "rename_answer.py"), old, new],
        cwd=folder,
        capture_output=True,
        text=True,
        check=check,
    )
