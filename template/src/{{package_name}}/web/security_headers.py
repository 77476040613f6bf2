"""Headers every response carries: `X-Content-Type-Options: nosniff`, and HSTS when the service is on https."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import Settings

NOSNIFF = (b"x-content-type-options", b"nosniff")
# Two years, the subdomains included: what hstspreload.org asks for.
HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")


def wants_hsts(settings: Settings) -> bool:
    """In production on an https issuer; never in development, where a browser would keep it for localhost."""
    return not settings.is_development and (settings.issuer or "").startswith("https://")


class SecurityHeaders:
    """ASGI middleware: add the headers to every HTTP response, errors and 404s included."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.headers = [NOSNIFF, HSTS] if hsts else [NOSNIFF]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)
