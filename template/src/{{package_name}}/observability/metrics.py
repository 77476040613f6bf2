"""The service's Prometheus metrics: what is counted, what counts every request, and the registry an
exposition reads.

Every process counts in memory; under `serve --workers N` (and --reload) `serve` points
PROMETHEUS_MULTIPROC_DIR at a directory of its own before the workers start, each worker counts in
files there, and an exposition adds them up, so a scrape sees one service whichever worker answers.
"""

import contextlib
import math
import os
import shutil
import tempfile
import time
from collections.abc import Iterator

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, multiprocess, start_http_server
from starlette.types import Scope

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# A client chooses the method: any other is counted as "other", so it cannot add series without end.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# The label of a request that matched no route: its path is the client's, and never a label.
UNMATCHED = "unmatched"

REQUESTS = Counter(
    "http_requests", "HTTP requests answered, by route template and status", ["method", "route", "status"]
)
REQUEST_SECONDS = Histogram(
    "http_request_duration_seconds", "Time to answer an HTTP request, by route template", ["method", "route"]
)
SIGN_INS = Counter(
    "sign_ins",
    "Passwords checked at sign-in (the login page and the password grant), by outcome: succeeded, failed, "
    "limited (paused by a brute-force limit), busy (password hashing was full) or unverified (the address "
    "must be confirmed first)",
    ["outcome"],
)
UPSTREAM_SIGN_INS = Counter(
    "upstream_sign_ins",
    "Sign-ins through upstream providers, by provider and outcome: succeeded, declined (the provider or "
    "the user said no), refused (the answer failed a check) or unlinked (no account here is linked to it)",
    ["provider", "outcome"],
)
TOKENS_ISSUED = Counter("tokens_issued", "Access tokens issued, by grant type", ["grant_type"])
RATE_LIMITED = Counter("rate_limited", "Requests refused by a limit (429 or a paused sign-in), by limit", ["limit"])
PASSWORD_HASHING_SHED = Counter(
    "password_hashing_shed", "Requests refused at once (503) because every password-hashing place was taken"
)
PASSWORD_HASHING_ADMITTED = Gauge(
    "password_hashing_admitted",
    "Passwords being hashed or waiting for a hashing thread",
    multiprocess_mode="livesum",
)
REFRESH_TOKEN_REUSE = Counter(
    "refresh_token_reuse", "Refresh tokens presented after their rotation: each one revoked its grant"
)
# From a fraction of a millisecond on loopback to the seconds a stalled database or Redis would take.
FEED_LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
REVOCATION_FEED_LAG = Histogram(
    "revocation_feed_lag_seconds",
    "Time from a revocation, in any process, to this process hearing of it through its revocation feed "
    "(PostgreSQL LISTEN/NOTIFY or Redis pub/sub; on the revoking process's clock)",
    buckets=FEED_LAG_BUCKETS,
)
REVOCATION_FEED_INTERRUPTIONS = Counter(
    "revocation_feed_interruptions",
    "Revocation feeds lost: until each was back, its process checked revocations in the store on every request",
)


def revocation_heard(revoked_at: float) -> None:
    """Measure how late a revocation made at REVOKED_AT (Unix seconds, on the revoking process's clock)
    was heard here: never below zero, as two machines' clocks differ; a time that is no time is skipped."""
    if math.isfinite(revoked_at):
        REVOCATION_FEED_LAG.observe(max(0.0, time.time() - revoked_at))


def registry() -> CollectorRegistry:
    """What an exposition reads: this process's metrics, or every worker's when they count in files."""
    directory = os.environ.get(MULTIPROCESS_DIR_VARIABLE)
    if directory is None:
        return REGISTRY
    combined = CollectorRegistry()
    multiprocess.MultiProcessCollector(combined, path=directory)  # type: ignore[no-untyped-call]
    return combined


def forget_this_process() -> None:
    """At a worker's exit: its gauges stop counting (its counters stay in the totals)."""
    if MULTIPROCESS_DIR_VARIABLE in os.environ:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


@contextlib.contextmanager
def counted_across_processes() -> Iterator[None]:
    """For `serve` with worker processes: a fresh directory where each of them counts, set before they
    start (they inherit it) and removed when they have stopped."""
    directory = tempfile.mkdtemp(prefix="metrics-")
    os.environ[MULTIPROCESS_DIR_VARIABLE] = directory
    try:
        yield
    finally:
        del os.environ[MULTIPROCESS_DIR_VARIABLE]
        shutil.rmtree(directory, ignore_errors=True)


def serve_on_port(host: str, port: int) -> None:
    """Serve the exposition on a port of its own, from a thread of this process, until it exits."""
    start_http_server(port, addr=host, registry=registry())


class RequestCounter:
    """Counts each HTTP request and its duration, by method, route template and status (called by the
    request-logging middleware as each request ends)."""

    def __init__(self) -> None:
        # The labelled series, found once each: looking one up by its labels costs more than counting.
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def __call__(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"] if scope["method"] in KNOWN_METHODS else "other"
        route = getattr(scope.get("route"), "path", UNMATCHED)
        series = self._series.get((method, route, status))
        if series is None:
            series = REQUESTS.labels(method, route, str(status)), REQUEST_SECONDS.labels(method, route)
            self._series[method, route, status] = series
        requests, duration = series
        requests.inc()
        duration.observe(seconds)
