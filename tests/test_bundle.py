"""The release bundle (bundle.py), on small source repositories made here: which versions history
releases, what each tag holds, and what the working tree contributes."""

from __future__ import annotations

from pathlib import Path

import pytest

from oauthgen.bundle import (
    WORKING_TREE,
    BundleError,
    GitError,
    GitMissing,
    build_bundle,
    copy_working_template,
    git,
    releases,
)

from .support.git import git as run_git


class Source:
    """A small oauthgen source repository: pyproject.toml, copier.yml, template/ and a README."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir()
        run_git(root, "init", "-q")
        (root / "README.md").write_text("oauthgen\n", encoding="utf-8")

    def write(self, version: str, greeting: str | None = None) -> None:
        (self.root / "pyproject.toml").write_text(f'[project]\nname = "oauthgen"\nversion = "{version}"\n')
        if greeting is not None:
            (self.root / "copier.yml").write_text("_subdirectory: template\n", encoding="utf-8")
            (self.root / "template").mkdir(exist_ok=True)
            (self.root / "template" / "README.md").write_text(greeting + "\n", encoding="utf-8")

    def commit(self, version: str, greeting: str | None = None) -> str:
        self.write(version, greeting)
        run_git(self.root, "add", "-A")
        run_git(self.root, "commit", "-qm", f"{version}: {greeting}")
        return run_git(self.root, "rev-parse", "HEAD").strip()


@pytest.fixture
def source(tmp_path: Path) -> Source:
    return Source(tmp_path / "oauthgen")


def test_a_version_is_released_at_the_last_commit_that_carries_it(source: Source) -> None:
    source.commit("0.1.0", "hello")
    first = source.commit("0.1.0", "hello again")
    source.commit("0.2.0", "hi")
    second = source.commit("0.2.0", "hi again")
    source.write("0.3.0", "hey")  # the working tree: the version being made

    found = releases(source.root)

    assert [(release.version, release.source) for release in found] == [
        ("0.1.0", first),
        ("0.2.0", second),
        ("0.3.0", WORKING_TREE),
    ]
    assert [release.tag for release in found] == ["v0.1.0", "v0.2.0", "v0.3.0"]


def test_the_working_tree_stands_for_the_version_it_still_carries(source: Source) -> None:
    released = source.commit("0.1.0", "hello")
    source.commit("0.2.0", "hi")
    source.write("0.2.0", "hi, edited")

    assert [(release.version, release.source) for release in releases(source.root)] == [
        ("0.1.0", released),
        ("0.2.0", WORKING_TREE),
    ]


def test_versions_without_a_template_or_out_of_order_are_left_out(source: Source) -> None:
    source.commit("0.0.1")  # before the template existed
    source.commit("not a version", "hello")
    released = source.commit("0.2.0", "hi")
    source.commit("0.1.5", "a branch merged back with an older number")
    source.write("0.3.0")

    assert [(release.version, release.source) for release in releases(source.root)] == [
        ("0.2.0", released),
        ("0.3.0", WORKING_TREE),
    ]


def test_a_working_tree_below_the_last_release_is_refused(source: Source) -> None:
    source.commit("0.2.0", "hi")
    source.write("0.1.0")

    with pytest.raises(BundleError, match=r"version 0\.1\.0 is not above the released 0\.2\.0"):
        releases(source.root)


def test_a_repository_without_commits_releases_its_working_tree(source: Source) -> None:
    source.write("0.1.0", "hello")

    assert [(release.version, release.source) for release in releases(source.root)] == [("0.1.0", WORKING_TREE)]


def test_the_bundle_holds_one_tag_per_version_with_the_template_alone(source: Source, tmp_path: Path) -> None:
    source.commit("0.1.0", "hello")
    source.commit("0.2.0", "hi")
    source.write("0.3.0", "hey")
    (source.root / "template" / "NEW.md").write_text("not committed yet\n", encoding="utf-8")
    bundle = tmp_path / "out" / "template.bundle"

    built = build_bundle(source.root, bundle)

    clone = tmp_path / "clone"
    run_git(tmp_path, "clone", "-q", str(bundle), str(clone))
    assert (
        run_git(clone, "tag", "--list").split() == [release.tag for release in built] == ["v0.1.0", "v0.2.0", "v0.3.0"]
    )
    for tag, greeting in (("v0.1.0", "hello"), ("v0.2.0", "hi"), ("v0.3.0", "hey")):
        assert run_git(clone, "ls-tree", "-r", "--name-only", tag).split() == (
            ["copier.yml", "template/NEW.md", "template/README.md"]
            if tag == "v0.3.0"
            else ["copier.yml", "template/README.md"]
        )
        assert run_git(clone, "show", f"{tag}:template/README.md") == greeting + "\n"


def test_the_same_history_always_gives_the_same_bundle_commits(source: Source, tmp_path: Path) -> None:
    source.commit("0.1.0", "hello")
    source.write("0.2.0", "hi")

    tags = []
    for name in ("one", "two"):
        build_bundle(source.root, tmp_path / name / "template.bundle")
        tags.append(run_git(tmp_path, "bundle", "list-heads", str(tmp_path / name / "template.bundle")))

    assert tags[0] == tags[1]


def test_the_working_template_is_what_git_would_commit_under_the_template_paths(source: Source, tmp_path: Path) -> None:
    source.commit("0.1.0", "hello")
    (source.root / ".gitignore").write_text("*.pyc\n", encoding="utf-8")
    (source.root / "template" / "cache.pyc").write_bytes(b"ignored")
    (source.root / "template" / "added.md").write_text("untracked, not ignored\n", encoding="utf-8")
    (source.root / "template" / "README.md").unlink()  # tracked, deleted in the working tree
    (source.root / "demo").mkdir()  # a project generated inside the checkout
    (source.root / "demo" / "main.py").write_text("", encoding="utf-8")
    copy = tmp_path / "copy"
    copy.mkdir()

    copy_working_template(source.root, copy)

    assert sorted(path.relative_to(copy).as_posix() for path in copy.rglob("*") if path.is_file()) == [
        "copier.yml",
        "template/added.md",
    ]


def test_git_failures_quote_the_command_and_what_git_said(tmp_path: Path) -> None:
    with pytest.raises(GitError, match=r"^git rev-parse --verify -q nothing failed: "):
        git(tmp_path, "rev-parse", "--verify", "-q", "nothing")


def test_without_git_the_error_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(GitMissing, match="git is not installed"):
        git(tmp_path, "status")


def test_a_missing_folder_is_not_a_missing_git(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        git(tmp_path / "nowhere", "status")


def test_git_runs_in_its_folder_even_inside_a_git_hook(source: Source, monkeypatch: pytest.MonkeyPatch) -> None:
    """git points its hooks at their repository with GIT_DIR and GIT_INDEX_FILE; oauthgen's own git
    commands mean the repository they run in."""
    source.commit("0.1.0", "hello")
    elsewhere = source.root.parent / "elsewhere"
    elsewhere.mkdir()
    run_git(elsewhere, "init", "-q")
    monkeypatch.setenv("GIT_DIR", str(elsewhere / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(elsewhere / ".git" / "index"))

    assert git(source.root, "ls-files").decode().split() == [
        "README.md",
        "copier.yml",
        "pyproject.toml",
        "template/README.md",
    ]
