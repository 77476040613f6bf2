"""Updates across releases: oauthgen N generates, oauthgen N+1 (another virtual environment) updates.

Two wheels are built from a clone of this repository, the second after a template change and a
version bump, exactly as a release would be made. Nothing is shared with the test environment
but the pip cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.version import Version

from .support import REPO
from .support.generator import recorded_answers as _answers
from .support.generator import source_version as _version
from .support.git import clone_working_tree
from .support.git import git as _git

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("update")]

OLD_LINE = "## Try it"
NEW_LINE = "## Try it out"


@dataclass(frozen=True)
class Release:
    version: str
    oauthgen: Path
    copier: Path


@dataclass(frozen=True)
class Releases:
    old: Release
    new: Release
    home: Path

    def env(self) -> dict[str, str]:
        return {**os.environ, "HOME": str(self.home)}


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Releases]:
    root = tmp_path_factory.mktemp("releases")
    source = clone_working_tree(REPO, root / "oauthgen")
    old_version = _version(source)
    old_wheel = _build_wheel(source, root / "dist-old")

    readme = source / "template" / "README.md.jinja"
    assert OLD_LINE + "\n" in readme.read_text(encoding="utf-8")
    readme.write_text(readme.read_text(encoding="utf-8").replace(OLD_LINE + "\n", NEW_LINE + "\n"), encoding="utf-8")
    release = Version(old_version).release
    new_version = f"{release[0]}.{release[1]}.{release[2] + 1}"
    pyproject = source / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text(encoding="utf-8").replace(f'version = "{old_version}"', f'version = "{new_version}"', 1),
        encoding="utf-8",
    )
    _git(source, "commit", "-qam", f"Release {new_version}: rename a README section")
    new_wheel = _build_wheel(source, root / "dist-new")

    home = root / "home"
    home.mkdir()
    shutil.copy(Path.home() / ".gitconfig", home / ".gitconfig")
    yield Releases(
        old=_install(old_version, old_wheel, root / "venv-old"),
        new=_install(new_version, new_wheel, root / "venv-new"),
        home=home,
    )


def test_update_brings_the_template_change_and_keeps_hand_edits(releases: Releases, tmp_path: Path) -> None:
    project = _generate(releases, releases.old, tmp_path / "svc")
    routes = project / "src" / "svc" / "routes" / "protected.py"
    routes.write_text(routes.read_text(encoding="utf-8") + "\n# Our own note, kept across updates.\n")
    _git(project, "commit", "-qam", "Hand edit")

    result = _run([str(releases.new.oauthgen), "update", str(project)], releases)

    assert result.returncode == 0, result.stderr
    assert f"Updated from v{releases.old.version} to v{releases.new.version}." in result.stdout
    assert NEW_LINE + "\n" in (project / "README.md").read_text(encoding="utf-8")
    assert routes.read_text(encoding="utf-8").endswith("# Our own note, kept across updates.\n")
    assert _answers(project)["_commit"] == f"v{releases.new.version}"


def test_conflicting_edit_is_reported_and_exits_1(releases: Releases, tmp_path: Path) -> None:
    project = _generate(releases, releases.old, tmp_path / "svc")
    readme = project / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8").replace(OLD_LINE + "\n", "## Give it a go\n"))
    _git(project, "commit", "-qam", "Rename the section our way")

    result = _run([str(releases.new.oauthgen), "update", str(project)], releases)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Conflicts" in result.stdout
    assert "  README.md" in result.stdout
    text = readme.read_text(encoding="utf-8")
    assert "<<<<<<< " in text and "## Give it a go" in text and NEW_LINE in text


def test_plain_copier_update_works_on_the_generating_machine(releases: Releases, tmp_path: Path) -> None:
    project = _generate(releases, releases.old, tmp_path / "svc")
    # Installing and running the new oauthgen once is what brings its version into the store.
    assert _run([str(releases.new.oauthgen), "new", str(tmp_path / "other"), "--defaults"], releases).returncode == 0

    result = _run([str(releases.new.copier), "update", "--defaults", "--skip-answered"], releases, cwd=project)

    assert result.returncode == 0, result.stderr
    assert NEW_LINE + "\n" in (project / "README.md").read_text(encoding="utf-8")
    assert _answers(project)["_commit"] == f"v{releases.new.version}"


def test_missing_store_is_restored_by_update(releases: Releases, tmp_path: Path) -> None:
    project = _generate(releases, releases.old, tmp_path / "svc")
    store = releases.home / ".local" / "share" / "oauthgen" / "template.bundle"
    store.unlink()

    result = _run([str(releases.new.oauthgen), "update", str(project)], releases)

    assert result.returncode == 0, result.stderr
    assert store.is_file()
    assert NEW_LINE + "\n" in (project / "README.md").read_text(encoding="utf-8")


def test_a_store_removed_between_two_commands_is_made_again(releases: Releases, tmp_path: Path) -> None:
    """The second command finds its record of the last sync stale, since the store is gone."""
    _generate(releases, releases.old, tmp_path / "first")
    store = releases.home / ".local" / "share" / "oauthgen" / "template.bundle"
    store.unlink()

    project = _generate(releases, releases.old, tmp_path / "second")

    assert store.is_file()
    assert _answers(project)["_commit"] == f"v{releases.old.version}"


def test_foreign_source_path_is_explained_and_repaired(releases: Releases, tmp_path: Path) -> None:
    project = _generate(releases, releases.old, tmp_path / "svc")
    answers_file = project / ".copier-answers.yml"
    gone = "/nonexistent/elsewhere/oauthgen/template.bundle"
    answers_file.write_text(
        answers_file.read_text(encoding="utf-8").replace("~/.local/share/oauthgen/template.bundle", gone)
    )
    _git(project, "commit", "-qam", "Generated on another machine")

    result = _run([str(releases.new.oauthgen), "update", str(project)], releases)

    assert result.returncode == 0, result.stderr
    assert f"The recorded template source {gone} was gone" in result.stdout
    assert _answers(project)["_src_path"] == "~/.local/share/oauthgen/template.bundle"
    assert NEW_LINE + "\n" in (project / "README.md").read_text(encoding="utf-8")
    assert "Point the oauthgen template source" in _git(project, "log", "-1", "--format=%s", "HEAD")


def _generate(releases: Releases, release: Release, dest: Path) -> Path:
    result = _run([str(release.oauthgen), "new", str(dest), "--defaults"], releases)
    assert result.returncode == 0, result.stderr
    assert _answers(dest)["_commit"] == f"v{release.version}"
    return dest


def _build_wheel(source: Path, dist: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(dist)],
        cwd=source,
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("oauthgen-*.whl")
    return wheel


def _install(version: str, wheel: Path, where: Path) -> Release:
    venv.create(where, with_pip=True)
    subprocess.run(
        [str(where / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
        check=True,
        capture_output=True,
    )
    return Release(version, where / "bin" / "oauthgen", where / "bin" / "copier")


def _run(command: list[str], releases: Releases, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, env=releases.env(), capture_output=True, text=True, timeout=300, check=False
    )
