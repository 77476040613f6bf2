"""How `serve` runs uvicorn: the limit on a request's head, and worker processes that must all start."""

import logging
import sys
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from .application import create_app

# The request line and headers together, in bytes: h11's own default, stated here so that it is a
# decision (the README names the proxy setting that must be no larger). uvicorn's httptools parser,
# used when httptools is installed, has no such limit: the proxy's is the one that holds.
MAX_REQUEST_HEAD_BYTES = 16 * 1024
logger = logging.getLogger("uvicorn.error")
WORKER_APP = f"{__name__}:create_worker_app"


def create_worker_app() -> FastAPI:
    """`create_app` for the server's processes: a failure to make the application is uvicorn's start-up
    failure, so that the workers' supervisor stops instead of restarting a worker that cannot start."""
    try:
        return create_app()
    except Exception:
        logger.exception("The application could not be made")
        sys.exit(STARTUP_FAILURE)


def run(*, host: str, port: int, reload: bool, workers: int, log_config: dict[str, Any], access_log: bool) -> int:
    """Serve until stopped; the exit status is uvicorn's start-up failure when a worker never started."""
    options: dict[str, Any] = {
        "factory": True,
        "host": host,
        "port": port,
        "reload": reload,
        "workers": workers,
        "log_config": log_config,
        "access_log": access_log,
        "h11_max_incomplete_event_size": MAX_REQUEST_HEAD_BYTES,
    }
    if workers == 1:
        # One process (restarted on changes with --reload): uvicorn exits with its start-up failure itself.
        uvicorn.run(WORKER_APP, **options)
        return 0
    # uvicorn.run would return normally after a worker failed to start; its supervisor knows which did.
    config = uvicorn.Config(WORKER_APP, **options)
    supervisor = Multiprocess(config, sockets=[config.bind_socket()])
    supervisor.run()
    return STARTUP_FAILURE if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes) else 0
