"""Building and running images with podman on this machine kind, where no image registry answers:
a Debian base made locally with debootstrap stands in for `python:*-slim`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

CONTAINER_FILES = Path(__file__).parents[1] / "container"  # the stand-in base image's build context
DEBIAN_PYTHON = "localhost/debian-python:bookworm"
SLIM_PYTHON = "localhost/oauthgen-python-slim:test"
# rlimits cannot be set here, and crun fails on these hosts' cgroups: runc works.
_CONF = Path(tempfile.mkdtemp(prefix="oauthgen-containers-")) / "containers.conf"
# podman-compose runs podman without --runtime: the configuration names runc for it.
_CONF.write_text('[containers]\ndefault_ulimits = []\n[engine]\nruntime = "runc"\n', encoding="utf-8")
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
TOOLS = ("podman", "debootstrap", "/usr/sbin/runc")
SKIP_CONTAINERS = os.environ.get("OAUTHGEN_SKIP_CONTAINER_TESTS") == "1" and not os.environ.get("CI")


def require_container_tools() -> None:
    """Fail (or, when explicitly allowed, skip) when podman, runc or debootstrap is missing."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        message = f"missing: {', '.join(missing)}; install them, or set OAUTHGEN_SKIP_CONTAINER_TESTS=1 locally"
        if SKIP_CONTAINERS:
            pytest.skip(message)
        pytest.fail(message)


def podman(*args: str, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["podman", "--runtime", "/usr/sbin/runc", *args],
        env={"CONTAINERS_CONF": str(_CONF), "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check:
        assert result.returncode == 0, f"podman {' '.join(args)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def podman_compose(project: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """podman-compose (from the test extra) in PROJECT, with the same work-arounds as `podman`."""
    result = subprocess.run(
        [sys.executable, "-m", "podman_compose", *args],
        cwd=project,
        env={"CONTAINERS_CONF": str(_CONF), "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"podman-compose {' '.join(args)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def has_image(name: str) -> bool:
    return podman("image", "exists", name, check=False).returncode == 0


def slim_python_base() -> str:
    """The stand-in base image, built once per machine (about two minutes the first time)."""
    require_container_tools()
    if not has_image(DEBIAN_PYTHON):
        rootfs = Path(tempfile.mkdtemp(prefix="oauthgen-rootfs-"))
        try:
            subprocess.run(
                [
                    "debootstrap",
                    "--variant=minbase",
                    "--include=python3,python3-venv,ca-certificates",
                    "bookworm",
                    str(rootfs),
                    "http://deb.debian.org/debian",
                ],
                capture_output=True,
                check=True,
                timeout=900,
            )
            archive = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
            imported = subprocess.run(
                ["podman", "import", "-", DEBIAN_PYTHON],
                stdin=archive.stdout,
                env={"CONTAINERS_CONF": str(_CONF), "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"},
                capture_output=True,
                check=False,
            )
            assert archive.wait() == 0 and imported.returncode == 0, imported.stderr
        finally:
            shutil.rmtree(rootfs, ignore_errors=True)
    if not has_image(SLIM_PYTHON):
        build(
            CONTAINER_FILES,
            SLIM_PYTHON,
            "--file",
            str(CONTAINER_FILES / "slim.Containerfile"),
            "--build-arg",
            f"DEBIAN_PYTHON={DEBIAN_PYTHON}",
        )
    return SLIM_PYTHON


def build(context: Path, tag: str, *options: str) -> None:
    # Docker's image format: OCI's has no HEALTHCHECK, and podman would drop it.
    podman(
        "build",
        "--network=host",
        "--isolation",
        "chroot",
        "--volume",
        f"{CA_BUNDLE}:{CA_BUNDLE}:ro",
        "--format",
        "docker",
        "--tag",
        tag,
        *options,
        str(context),
    )
