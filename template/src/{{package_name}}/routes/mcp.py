"""The MCP endpoint (MCP=true): the official SDK's Streamable HTTP server at /mcp, behind this
service's bearer check for the endpoint's own resource.

The endpoint is a resource apart (RFC 8707): a token for it has `aud` ISSUER/mcp, and a token for
the own API or any other resource is refused. A missing or refused token gets the 401 that names the
endpoint's metadata (RFC 9728 §5.1), where an MCP client begins its authorization. The server is
stateless and answers in JSON, so any instance answers any request, as every other route does.
"""

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from mcp.server.mcpserver import MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ..app_state import app_state
from ..config import Settings, issuer_of
from ..deps import bearer_token, verified_access_token
from ..oauth.resource_indicators import mcp_endpoint
from .mcp_tools import CALLER, build_server

# Tool arguments are small: a larger body is refused before the SDK reads it.
MAX_BODY_BYTES = 256 * 1024
# A stateless server that answers in JSON never speaks first: it offers no stream of its own (GET),
# which MCP's Streamable HTTP transport lets it refuse with 405.
NO_STREAM = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "This server offers no SSE stream"}}
# Without ISSUER (development only), the hosts a browser on this machine reaches the service by.
LOOPBACK_HOSTS = ["127.0.0.1", "127.0.0.1:*", "localhost", "localhost:*", "[::1]", "[::1]:*"]
LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]


class McpEndpoint:
    """The ASGI app of /mcp: the bearer check, then the SDK's transport, which runs while `running`."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._transport: ASGIApp | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The SDK's session manager, for the application's lifetime (a new one each time it starts)."""
        server = leaving_logging_alone(lambda: build_server(self._settings.realm))
        server.streamable_http_app(
            stateless_http=True,
            json_response=True,
            max_request_body_size=MAX_BODY_BYTES,
            transport_security=transport_security(self._settings),
        )
        async with server.session_manager.run():
            self._transport = StreamableHTTPASGIApp(server.session_manager)
            try:
                yield
            finally:
                self._transport = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        settings = app_state(request.app).settings
        resource = mcp_endpoint(issuer_of(request, settings), settings.realm)
        # An HTTPException (the 401) reaches the application's handlers, as from any route.
        access = await verified_access_token(request, bearer_token(request), resource)
        if self._transport is None:
            raise RuntimeError("The MCP endpoint is called outside the application's lifespan")
        if request.method == "GET":
            # The SDK would hold the stream open, with nothing ever to send on it, for as long as the
            # client waits: a connection and a task held for each GET, past the token's expiry.
            await JSONResponse(NO_STREAM, status_code=405, headers={"Allow": "POST"})(scope, receive, send)
            return
        reset = CALLER.set(access)
        try:
            await self._transport(scope, receive, send)
        finally:
            CALLER.reset(reset)


def leaving_logging_alone(build: Callable[[], MCPServer]) -> MCPServer:
    """BUILD's server, made without its `logging.basicConfig`: the SDK would give the root logger a
    handler of its own, and the service's log lines another format, when nothing configured it yet."""
    root = logging.getLogger()
    if root.handlers:
        return build()
    placeholder = logging.NullHandler()
    root.addHandler(placeholder)
    try:
        return build()
    finally:
        root.removeHandler(placeholder)


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """The SDK's check of Host and Origin against DNS rebinding: ISSUER's, or loopback in development."""
    if settings.issuer is None:
        hosts, origins = LOOPBACK_HOSTS, LOOPBACK_ORIGINS
    else:
        parts = urlsplit(settings.issuer)
        hosts, origins = [parts.netloc], [f"{parts.scheme}://{parts.netloc}"]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


class McpRoute(Route):
    """The MCP endpoint's route: a plain Starlette route that names itself in the request's scope, as
    FastAPI's routes do, so that the request log and the metrics see its template."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope
