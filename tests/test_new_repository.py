"""`oauthgen new` leaves the project committed, as `oauthgen update` needs: in a repository of its own,
or, inside another repository's work tree, for the user to commit there."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from oauthgen import __version__

from .support.generator import oauthgen
from .support.git import commit_count, git


def test_new_makes_a_repository_with_one_commit_of_every_file(tmp_path: Path) -> None:
    project = tmp_path / "demo"

    code, out, err = oauthgen("new", str(project), "--defaults")

    assert code == 0, err
    assert commit_count(project) == 1
    assert git(project, "status", "--porcelain", "--ignored") == ""
    assert git(project, "rev-parse", "--show-toplevel").strip() == str(project.resolve())
    written = {path.relative_to(project).as_posix() for path in project.rglob("*") if path.is_file()}
    assert set(git(project, "ls-files").splitlines()) == {name for name in written if not name.startswith(".git/")}
    # The identity this test run configures (conftest.py), and a message that says what made the commit.
    assert git(project, "log", "--format=%an <%ae>|%s").strip() == (
        f"oauthgen tests <tests@oauthgen.invalid>|Generate demo with oauthgen v{__version__}"
    )
    assert "git has no identity" not in out


def test_no_git_leaves_the_files_alone_and_says_what_update_needs(tmp_path: Path) -> None:
    project = tmp_path / "demo"

    code, out, err = oauthgen("new", str(project), "--defaults", "--no-git")

    assert code == 0, err
    assert not (project / ".git").exists()
    assert "(no git repository: `oauthgen update` needs the project committed in one).\n" in out
    assert "git add" not in out
    assert oauthgen("update", str(project))[0] == 2


@pytest.mark.parametrize(
    ("configured", "author"),
    [
        ("", "oauthgen <oauthgen@localhost>"),
        ("\tname = Ada Lovelace\n", "Ada Lovelace <oauthgen@localhost>"),  # a configured name is kept
    ],
    ids=["nothing", "a name only"],
)
def test_without_a_git_identity_the_first_commit_names_a_stand_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, configured: str, author: str
) -> None:
    # useConfigOnly: git must not guess an address from the host name, as it may on some machines.
    config = tmp_path / "gitconfig"
    config.write_text(f"[user]\n\tuseConfigOnly = true\n{configured}", encoding="utf-8")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for variable in ("EMAIL", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(variable, raising=False)
    assert subprocess.run(["git", "var", "GIT_AUTHOR_IDENT"], cwd=tmp_path, capture_output=True).returncode != 0
    project = tmp_path / "demo"

    code, out, err = oauthgen("new", str(project), "--defaults")

    assert code == 0, err
    assert git(project, "log", "--format=%an <%ae>|%cn <%ce>").strip() == f"{author}|{author}"
    assert f"git has no identity here: the first commit names {author} (set user.name and user.email" in out
    assert config.read_text(encoding="utf-8") == f"[user]\n\tuseConfigOnly = true\n{configured}", "left alone"
    assert git(project, "config", "--local", "--list").count("user.") == 0, "nor written into the project"


def test_inside_another_work_tree_the_project_is_left_to_commit_there_and_then_updates(tmp_path: Path) -> None:
    monorepo = tmp_path / "monorepo"
    monorepo.mkdir()
    git(monorepo, "init", "-q")
    (monorepo / "README.md").write_text("services\n", encoding="utf-8")
    (monorepo / "staged.txt").write_text("someone's work in progress\n", encoding="utf-8")
    git(monorepo, "add", "README.md")
    git(monorepo, "commit", "-qm", "Start")
    git(monorepo, "add", "staged.txt")
    project = monorepo / "services" / "billing"

    code, out, err = oauthgen("new", str(project), "--defaults")

    assert code == 0, err
    assert not (project / ".git").exists(), "no repository nested in another"
    assert commit_count(monorepo) == 1
    assert f", inside the git repository at {monorepo.resolve()}: commit them there.\n" in out
    (step,) = [line.strip() for line in out.splitlines() if "git commit" in line]
    # The step the output gives, as the user runs it from the project: it commits the project alone.
    subprocess.run(step.split("   #")[0], shell=True, cwd=project, check=True, capture_output=True)
    assert git(monorepo, "status", "--porcelain") == "A  staged.txt\n"
    git(monorepo, "reset", "-q", "staged.txt")

    code, out, err = oauthgen("update", str(project))

    assert code == 0, err
    assert "Nothing changed." in out


def test_a_work_tree_that_ignores_the_folder_does_not_count(tmp_path: Path) -> None:
    """Such as a home folder kept in git that ignores everything it does not list."""
    home = tmp_path / "home"
    home.mkdir()
    git(home, "init", "-q")
    (home / ".gitignore").write_text("/*\n!/.gitignore\n", encoding="utf-8")
    git(home, "add", ".gitignore")
    git(home, "commit", "-qm", "Dotfiles")
    project = home / "code" / "billing"

    code, out, err = oauthgen("new", str(project), "--defaults")

    assert code == 0, err
    assert commit_count(project) == 1
    assert git(project, "rev-parse", "--show-toplevel").strip() == str(project.resolve())
    assert commit_count(home) == 1
    assert " and committed them in a new git repository.\n" in out


def test_an_existing_repository_given_with_force_keeps_its_history_untouched(tmp_path: Path) -> None:
    project = tmp_path / "billing"
    project.mkdir()
    git(project, "init", "-q")
    (project / "NOTES.md").write_text("plans\n", encoding="utf-8")
    git(project, "add", "NOTES.md")
    git(project, "commit", "-qm", "Plans")

    code, out, err = oauthgen("new", str(project), "--defaults", "--force")

    assert code == 0, err
    assert commit_count(project) == 1
    assert f", inside the git repository at {project.resolve()}: commit them there.\n" in out


def test_a_git_hook_s_repository_variables_do_not_leak_into_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """git sets GIT_DIR and GIT_INDEX_FILE for its hooks: a hook that runs `oauthgen new` must not
    commit the project into the repository whose hook it is."""
    outer = tmp_path / "outer"
    outer.mkdir()
    git(outer, "init", "-q")
    git(outer, "commit", "-q", "--allow-empty", "-m", "Outer")
    monkeypatch.setenv("GIT_DIR", str(outer / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(outer / ".git" / "index"))
    project = tmp_path / "demo"

    code, _, err = oauthgen("new", str(project), "--defaults")

    monkeypatch.delenv("GIT_DIR")
    monkeypatch.delenv("GIT_INDEX_FILE")
    assert code == 0, err
    assert commit_count(project) == 1
    assert commit_count(outer) == 1
    assert git(outer, "ls-files") == ""
