"""The per-user template store (template_store.py): a bundle that only gains tags, the record that
spares a command the sync, and the path projects record. Each test has a home of its own."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from oauthgen import __version__, template_store
from oauthgen.template_store import (
    bundle_tags,
    has_revision,
    store_path,
    store_reference,
    sync_store,
    template_source,
)

from .support.git import git


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(Path.home() / ".gitconfig", home / ".gitconfig")  # the test run's git identity
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    return home


class Versions:
    """A repository of template versions, one tagged commit each, bundled as oauthgen ships them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir()
        git(root, "init", "-q")

    def release(self, tag: str, text: str | None = None) -> str:
        (self.root / "copier.yml").write_text(f"# {text or tag}\n", encoding="utf-8")
        git(self.root, "add", "-A")
        git(self.root, "commit", "-qm", tag)
        git(self.root, "tag", "-f", tag)
        return git(self.root, "rev-parse", "HEAD").strip()

    def bundle(self, name: str) -> Path:
        path = self.root.parent / name
        git(self.root, "bundle", "create", "-q", str(path), "--tags")
        return path


@pytest.fixture
def versions(tmp_path: Path) -> Versions:
    return Versions(tmp_path / "versions")


def test_the_store_lives_in_the_user_s_data_folder_and_is_recorded_under_home(home: Path) -> None:
    assert store_path() == home / ".local" / "share" / "oauthgen" / "template.bundle"
    assert store_reference(store_path()) == "~/.local/share/oauthgen/template.bundle"
    assert store_reference(Path("/srv/oauthgen/template.bundle")) == "/srv/oauthgen/template.bundle"


def test_the_first_sync_copies_the_bundle(versions: Versions) -> None:
    first = versions.release("v0.1.0")

    sync_store(versions.bundle("one.bundle"))

    assert bundle_tags(store_path()) == {"v0.1.0": first}


def test_a_sync_adds_the_tags_the_store_lacks_and_never_moves_one(versions: Versions) -> None:
    first = versions.release("v0.1.0")
    sync_store(versions.bundle("one.bundle"))
    versions.release("v0.1.0", "the same version, rebuilt differently")
    second = versions.release("v0.2.0")

    sync_store(versions.bundle("two.bundle"))

    assert bundle_tags(store_path()) == {"v0.1.0": first, "v0.2.0": second}


def test_an_older_bundle_takes_nothing_away(versions: Versions) -> None:
    first = versions.release("v0.1.0")
    older = versions.bundle("older.bundle")
    second = versions.release("v0.2.0")
    sync_store(versions.bundle("newer.bundle"))

    sync_store(older)

    assert bundle_tags(store_path()) == {"v0.1.0": first, "v0.2.0": second}


def test_a_refreshed_tag_follows_the_bundle(versions: Versions) -> None:
    """A source checkout's current version is still moving: its tag follows the working tree."""
    first = versions.release("v0.1.0")
    versions.release("v0.2.0")
    sync_store(versions.bundle("one.bundle"))
    moved = versions.release("v0.2.0", "edited in the checkout")

    sync_store(versions.bundle("two.bundle"), refresh="v0.2.0")

    assert bundle_tags(store_path()) == {"v0.1.0": first, "v0.2.0": moved}


def test_a_sync_with_nothing_new_leaves_the_store_as_it_is(versions: Versions) -> None:
    versions.release("v0.1.0")
    bundle = versions.bundle("one.bundle")
    sync_store(bundle)
    before = store_path().stat()

    sync_store(bundle)

    assert store_path().stat().st_mtime_ns == before.st_mtime_ns
    assert [path.name for path in store_path().parent.iterdir()] == ["template.bundle"], "no draft left behind"


def test_has_revision_reads_bundles_and_repositories(versions: Versions, tmp_path: Path) -> None:
    versions.release("v0.1.0")
    bundle = versions.bundle("one.bundle")
    broken = tmp_path / "broken.bundle"
    broken.write_bytes(b"not a bundle")

    assert has_revision(bundle, "v0.1.0")
    assert not has_revision(bundle, "v9.9.9")
    assert has_revision(versions.root, "v0.1.0")
    assert not has_revision(versions.root, "v9.9.9")
    assert not has_revision(tmp_path / "gone.bundle", "v0.1.0")
    assert not has_revision(broken, "v0.1.0")


def test_an_installed_bundle_is_synced_once_until_the_store_changes(
    versions: Versions, monkeypatch: pytest.MonkeyPatch
) -> None:
    versions.release(f"v{__version__}")
    packaged = versions.bundle("packaged.bundle")
    monkeypatch.setattr(template_store, "source_checkout", lambda: None)
    monkeypatch.setattr(template_store, "packaged_bundle", lambda: packaged)
    syncs: list[Path] = []
    real_sync = template_store.sync_store

    def counted_sync(bundle: Path) -> None:
        syncs.append(bundle)
        real_sync(bundle)

    monkeypatch.setattr(template_store, "sync_store", counted_sync)

    source = template_source()
    template_source()

    assert (source.src_path, source.vcs_ref) == ("~/.local/share/oauthgen/template.bundle", f"v{__version__}")
    assert syncs == [packaged]
    store_path().unlink()  # a wiped data folder

    template_source()

    assert syncs == [packaged, packaged]
    assert has_revision(store_path(), f"v{__version__}")


def test_an_install_without_its_bundle_is_refused_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from oauthgen.errors import UsageProblem

    monkeypatch.setattr(template_store, "source_checkout", lambda: None)
    monkeypatch.setattr(template_store, "packaged_bundle", lambda: tmp_path / "missing.bundle")

    with pytest.raises(UsageProblem, match=r"this oauthgen install has no template bundle .*; reinstall oauthgen"):
        template_source()
