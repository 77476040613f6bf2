"""Entity tags of the admin API's users and clients (RFC 9110 §8.8.3): a change must name the version it
was made from (`If-Match`), so that of two operators who read the same one, the second cannot silently
undo the first's change."""

import hashlib

from fastapi import HTTPException, status
from pydantic import BaseModel


def etag_of(view: BaseModel, hidden: str | None = None) -> str:
    """A strong tag of what VIEW shows, and of what it must not (HIDDEN: a client's secret hash, so that
    a replaced secret gives a new tag): it changes whenever any of it does."""
    seen = view.model_dump_json().encode() + b"\0" + (hidden or "").encode()
    return '"' + hashlib.sha256(seen).hexdigest()[:32] + '"'


def require_match(if_match: str | None, current: str) -> None:
    """A 428 when the request names no version, a 412 when none it names is CURRENT (`*` names any)."""
    if if_match is None:
        raise HTTPException(status.HTTP_428_PRECONDITION_REQUIRED, "Send If-Match with the ETag of what you read")
    tags = [tag.strip() for tag in if_match.split(",")]
    if "*" not in tags and current not in tags:
        raise HTTPException(status.HTTP_412_PRECONDITION_FAILED, "It changed since you read it: read it again")
