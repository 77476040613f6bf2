"""Running generated services for real: a uvicorn subprocess on a free port, spoken to over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
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


# The generated tests that no answer about storage, token store or JWT algorithm can change, each a file or
# one test function (with all its parameters), and why. They touch neither the database nor the token store,
# sign with no answered algorithm and feed no hostile input: the default variant runs them, and the variants
# that differ from it only in those answers leave them out (`run_own_tests(..., shallow=True)`).
_DISCOVERY = "a discovery document, built from no answer (the JWKS test, which depends on the algorithm, stays)"
_REQUEST_LOG = "request IDs and log lines, on routes that read no storage"
_TOKEN_CACHE = "the in-memory cache of verified tokens, fed hand-made tokens"
ANSWER_INDEPENDENT_TESTS = {
    "tests/test_key_files.py": "key files for every algorithm alike, whichever one the project signs with",
    "tests/test_security_headers.py": "response headers, on routes that read no storage",
    "tests/test_discovery.py::test_metadata_names_the_issuer_and_endpoints": _DISCOVERY,
    "tests/test_discovery.py::test_development_issuer_is_the_base_url_the_request_came_to": _DISCOVERY,
    "tests/test_discovery.py::test_openapi_offers_the_password_flow": _DISCOVERY,
    "tests/test_discovery.py::test_openid_configuration_names_what_a_relying_party_needs": _DISCOVERY,
    "tests/test_discovery.py::test_both_documents_agree_on_everything_they_both_say": _DISCOVERY,
    "tests/test_request_logging.py::test_every_response_has_a_request_id_of_its_own": _REQUEST_LOG,
    "tests/test_request_logging.py::test_text_logs_write_no_access_line_of_their_own": _REQUEST_LOG,
    "tests/test_request_logging.py::test_the_json_formatter_keeps_exceptions_on_one_line": _REQUEST_LOG,
    "tests/test_request_logging.py::test_an_unexpected_error_answers_500_with_a_request_id": _REQUEST_LOG,
    "tests/test_login_limits.py::test_hashing_beyond_the_slots_and_the_queue_is_refused_at_once": (
        "the password hasher's own slots and queue, with no app and no storage"
    ),
    "tests/test_verified_tokens.py::test_the_cache_is_bounded_and_keeps_the_most_recently_used": _TOKEN_CACHE,
    "tests/test_verified_tokens.py::test_a_token_verified_for_one_issuer_and_audience_is_not_reused_for_another": (
        _TOKEN_CACHE
    ),
    "tests/test_mail.py::test_waiting_retries_hold_up_no_other_mail_and_refusals_for_good_are_not_retried": (
        "the mail queue against an SMTP server of the test's own, with no app and no storage"
    ),
    "tests/test_metrics.py": "the process's counters and their exposition, whatever keeps the data",
    "tests/test_tracing.py::test_an_endpoint_that_is_no_collector_url_is_refused": "a setting's check, with no app",
}


def run_own_tests(
    project: Path, env: Mapping[str, str] | None = None, *, shallow: bool = False, only: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    """The generated project's own test suite, in a subprocess; fails the caller's test unless it passes.

    `shallow` leaves out ANSWER_INDEPENDENT_TESTS: a variant whose answers differ from the default's only in
    storage, token store or algorithm need not run again what the default variant's full run has shown.
    `only` runs just those test files: for a project whose every variant runs in full elsewhere."""
    for path in only:
        assert (project / path).is_file(), f"{path} is not a test file of {project}"
    selection = [*only, *(shallow_selection(project) if shallow else [])]
    result = run_module(project, "pytest", "-q", "-p", "no:cacheprovider", *selection, env=env, timeout=900)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
    assert " skipped" not in result.stdout
    return result


def shallow_selection(project: Path) -> list[str]:
    """The pytest options that leave ANSWER_INDEPENDENT_TESTS out of `project`'s suite. A file or test that
    is no longer there fails here, so that a rename cannot quietly put it back into every variant's run."""
    options = []
    for node in ANSWER_INDEPENDENT_TESTS:
        path, _, name = node.partition("::")
        source = project / path
        assert source.is_file(), f"{node} is left out of shallow runs, but {source} does not exist"
        if not name:
            options.append(f"--ignore={path}")
            continue
        assert f"\ndef {name}(" in source.read_text(encoding="utf-8"), f"{node} is left out, but not defined"
        options.append(f"--deselect={node}")
    return options


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
    port: int | None = None,
    startup_seconds: float = 30,
) -> Iterator[str]:
    """Start the service in the project folder (`uvicorn --factory PACKAGE.main:create_app` from src/ unless a command
    for an installed project is given); yield its base URL; stop it cleanly; append its output to `log`. With
    ISSUER_HOST, the service runs with ISSUER=http://ISSUER_HOST:PORT, and that is the base URL (`localhost`, which
    WebAuthn takes as an RP ID where an IP address is refused). With PORT, it listens there: a service started again
    where its clients know it to be. STARTUP_SECONDS bounds the wait for its first answer."""
    port = port or free_port()
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
        _wait_until_up(process, base_url, startup_seconds)
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
