"""Build a git bundle that holds every released version of the template as a PEP 440 tag.

Copier can only update a project from a git template whose tags name its versions, and a
checkout of oauthgen may carry no tags at all. So the versions are read from history: a
version is released at the last first-parent commit whose ``pyproject.toml`` carries it
(the next commit bumps the version). The bundle holds one commit per version with just
``copier.yml``, ``template/``, ``resource-server/`` and ``migrations/`` (the scripts copier.yml's ``_migrations`` run);
the current version is taken from the working tree, so what a build ships is what it tests.

Standard library and `packaging` only: the wheel build hook imports this module from the
source tree.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

TEMPLATE_PATHS = ("copier.yml", "template", "resource-server", "migrations")  # what a template version is made of
REQUIRED_PATHS = ("copier.yml", "template")  # what every version has; early ones had no migrations
WORKING_TREE = "WORKING-TREE"
# Variables that point git at another repository than the folder it runs in (git sets some for its
# hooks): every command here means the repository in its `cwd`, never the one a caller is in.
_ELSEWHERE = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
)
# Who oauthgen commits as when no one else is named: the bundle's commits, and a new project's first
# commit on a machine where git has no identity configured.
OAUTHGEN_NAME, OAUTHGEN_EMAIL = "oauthgen", "oauthgen@localhost"
_IDENTITY = {
    "GIT_AUTHOR_NAME": OAUTHGEN_NAME,
    "GIT_AUTHOR_EMAIL": OAUTHGEN_EMAIL,
    "GIT_COMMITTER_NAME": OAUTHGEN_NAME,
    "GIT_COMMITTER_EMAIL": OAUTHGEN_EMAIL,
}


class BundleError(Exception):
    """The template bundle cannot be built from this source tree."""


class GitError(Exception):
    """A git command failed; the message quotes the command and what git said."""


class GitMissing(GitError):
    """git itself is not installed."""

    def __init__(self) -> None:
        super().__init__("git is not installed (no `git` on PATH); oauthgen needs it for its template and projects")


def require_git() -> None:
    if shutil.which("git") is None:
        raise GitMissing


@dataclass(frozen=True)
class Release:
    version: str
    source: str  # a commit of the source repository, or WORKING_TREE
    date: str  # committer date, so the same history always gives the same commits

    @property
    def tag(self) -> str:
        return f"v{self.version}"


def git(cwd: Path, *args: str, env: dict[str, str] | None = None, stdin: bytes | None = None) -> bytes:
    inherited = {name: value for name, value in os.environ.items() if name not in _ELSEWHERE}
    try:
        result = subprocess.run(
            ["git", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", *args],
            cwd=cwd,
            env={**inherited, "GIT_TERMINAL_PROMPT": "0", **(env or {})},
            input=stdin,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        require_git()
        raise
    if result.returncode != 0:
        raise GitError(f"git {' '.join(args)} failed: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def project_version(pyproject: bytes) -> str:
    return str(tomllib.loads(pyproject.decode())["project"]["version"])


def releases(repo: Path) -> list[Release]:
    """Every released version in first-parent history, then the working tree's version."""
    found: list[Release] = []
    if _has_head(repo):
        changes = git(repo, "log", "--first-parent", "--reverse", "--format=%H", "--", "pyproject.toml").split()
        firsts: list[tuple[str, str]] = []  # (version, first commit that carries it)
        for commit in (c.decode() for c in changes):
            try:
                version = project_version(git(repo, "show", f"{commit}:pyproject.toml"))
            except (GitError, KeyError, tomllib.TOMLDecodeError):
                continue
            if not firsts or firsts[-1][0] != version:
                firsts.append((version, commit))
        for index, (version, _first) in enumerate(firsts):
            last = "HEAD" if index + 1 == len(firsts) else f"{firsts[index + 1][1]}^"
            commit = git(repo, "rev-parse", last).decode().strip()
            if _has_template(repo, commit):
                found.append(Release(version, commit, _commit_date(repo, commit)))
    current = project_version((repo / "pyproject.toml").read_bytes())
    date = found[-1].date if found else "1700000000 +0000"
    if found and found[-1].version == current:
        found[-1] = Release(current, WORKING_TREE, found[-1].date)
    else:
        found.append(Release(current, WORKING_TREE, date))
    return _increasing(found)


def build_bundle(repo: Path, destination: Path) -> list[Release]:
    """Write the bundle of every release to ``destination``; return the releases it holds."""
    wanted = releases(repo)
    with tempfile.TemporaryDirectory(prefix="oauthgen-bundle-") as scratch:
        work = Path(scratch)
        git(work, "init", "-q", "-b", "template")
        for release in wanted:
            _replace_template(work, repo, release.source)
            git(work, "add", "-A")
            dates = {"GIT_AUTHOR_DATE": release.date, "GIT_COMMITTER_DATE": release.date}
            message = f"oauthgen template {release.version}"
            git(work, "commit", "-q", "--allow-empty", "-m", message, env={**_IDENTITY, **dates})
            git(work, "tag", release.tag)
        destination.parent.mkdir(parents=True, exist_ok=True)
        git(work, "bundle", "create", "-q", str(destination.resolve()), "--tags")
    return wanted


def _increasing(found: list[Release]) -> list[Release]:
    """Keep releases whose version is a valid PEP 440 version above all before it."""
    kept: list[Release] = []
    for release in found:
        try:
            version = Version(release.version)
        except InvalidVersion:
            continue
        if not kept or version > Version(kept[-1].version):
            kept.append(release)
        elif release.source == WORKING_TREE:
            raise BundleError(f"version {release.version} is not above the released {kept[-1].version}")
    return kept


def copy_working_template(repo: Path, destination: Path) -> None:
    """Copy the template as it stands in ``repo``'s working tree: tracked files and new ones git does not
    ignore, under the template's paths only, so nothing else in the checkout (a project generated inside
    it, a nested repository) can come along."""
    listed = git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *TEMPLATE_PATHS)
    for relative in filter(None, listed.decode().split("\0")):
        origin = repo / relative
        if origin.is_file():  # a tracked file deleted in the working tree is left out
            (destination / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, destination / relative)


def _has_head(repo: Path) -> bool:
    try:
        git(repo, "rev-parse", "--verify", "-q", "HEAD")
    except GitMissing:
        raise
    except GitError:
        return False
    return True


def _has_template(repo: Path, commit: str) -> bool:
    return set(REQUIRED_PATHS) <= set(_template_paths(repo, commit))


def _template_paths(repo: Path, commit: str) -> list[str]:
    return git(repo, "ls-tree", "--name-only", commit, "--", *TEMPLATE_PATHS).decode().split()


def _commit_date(repo: Path, commit: str) -> str:
    return git(repo, "show", "-s", "--format=%ct +0000", commit).decode().strip()


def _replace_template(work: Path, repo: Path, source: str) -> None:
    for name in TEMPLATE_PATHS:
        target = work / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    if source == WORKING_TREE:
        copy_working_template(repo, work)
        return
    archive = git(repo, "archive", "--format=tar", source, "--", *_template_paths(repo, source))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(work, filter="data")
