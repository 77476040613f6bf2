"""The JSON bodies the pages' script posts: bounded, strict, and checked against CSRF.

A body is read only up to a limit, must be UTF-8 JSON holding one object with no key twice, and
comes with the page's CSRF token in the `X-CSRF-Token` header (a header a cross-site form cannot
send). Anything else is a BadBody, answered with 400 (403 for the token), never a server error.
"""

import json
from typing import Any

from fastapi import Request, status
from fastapi.responses import JSONResponse

from ..config import Settings
from .pages import PAGE_HEADERS
from .sign_ins import csrf_is_valid

# A registration's attestation of a large key with a long credential id stays well under this.
MAX_BODY_BYTES = 32 * 1024
CSRF_HEADER = "X-CSRF-Token"


class BadBody(Exception):
    def __init__(self, message: str, status_code: int = status.HTTP_400_BAD_REQUEST) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


async def checked_json(request: Request, settings: Settings) -> dict[str, Any]:
    """The posted JSON object, once the request's CSRF token holds; BadBody otherwise."""
    tokens = request.headers.getlist(CSRF_HEADER)
    if len(tokens) != 1 or not csrf_is_valid(settings, request, tokens[0]):
        raise BadBody("This page has expired. Reload it and try again.", status.HTTP_403_FORBIDDEN)
    return await json_object(request, MAX_BODY_BYTES)


async def json_object(request: Request, max_bytes: int, too_large: int = status.HTTP_400_BAD_REQUEST) -> dict[str, Any]:
    """The posted JSON object, read up to MAX_BYTES (beyond: BadBody with the status TOO_LARGE);
    BadBody for anything but UTF-8 JSON holding one object with no key twice."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise BadBody("The request is too large.", too_large)
    try:
        value = json.loads(body.decode("utf-8"), object_pairs_hook=_without_repeated_keys)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadBody("The request is not valid JSON.") from None
    if not isinstance(value, dict):
        raise BadBody("The request is not a JSON object.")
    return value


def json_answer(content: dict[str, Any], status_code: int = status.HTTP_200_OK) -> JSONResponse:
    return JSONResponse(content, status_code, headers=PAGE_HEADERS)


def refused(exc: BadBody) -> JSONResponse:
    return json_answer({"error": exc.message}, exc.status_code)


def _without_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise ValueError("a key given twice")
    return dict(pairs)
