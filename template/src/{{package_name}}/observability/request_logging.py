"""Request IDs and structured logs: `X-Request-ID` on every response, and with LOG_FORMAT=json one
JSON object per log line, an access line per request among them.

An access line holds the time, level, request ID, method, path without its query string (where
clients wrongly put tokens), status and duration: never a header, a body or a query value.
"""

import json
import logging
import os
import re
import time
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = b"x-request-id"
# What an upstream request ID may look like: it goes into log lines and a response header verbatim.
ACCEPTABLE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:@/+=-]{1,128}")
access_logger = logging.getLogger(__name__.partition(".")[0] + ".access")
# The ID of the request being served, for what logs on its behalf later (mail/outgoing.py).
current_request_id: ContextVar[str] = ContextVar("current_request_id", default="-")


class RequestLog:
    """ASGI middleware: give each HTTP request an ID, return it, and log the request when it ends."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        trust_request_id: bool,
        log_access: bool,
        count: Callable[[Scope, int, float], None] | None = None,
    ) -> None:
        self.app = app
        self.trust_request_id = trust_request_id
        self.log_access = log_access
        # What counts each request by its scope, status and duration in seconds (the metrics): here,
        # where the request is timed anyway, rather than in a middleware of its own.
        self.count = count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self._request_id(scope)
        current_request_id.set(request_id)
        started = time.perf_counter()
        status = 500  # what the client gets when the application fails before it answers
        started_response = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status = message["status"]
                started_response = True
                message["headers"] = [*message.get("headers", []), (REQUEST_ID_HEADER, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Starlette's own 500 would be sent from outside this middleware, without the ID that
            # ties it to the logged traceback: the same answer goes out from here instead.
            if not started_response:
                await _internal_server_error(send_with_id)
            raise
        finally:
            duration = time.perf_counter() - started
            if self.count is not None:
                self.count(scope, status, duration)
            if self.log_access:
                access_logger.info(
                    "%s %s %d",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round(duration * 1000, 3),
                    },
                )

    def _request_id(self, scope: Scope) -> str:
        if self.trust_request_id:
            headers: list[tuple[bytes, bytes]] = scope["headers"]
            for name, value in headers:
                if name == REQUEST_ID_HEADER and ACCEPTABLE_REQUEST_ID.fullmatch(value):
                    return value.decode()
        # 128 random bits as 32 hex digits: what uuid4().hex gives, at a fifth of its cost per request.
        return os.urandom(16).hex()


async def _internal_server_error(send: Send) -> None:
    body = b"Internal Server Error"
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# The fields of an access line, copied from the record into the JSON object; and an audit event's.
ACCESS_FIELDS = ("request_id", "method", "path", "status", "duration_ms")
EVENT_FIELD = "event"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, the request's
    fields on access lines, and the event on audit lines."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({field: record.__dict__[field] for field in ACCESS_FIELDS if field in record.__dict__})
        if EVENT_FIELD in record.__dict__:
            line[EVENT_FIELD] = record.__dict__[EVENT_FIELD]
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def json_logging_config() -> dict[str, Any]:
    """uvicorn's `log_config` for LOG_FORMAT=json: every logger through the JSON formatter, and
    uvicorn's own access log off, as the middleware writes a better one."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": "INFO"},
        "loggers": {
            "uvicorn": {"handlers": [], "level": "INFO", "propagate": True},
            "uvicorn.error": {"handlers": [], "level": "INFO", "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "alembic.runtime.plugins": {"level": "WARNING"},
        },
    }
