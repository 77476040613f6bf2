"""Health: liveness (the process answers) and readiness (it reaches what it depends on).

An orchestrator restarts a service that is not live, and sends no traffic to one that is not
ready. Liveness touches nothing external: a database outage must not get every instance restarted.
"""

from collections.abc import Awaitable, Callable
from functools import partial

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from ..app_state import app_state
from ..deps import SettingsDep, TokenStoreDep
from ..storage.database import database_is_reachable

router = APIRouter(tags=["health"])


@router.get("/health/live")
async def live() -> dict[str, str]:
    """200 while the process serves requests."""
    return {"status": "ok"}


@router.get("/health/ready")
@router.get("/health")
async def ready(request: Request, settings: SettingsDep, store: TokenStoreDep) -> JSONResponse:
    """200 when every dependency answers; 503 naming the ones that do not."""
    sessions = app_state(request.app).sessions
    # By name, each checked once: a token store kept in the database answers for the database.
    checks: dict[str, Callable[[], Awaitable[bool]]] = {
        "database": partial(database_is_reachable, sessions, settings.database_timeout_seconds),
        store.kept_in: store.is_reachable,
    }
    reachable = {name: await is_reachable() for name, is_reachable in checks.items()}
    statuses = {name: "ok" if ok else "unreachable" for name, ok in reachable.items()}
    healthy = all(reachable.values())
    return JSONResponse(
        {"status": "ok" if healthy else "unavailable", **statuses},
        status_code=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE,
    )
