"""Modules the template moved to another place: on update, a user's edit to one follows it there, never dropped.

Copier deletes a file the new template no longer renders, edited or not. For the files listed here
`oauthgen update` keeps what was committed before the update, renders the version the project was made
from (the common ancestor), and merges the user's edit into the file's new place with `git merge-file`;
where both changed the same lines, the new place is left with conflict markers, reported like any other.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# Old place -> new place, both under src/PACKAGE/; a path ending in "/" moves a folder with its contents.
MOVED = {
    "account_changes.py": "accounts/account_changes.py",
    "casefold.py": "accounts/casefold.py",
    "common_passwords.LICENSE.txt": "accounts/common_passwords.LICENSE.txt",
    "common_passwords.txt": "accounts/common_passwords.txt",
    "device_cookies.py": "accounts/device_cookies.py",
    "login_attempts.py": "accounts/login_attempts.py",
    "logins.py": "accounts/logins.py",
    "password_policy.py": "accounts/password_policy.py",
    "passwords.py": "accounts/passwords.py",
    "profiles.py": "accounts/profiles.py",
    "users.py": "accounts/users.py",
    "authorization_codes.py": "oauth/authorization_codes.py",
    "client_auth.py": "oauth/client_auth.py",
    "clients.py": "oauth/clients.py",
    "consents.py": "oauth/consents.py",
    "grants/": "oauth/grants/",
    "pkce.py": "oauth/pkce.py",
    "redirect_uris.py": "oauth/redirect_uris.py",
    "scopes.py": "oauth/scopes.py",
    "access_log.py": "observability/access_log.py",
    "request_logging.py": "observability/request_logging.py",
    "database.py": "storage/database.py",
    "migrations/": "storage/migrations/",
    "models.py": "storage/models.py",
    "store_keys.py": "storage/record_keys.py",
    "revocation_feed.py": "storage/revocation_feed.py",
    "revocation_mirror.py": "storage/revocation_mirror.py",
    "schema.py": "storage/schema.py",
    "token_store.py": "storage/token_store.py",
    "tokens.py": "tokens/access_tokens.py",
    "id_token_keys.py": "tokens/id_token_keys.py",
    "id_tokens.py": "tokens/id_tokens.py",
    "keys.py": "tokens/signing_keys.py",
    "refresh_tokens.py": "tokens/refresh_tokens.py",
    "retired_keys.py": "tokens/retired_keys.py",
    "revocation.py": "tokens/revocation.py",
    "verified_tokens.py": "tokens/verified_tokens.py",
    "pages.py": "web/pages.py",
    "security_headers.py": "web/security_headers.py",
    "sign_ins.py": "web/sign_ins.py",
    "templates/": "web/templates/",
}


@dataclass(frozen=True)
class Carried:
    """A user's edit to a moved file, merged into its new place (with conflict markers when it clashed)."""

    old: str
    new: str
    clean: bool


def new_place(package_dir: str, relative: str, moved: Mapping[str, str] = MOVED) -> str | None:
    """Where the file at ``relative`` (from the project root) lives in the new layout, if it moved."""
    prefix = f"{package_dir}/"
    if not relative.startswith(prefix):
        return None
    inside = relative.removeprefix(prefix)
    for old, new in moved.items():
        if inside == old or (old.endswith("/") and inside.startswith(old)):
            return prefix + new + inside.removeprefix(old)
    return None


def committed_moved_files(project: Path, package: str) -> dict[str, bytes]:
    """The files of ``project`` at a place the template moved away from, with their content."""
    package_dir = f"src/{package}"
    root = project / package_dir
    if not root.is_dir():
        return {}
    found = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(project).as_posix()
        if path.is_file() and "__pycache__" not in path.parts and new_place(package_dir, relative) is not None:
            found[relative] = path.read_bytes()
    return found


@contextmanager
def moves_followed(
    project: Path, package: str, src_path: str, old_ref: str, answers_file: str
) -> Iterator[list[Carried]]:
    """Around an update of ``project`` from template version ``old_ref``: afterwards, each edit to a
    moved file is merged into its new place, and the list yielded names them."""
    before = committed_moved_files(project, package)
    carried: list[Carried] = []
    with tempfile.TemporaryDirectory(prefix="oauthgen-ancestor-") as scratch:
        ancestor = Path(scratch)
        if before:
            _render_version(src_path, old_ref, project / answers_file, ancestor)
        yield carried
        carried.extend(carry_edits(project, package, before, ancestor))


def carry_edits(project: Path, package: str, before: dict[str, bytes], ancestor: Path) -> list[Carried]:
    """Merge each edited file of ``before`` (the project before the update) into its new place.

    ``ancestor`` is the project's own template version rendered afresh: a file equal to its rendering
    there was not edited, and the template's version in the new place stands alone.
    """
    package_dir = f"src/{package}"
    carried = []
    for old, mine in before.items():
        new = new_place(package_dir, old)
        stale, base = project / old, ancestor / old
        if new is None:
            continue
        # Copier deletes a file the template moved, and in some cases brings it back: the new place is the only one.
        stale.unlink(missing_ok=True)
        if base.is_file() and mine == base.read_bytes():
            continue
        target = project / new
        if not target.is_file() or not base.is_file():
            stale.write_bytes(mine)  # nothing to merge with: the user's file stays where it was
            continue
        carried.append(Carried(old, new, clean=_merge_into(target, base, mine, old, new)))
    for old in MOVED:
        if old.endswith("/"):
            _remove_if_only_bytecode(project / package_dir / old)
    return carried


def _merge_into(target: Path, base: Path, mine: bytes, old: str, new: str) -> bool:
    """Three-way merge of ``mine`` into ``target``, ``base`` their ancestor; False when conflicts are marked."""
    with tempfile.NamedTemporaryFile(prefix="oauthgen-yours-") as yours:
        yours.write(mine)
        yours.flush()
        labels = [f"{new} (template)", f"{old} (before the update)", f"{old} (yours)"]
        merged = subprocess.run(
            [
                "git",
                "merge-file",
                "-p",
                *(arg for label in labels for arg in ("-L", label)),
                str(target),
                str(base),
                yours.name,
            ],
            capture_output=True,
            check=False,
        )
    if not 0 <= merged.returncode <= 127:
        raise RuntimeError(f"git merge-file failed on {old}: {merged.stderr.decode(errors='replace').strip()}")
    target.write_bytes(merged.stdout)
    return merged.returncode == 0


def _render_version(src_path: str, vcs_ref: str, answers: Path, into: Path) -> None:
    """Render template version ``vcs_ref`` with the recorded ``answers`` into ``into``."""
    from copier import run_copy

    shutil.copyfile(answers, into / answers.name)
    run_copy(src_path, into, vcs_ref=vcs_ref, defaults=True, quiet=True, overwrite=True)


def _remove_if_only_bytecode(folder: Path) -> None:
    """Remove a moved folder that holds nothing but empty folders and bytecode caches."""
    if folder.is_dir() and all(path.is_dir() or "__pycache__" in path.parts for path in folder.rglob("*")):
        shutil.rmtree(folder)
