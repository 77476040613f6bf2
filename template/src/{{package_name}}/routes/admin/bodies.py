"""The admin API's request bodies: read only once the guard has let the caller in, up to a limit, as one JSON
object that a model checks. (A body parameter would be read and parsed before any dependency runs, so an
anonymous caller could make the service read and parse megabytes.)"""

from typing import Any, TypeVar

from fastapi import HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect

from ...storage.database import can_hold
from ...web.json_bodies import BadBody, json_object

# Far more than any user or client takes.
MAX_BODY_BYTES = 64 * 1024

Model = TypeVar("Model", bound=BaseModel)


def described(model: type[BaseModel]) -> dict[str, Any]:
    """What the API description says of a route whose body MODEL checks (the route's `openapi_extra`)."""
    schema = model.model_json_schema()
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


async def read_body(request: Request, model: type[Model]) -> Model:
    """The body as MODEL; a 400 or 413 problem for one that is no JSON object or too large, a 422 for one
    MODEL refuses."""
    try:
        document = await json_object(request, MAX_BODY_BYTES, too_large=status.HTTP_413_CONTENT_TOO_LARGE)
    except BadBody as exc:
        raise HTTPException(exc.status_code, exc.message) from None
    except ClientDisconnect:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "The request ended before its body did") from None
    if not _storable(document):
        # A NUL or a lone surrogate (`\\ud800` is valid JSON): no database holds it, and an error quoting it
        # could not even be sent.
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "The request holds text no database can store")
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        # Where and what, never the value sent (error_handlers.py): it may be a password.
        errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_input=False)]
        raise RequestValidationError(errors) from None


def _storable(document: object) -> bool:
    """Whether every text in DOCUMENT can be stored; walked without recursion, however deep it nests."""
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, str) and not can_hold(value):
            return False
        if isinstance(value, dict):
            pending += [*value.keys(), *value.values()]
        elif isinstance(value, list):
            pending += value
    return True
