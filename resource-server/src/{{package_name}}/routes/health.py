"""Health: liveness (the process answers) and readiness (it holds keys that verify tokens).

An orchestrator restarts a service that is not live, and sends no traffic to one that is not ready.
Liveness touches nothing external: an issuer outage must not get every instance restarted; and
readiness stays up through one while the keys in hand are not older than JWKS_MAX_STALE_SECONDS.
"""

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from ..app_state import app_state

router = APIRouter(tags=["health"])


@router.get("/health/live")
async def live() -> dict[str, str]:
    """200 while the process serves requests."""
    return {"status": "ok"}


@router.get("/health/ready")
@router.get("/health")
async def ready(request: Request) -> JSONResponse:
    """200 while the issuer's keys are in hand; 503 before the first fetch and once they are too old."""
    keys = app_state(request.app).keys
    age = keys.age_seconds()
    loaded = keys.loaded()
    body = {
        "status": "ok" if loaded else "unavailable",
        "issuer_keys": ("ok" if loaded else "unavailable") if keys.used else "not used (a shared secret verifies)",
        "issuer_keys_age_seconds": None if age is None else round(age),
    }
    return JSONResponse(body, status_code=status.HTTP_200_OK if loaded else status.HTTP_503_SERVICE_UNAVAILABLE)
