"""Running generated services for real: a uvicorn subprocess on a free port, spoken to over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

PASSWORD = "correct horse battery staple"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def project_env(project: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a generated project runs in without being installed: its src/ on the path."""
    env = {**os.environ, "PYTHONPATH": str(project / "src"), **(extra or {})}
    env.pop("SECRET_KEY", None)
    return env


def run_module(
    project: Path, package: str, *args: str, python: str = sys.executable, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python, "-m", package, *args],
        cwd=project,
        env=project_env(project, env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@contextmanager
def running_service(
    project: Path, package: str, python: str = sys.executable, env: Mapping[str, str] | None = None
) -> Iterator[str]:
    """Start `uvicorn PACKAGE.main:app` in the project folder; yield its base URL; stop it cleanly."""
    port = free_port()
    process = subprocess.Popen(
        [python, "-m", "uvicorn", f"{package}.main:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=project,
        env=project_env(project, env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(process, base_url)
        yield base_url
    finally:
        process.terminate()
        try:
            output, _ = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal.
    assert process.returncode in (0, -signal.SIGTERM), f"the service did not stop cleanly:\n{output}"
    assert "Application shutdown complete" in output, output


def _wait_until_up(process: subprocess.Popen[str], base_url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"the service exited with {process.returncode}:\n{output}")
        try:
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the service did not answer on {base_url} within {timeout} s")


def password_token(base_url: str, username: str, password: str = PASSWORD) -> httpx.Response:
    return httpx.post(
        f"{base_url}/token",
        data={"grant_type": "password", "username": username, "password": password},
        timeout=10,
    )
