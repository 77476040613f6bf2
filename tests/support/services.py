"""Running generated services for real: a uvicorn subprocess on a free port, spoken to over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from .ports import free_port

PACKAGE = "my_service"  # the package a project generated with the default answers has
USERNAME = "alice"  # the user the client tests sign in as
PASSWORD = "correct horse battery staple"
# What production requires for account e-mail, in tests that send none: `.invalid` never resolves (RFC 2606).
NO_MAIL_SERVER = "smtp://mail.invalid"
# A Fernet key for the production settings of tests (TOTP_ENCRYPTION_KEYS): made for them, protecting nothing.
TEST_TOTP_KEY = "dGVzdHMtb25seS1rZXktb2YtMzItYnl0ZXMtLS0tLS0="


def project_env(project: Path | None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a generated project runs in; without installing it, its src/ goes on the path."""
    env = {**os.environ, **(extra or {})}
    for inherited in ("SECRET_KEY", "DATABASE_URL", "ENVIRONMENT", "ISSUER", "SMTP_URL", "PYTHONPATH", "VIRTUAL_ENV"):
        if inherited not in (extra or {}):
            env.pop(inherited, None)
    if project is not None:
        env["PYTHONPATH"] = str(project / "src")
    return env


def run_module(
    project: Path, package: str, *args: str, env: Mapping[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", package, *args],
        cwd=project,
        env=project_env(project, env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_own_tests(project: Path, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The generated project's own test suite, in a subprocess; fails the caller's test unless it passes."""
    result = run_module(project, "pytest", "-q", "-p", "no:cacheprovider", env=env, timeout=600)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
    assert " skipped" not in result.stdout
    return result


def uvicorn_command(package: str) -> Callable[[int], list[str]]:
    return lambda port: [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        f"{package}.main:create_app",
        "--port",
        str(port),
    ]


@contextmanager
def running_service(
    project: Path,
    package: str,
    env: Mapping[str, str] | None = None,
    command: Callable[[int], list[str]] | None = None,
    log: list[str] | None = None,
    issuer_host: str | None = None,
) -> Iterator[str]:
    """Start the service in the project folder (`uvicorn --factory PACKAGE.main:create_app` from src/ unless a command
    for an installed project is given); yield its base URL; stop it cleanly; append its output to `log`. With
    ISSUER_HOST, the service runs with ISSUER=http://ISSUER_HOST:PORT, and that is the base URL (`localhost`, which
    WebAuthn takes as an RP ID where an IP address is refused)."""
    port = free_port()
    base_url = f"http://{issuer_host or '127.0.0.1'}:{port}"
    if issuer_host is not None:
        env = {**(env or {}), "ISSUER": base_url}
    process = subprocess.Popen(
        (command or uvicorn_command(package))(port),
        cwd=project,
        env=project_env(None if command else project, env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
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
    if log is not None:
        log.append(output)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal.
    assert process.returncode in (0, -signal.SIGTERM), f"the service did not stop cleanly:\n{output}"
    assert "Application shutdown complete" in output, output


def _wait_until_up(process: subprocess.Popen[str], base_url: str, timeout: float = 30) -> None:
    def up() -> bool:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"the service exited with {process.returncode}:\n{output}")
        return answers_ok(f"{base_url}/health")

    if not eventually(up, timeout, interval=0.1):
        raise AssertionError(f"the service did not answer on {base_url} within {timeout} s")


def answers_ok(url: str) -> bool:
    """Whether `url` answers 200 now; a refused or timed-out connection is a no."""
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def eventually(check: Callable[[], bool], seconds: float, interval: float = 0.05) -> bool:
    """Whether `check` comes true within `seconds`, asked at once and then every `interval`."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


def password_token(base_url: str, username: str, password: str = PASSWORD) -> httpx.Response:
    return httpx.post(
        f"{base_url}/token",
        data={"grant_type": "password", "username": username, "password": password},
        timeout=10,
    )
