"""Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3)."""

import base64
from urllib.parse import unquote_plus

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from ..errors import InvalidClient, InvalidRequest
from ..storage.models import Client
from .client_documents import ClientDocumentRefused, ClientDocuments
from .clients import secret_matches

AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


async def authenticate_client(request: Request, session: AsyncSession, clients: ClientDocuments) -> Client | None:
    """The authenticated client, or None when the request names none.

    Confidential clients send their secret (Basic, or `client_secret` in the form); public
    clients send only `client_id`, which may be a metadata document's URL (CLIENTS finds both).
    A confidential client without its secret is refused."""
    form = await request.form()
    client_id, secret = _basic_credentials(request)
    posted_id, posted_secret = form.get("client_id"), form.get("client_secret")
    if client_id is not None:
        if posted_secret is not None or (posted_id is not None and posted_id != client_id):
            raise InvalidRequest("Use one client authentication method, not two")
    else:
        client_id = posted_id if isinstance(posted_id, str) and posted_id else None
        secret = posted_secret if isinstance(posted_secret, str) else None
    if client_id is None:
        if secret is not None:
            raise InvalidClient()
        return None
    try:
        client = await clients.client(session, client_id)
    except ClientDocumentRefused as refused:
        raise InvalidClient(f"The client's metadata document cannot be used: {refused}") from None
    if client is None:
        raise InvalidClient()
    if client.is_public:
        if secret is not None:
            raise InvalidClient()
    elif secret is None or not secret_matches(client, secret):
        raise InvalidClient()
    return client


def _basic_credentials(request: Request) -> tuple[str | None, str | None]:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        decoded = base64.b64decode(credentials, validate=True).decode()
    except ValueError:  # not ASCII, not base64, or not UTF-8 inside
        raise InvalidClient() from None
    client_id, separator, secret = decoded.partition(":")
    if not separator:
        raise InvalidClient()
    # RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
    return unquote_plus(client_id), unquote_plus(secret)
