"""A new project's git repository: `oauthgen update` applies updates as a diff to committed work, so
`new` leaves the project committed, in a repository of its own or in the one around it.

A project inside another repository's work tree (a monorepo) gets no repository of its own: a
nested repository would hide its files from the outer one. It is left for the user to commit
there, where `oauthgen update` works as well. A work tree that ignores the project's folder (a
home folder kept in git, say) does not count.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .bundle import OAUTHGEN_EMAIL, OAUTHGEN_NAME, GitError, git


@dataclass(frozen=True)
class Repository:
    """Where a new project's history lives."""

    root: Path  # the project itself, or the work tree around it
    committed: bool  # whether `new` made the repository and its first commit
    # Who the first commit names when git had no identity configured ("oauthgen <oauthgen@localhost>").
    stand_in_author: str | None = None


def enclosing_work_tree(dest: Path) -> Path | None:
    """The top of the git work tree that would hold ``dest``, unless it ignores ``dest``."""
    folder = dest.resolve()
    while not folder.exists():
        folder = folder.parent
    try:
        top = Path(git(folder, "rev-parse", "--show-toplevel").decode().strip())
    except GitError:
        return None
    relative = dest.resolve().relative_to(top).as_posix()
    if relative != "." and _ignored(top, relative + "/"):  # the slash: a pattern such as `build/` matches
        return None
    return top


def first_commit(project: Path, message: str) -> str | None:
    """Make ``project`` a git repository whose first commit holds all its files. Return the stand-in
    author's name and address when git has no identity here, or None when the user's was used."""
    git(project, "init", "-q")
    identity, stand_in = _identity_options(project)
    git(project, "add", "-A")
    # No hooks: a template directory's hooks have nothing to check in a project nobody has edited yet.
    git(project, *identity, "commit", "-q", "--no-verify", "-m", message)
    return stand_in


def _identity_options(repository: Path) -> tuple[list[str], str | None]:
    """`-c` options naming an author where git cannot tell who commits, and whom they name. A name or
    address the user did configure is kept; their global configuration is never touched."""
    try:
        git(repository, "var", "GIT_AUTHOR_IDENT")
        git(repository, "var", "GIT_COMMITTER_IDENT")
    except GitError:
        name = _configured(repository, "user.name") or OAUTHGEN_NAME
        email = _configured(repository, "user.email") or OAUTHGEN_EMAIL
        return ["-c", f"user.name={name}", "-c", f"user.email={email}"], f"{name} <{email}>"
    return [], None


def _configured(repository: Path, key: str) -> str | None:
    try:
        return git(repository, "config", "--get", key).decode().strip() or None
    except GitError:  # not set
        return None


def _ignored(top: Path, relative: str) -> bool:
    try:
        git(top, "check-ignore", "-q", "--", relative)
    except GitError:  # exit code 1: not ignored
        return False
    return True
