"""The HTML pages: rendered with the headers every page gets, forms checked against CSRF, the error page."""

from pathlib import Path
from typing import Any

from fastapi import Request, status
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from ..config import Settings, issuer_of
from .sign_ins import csrf_is_valid, csrf_token, set_pre_sign_in_cookie

templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
# The pages' one script, passkeys.js, served from here: no inline script runs.
SCRIPTS = Path(__file__).resolve().parent / "static"
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    # `script-src 'self'` for passkeys.js, `connect-src 'self'` for its requests to this service.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class ExpiredForm(Exception):
    """A form posted without the browser's CSRF token: from another site, or from a page too old."""


async def checked_form(request: Request, settings: Settings) -> FormData:
    """The posted form, once its CSRF token is the one bound to the browser's sign-in; ExpiredForm otherwise."""
    form = await request.form()
    # Exactly one token: with two, which one a check read would be the parser's choice.
    tokens = form.getlist("csrf_token")
    if len(tokens) != 1 or not csrf_is_valid(settings, request, form_text(tokens[0])):
        raise ExpiredForm
    return form


def page(
    request: Request, settings: Settings, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    """A page whose forms carry the browser's CSRF token (bound to a new pre-sign-in id, set as a
    cookie, if the browser has neither that nor a sign-in)."""
    token, new_pre_sign_in_id = csrf_token(settings, request)

    def url_for(name: str) -> str:
        return page_url(request, settings, name)

    values = {**context, "csrf_token": token, "url_for": url_for}
    response = templates.TemplateResponse(request, template, values, status_code=status_code, headers=PAGE_HEADERS)
    if new_pre_sign_in_id is not None:
        set_pre_sign_in_cookie(response, request, settings, new_pre_sign_in_id)
    return response


def page_url(request: Request, settings: Settings, name: str) -> str:
    """The URL of the route NAME under ISSUER: never under the Host header, which any client sets
    (in development, without ISSUER, the request's own base URL)."""
    path: str = request.app.url_path_for(name)
    return issuer_of(request, settings) + path


def error_page(request: Request, message: str, status_code: int = status.HTTP_400_BAD_REQUEST) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "error.html", {"message": message}, status_code=status_code, headers=PAGE_HEADERS
    )


async def expired_form_page(request: Request, _exc: Exception) -> Response:
    return error_page(
        request, "This form has expired. Go back, reload the page and try again.", status.HTTP_403_FORBIDDEN
    )


def form_text(value: object) -> str | None:
    """A form or query value as text; None when absent or an uploaded file."""
    return value if isinstance(value, str) else None
