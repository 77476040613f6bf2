"""Operating a generated service: its Prometheus metrics under `serve --workers 2` (one consistent
exposition, at /metrics with METRICS_TOKEN and on METRICS_PORT, whichever worker answers), and its
OpenTelemetry traces, received by a collector stand-in."""

from __future__ import annotations

import shutil
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client.parser import text_string_to_metric_families

from .support.ports import free_port
from .support.servers import service_environment
from .support.services import PACKAGE, password_token, run_module, running_service

TOKEN = "a-metrics-token-of-the-root-tests-0123456789"
REQUESTS = 40


def health_requests(exposition: str) -> float:
    """How many GET /health/live answered 200, by the exposition."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == "http_requests_total"
        and sample.labels == {"method": "GET", "route": "/health/live", "status": "200"}
    )


def test_two_workers_report_one_consistent_exposition(make_project: Callable[..., Path], tmp_path: Path) -> None:
    project = Path(shutil.copytree(make_project(), tmp_path / "service"))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    metrics_port = free_port()
    env = {
        "PYTHONPATH": str(project / "src"),
        "WEB_CONCURRENCY": "2",
        "METRICS_TOKEN": TOKEN,
        "METRICS_PORT": str(metrics_port),
        # Where the workers' metric files go, to see them removed at the end.
        "TMPDIR": str(scratch),
    }
    log: list[str] = []
    command = lambda port: [sys.executable, "-m", PACKAGE, "serve", "--port", str(port)]  # noqa: E731
    with running_service(project, PACKAGE, env=env, command=command, log=log) as base_url:
        # Fresh connections: the kernel spreads them over both workers.
        for _ in range(REQUESTS):
            assert httpx.get(f"{base_url}/health/live").status_code == 200
        assert len(list(scratch.glob("metrics-*/counter_*.db"))) == 2, "each worker counts in a file of its own"

        scraped = [httpx.get(f"{base_url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}) for _ in range(6)]
        on_port = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics")
        refused = httpx.get(f"{base_url}/metrics")

    assert {response.status_code for response in scraped} == {200}
    assert {health_requests(response.text) for response in scraped} == {REQUESTS}
    assert on_port.status_code == 200
    assert health_requests(on_port.text) == REQUESTS
    assert refused.status_code == 401
    assert not list(scratch.iterdir()), "the metric files are removed when the service stops"
    workers = {line.split("[")[1].split("]")[0] for line in log[0].splitlines() if "Started server process" in line}
    assert len(workers) == 2


class Collector(ThreadingHTTPServer):
    """An OpenTelemetry collector's OTLP/HTTP receiver: the spans posted to /v1/traces."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Receiver)
        self.spans: list[tuple[str, dict[str, str]]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Receiver(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        exported = ExportTraceServiceRequest.FromString(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path == "/v1/traces":
            self.server.spans += [
                (span.name, {attribute.key: str(attribute.value) for attribute in span.attributes})
                for resource_spans in exported.resource_spans
                for scope_spans in resource_spans.scope_spans
                for span in scope_spans.spans
            ]
        self.send_response(200 if self.path == "/v1/traces" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_service_on_postgresql_and_redis_sends_its_spans_to_the_collector(
    make_project: Callable[..., Path], tmp_path: Path, collector: Collector
) -> None:
    project = Path(shutil.copytree(make_project(storage="postgresql", token_store="redis"), tmp_path / "service"))
    with service_environment("postgresql", "redis") as env:
        env = {**env, "PYTHONPATH": str(project / "src"), "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url}
        assert (
            run_module(project, PACKAGE, "create-user", "alice", "--password", "a long password", env=env).returncode
            == 0
        )
        with running_service(project, PACKAGE, env=env) as base_url:
            tokens = password_token(base_url, "alice", "a long password").json()
            access_token = tokens["access_token"]
            protected = httpx.get(
                f"{base_url}/protected?access_token={access_token}", headers={"Authorization": f"Bearer {access_token}"}
            )
            refreshed = httpx.post(
                f"{base_url}/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
            )
        # Stopped with SIGTERM: the spans left were sent on the way out.

    assert (protected.status_code, refreshed.status_code) == (200, 200)
    names = [name for name, _ in collector.spans]
    assert {"POST /token", "GET /protected"} <= set(names)
    systems = {attributes.get("db.system", "") for _, attributes in collector.spans}
    assert any("postgresql" in system for system in systems), systems
    assert any("redis" in system for system in systems), systems
    everything = repr(collector.spans)
    for secret in (access_token, tokens["refresh_token"], "a long password"):
        assert secret not in everything
