"""Prometheus's scrape of the service's metrics at /metrics, for the holder of METRICS_TOKEN only.

Mounted only when METRICS_TOKEN is set; METRICS_PORT serves the same exposition on a port of its own,
without a token, from `serve` (observability/metrics.py, `serve_on_port`).
"""

import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from ..bearer_challenges import bearer_challenge
from ..deps import SettingsDep
from ..observability.metrics import registry

router = APIRouter()
REALM = "metrics"


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, settings: SettingsDep) -> Response:
    """The metrics in Prometheus's text format, for `Authorization: Bearer METRICS_TOKEN`."""
    expected = settings.metrics_token
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if expected is None or scheme.lower() != "bearer" or not token:
        raise bearer_challenge(REALM)
    # Compared as bytes in constant time: the header may hold any text, and how long a comparison
    # takes must not tell how much of a guess was right.
    if not hmac.compare_digest(token.strip().encode(), expected.get_secret_value().encode()):
        raise bearer_challenge(REALM, "invalid_token", "The metrics token is wrong")
    # Off the event loop: with workers, the exposition reads every worker's files.
    exposition = await run_in_threadpool(generate_latest, registry())
    return Response(exposition, media_type=CONTENT_TYPE_LATEST)
