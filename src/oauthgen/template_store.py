"""The per-user template store: where the template comes from, in a way that keeps projects updatable.

Projects record ``_src_path`` and ``_commit``. Both must stay valid when oauthgen is upgraded
or reinstalled into another virtual environment, so projects never point into site-packages:
every template version oauthgen has shipped is gathered in one git bundle per user
(``~/.local/share/oauthgen/template.bundle`` on Linux) that only ever gains tags. An installed
wheel brings its versions in a git bundle; a source checkout builds that bundle from its own
history and working tree.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from importlib import resources
from pathlib import Path

import platformdirs

from . import __version__
from .bundle import BundleError, GitError, build_bundle, git
from .errors import UsageProblem

PACKAGED = "_template"
STORE_NAME = "template.bundle"


@dataclass(frozen=True)
class TemplateSource:
    src_path: str  # what projects record as _src_path
    vcs_ref: str  # the tag of the installed version


def source_checkout() -> Path | None:
    """The repository root when oauthgen runs from a source checkout."""
    root = Path(__file__).resolve().parents[2]
    if (root / "copier.yml").is_file() and (root / "template").is_dir() and (root / ".git").exists():
        return root
    return None


def copier_yml() -> Path:
    """The installed version's questions file."""
    root = source_checkout()
    if root is not None:
        return root / "copier.yml"
    return Path(str(resources.files("oauthgen") / PACKAGED / "copier.yml"))


def store_path() -> Path:
    return platformdirs.user_data_path("oauthgen") / STORE_NAME


def store_reference(path: Path) -> str:
    """The store's path as projects record it: under ``~`` when possible, so it survives a change of user."""
    try:
        return "~/" + path.relative_to(Path.home()).as_posix()
    except ValueError:
        return str(path)


def template_source() -> TemplateSource:
    """Make sure the store holds this oauthgen's template versions, and say where it is."""
    root = source_checkout()
    if root is not None:
        with tempfile.TemporaryDirectory(prefix="oauthgen-") as scratch:
            bundle = Path(scratch) / "template.bundle"
            try:
                tag = build_bundle(root, bundle)[-1].tag
            except (BundleError, GitError) as exc:
                raise UsageProblem(f"cannot build the template from {root}: {exc}") from None
            # A checkout's current version is still moving: its tag follows the working tree.
            sync_store(bundle, refresh=tag)
        return TemplateSource(store_reference(store_path()), tag)
    packaged = packaged_bundle()
    if not packaged.is_file():
        raise UsageProblem(f"this oauthgen install has no template bundle ({packaged}); reinstall oauthgen")
    if not _synced_before(packaged):
        sync_store(packaged)
        _remember_sync(packaged)
    return TemplateSource(store_reference(store_path()), f"v{__version__}")


def packaged_bundle() -> Path:
    """The bundle of template versions an installed wheel ships (hatch_build.py puts it there)."""
    return Path(str(resources.files("oauthgen") / PACKAGED / "template.bundle"))


def sync_store(bundle: Path, refresh: str | None = None) -> None:
    """Add the bundle's tags that the store lacks; existing tags never move, except ``refresh``.

    The store is itself a bundle: Copier accepts a ``~/...`` path to a bundle file (it would
    take a ``~/...repo.git`` path for a remote URL), and a bundle is replaced atomically.
    """
    store = store_path()
    offered = bundle_tags(bundle)
    if not store.is_file():
        store.parent.mkdir(parents=True, exist_ok=True)
        _replace(store, partial(shutil.copyfile, bundle))
        return
    present = bundle_tags(store)
    wanted = [f"refs/tags/{tag}:refs/tags/{tag}" for tag in offered if tag not in present]
    if refresh is not None and refresh in present and present[refresh] != offered.get(refresh):
        wanted.append(f"+refs/tags/{refresh}:refs/tags/{refresh}")
    if not wanted:
        return

    def merge(draft: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="oauthgen-store-") as scratch:
            repository = Path(scratch)
            git(repository, "init", "-q", "--bare")
            git(repository, "fetch", "-q", "--no-tags", str(store), "refs/tags/*:refs/tags/*")
            git(repository, "fetch", "-q", "--no-tags", str(bundle), *wanted)
            git(repository, "bundle", "create", "-q", str(draft), "--tags")

    _replace(store, merge)


def _sync_marker() -> Path:
    return store_path().with_name(STORE_NAME + ".synced")


def _identity(bundle: Path) -> str:
    """This oauthgen's version and bundle, and the store as it is now: any change shows here. (The
    version counts because reproducible wheels give every release's files the same mtime.)"""
    store = store_path().stat()
    packaged = bundle.stat()
    return f"{__version__} {bundle} {packaged.st_size} {packaged.st_mtime_ns} {store.st_size} {store.st_mtime_ns}\n"


def _synced_before(bundle: Path) -> bool:
    """Whether this installed bundle was merged into the store as it stands: then each command is
    spared the two `git bundle list-heads` runs that would find nothing to add."""
    try:
        return _sync_marker().read_text(encoding="utf-8") == _identity(bundle)
    except OSError:
        return False


def _remember_sync(bundle: Path) -> None:
    _replace(_sync_marker(), lambda draft: draft.write_text(_identity(bundle), encoding="utf-8"))


def bundle_tags(bundle: Path) -> dict[str, str]:
    return _tags(git(bundle.parent, "bundle", "list-heads", str(bundle)))


def has_revision(source: Path, revision: str) -> bool:
    """Whether a recorded template source (a bundle or a repository) still holds ``revision``."""
    if not source.exists():
        return False
    if source.is_file():
        try:
            return revision in bundle_tags(source)
        except GitError:
            return False
    try:
        git(source, "rev-parse", "--verify", "-q", f"{revision}^{{commit}}")
    except GitError:
        return False
    return True


def _replace(target: Path, write: Callable[[Path], object]) -> None:
    """Write next to ``target`` and rename over it, so readers never see half a file."""
    draft = target.with_name(f".{target.name}.{os.getpid()}")
    try:
        write(draft)
        os.replace(draft, target)
    finally:
        draft.unlink(missing_ok=True)


def _tags(listing: bytes) -> dict[str, str]:
    tags: dict[str, str] = {}
    for line in listing.decode().splitlines():
        sha, _, ref = line.partition(" ")
        if ref.startswith("refs/tags/"):
            tags[ref.removeprefix("refs/tags/")] = sha
    return tags
