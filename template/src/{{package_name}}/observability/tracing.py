"""OpenTelemetry traces, when OTEL_EXPORTER_OTLP_ENDPOINT is set: a span per request, per SQL statement
and per Redis command, exported over OTLP/HTTP. Unset, neither OpenTelemetry's SDK nor its exporter nor an
instrumentation is even imported.

A span names the route and the statement, never a value: query strings (where clients wrongly put
tokens) are cut from the request's URL, SQL statements carry placeholders, Redis commands `?` for
their arguments.
"""

import importlib
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import Scope

# What a request's span never follows: probes and scrapes, many a minute and of no interest.
UNTRACED_URLS = "/health,/health/live,/health/ready,/metrics"
# Attributes that the ASGI instrumentation fills with the request's URL or target, query string included.
URL_ATTRIBUTES = ("http.url", "url.full", "http.target")


def start_tracing(app: FastAPI, engine: AsyncEngine, *, endpoint: str, service_name: str) -> Callable[[], None]:
    """Trace APP's requests and ENGINE's statements (and Redis commands, where Redis is used) to the
    OTLP/HTTP collector at ENDPOINT; the function returned flushes the spans left and stops."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    # As OTEL_EXPORTER_OTLP_ENDPOINT is defined: the base URL, with the signal's path added.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")))
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls=UNTRACED_URLS,
        server_request_hook=_without_query,
        exclude_spans=["receive", "send"],
    )
    instrumentors: list[Any] = [SQLAlchemyInstrumentor()]
    # Its version check stops at SQLAlchemy 2.0, while the engine events it listens to are the same in 2.1.
    instrumentors[0].instrument(engine=engine.sync_engine, tracer_provider=provider, skip_dep_check=True)
    instrumentors += _redis_instrumentors(provider)

    def stop() -> None:
        for instrumentor in instrumentors:
            instrumentor.uninstrument()
        provider.shutdown()

    return stop


def _redis_instrumentors(provider: Any) -> list[Any]:
    # Installed in the projects whose token store is Redis: the others send no command to trace.
    try:
        redis_instrumentation = importlib.import_module("opentelemetry.instrumentation.redis")
    except ImportError:
        return []
    instrumentor = redis_instrumentation.RedisInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    return [instrumentor]


def _without_query(span: Any, _scope: Scope) -> None:
    """The request's span, its URL and target cut at the path: a query string may hold a token."""
    attributes = getattr(span, "attributes", None) or {}
    for name in URL_ATTRIBUTES:
        if name in attributes:
            span.set_attribute(name, str(attributes[name]).partition("?")[0])
    if "url.query" in attributes:
        span.set_attribute("url.query", "")
