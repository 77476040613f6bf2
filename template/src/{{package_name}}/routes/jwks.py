"""The public signing keys (RFC 7517), so that anyone can verify this service's ID tokens, and its
access tokens unless an HS* secret, which is shared with nobody, signs them."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ..app_state import app_state
from ..deps import IdTokenKeysDep, KeysDep

router = APIRouter(tags=["discovery"])


@router.get("/.well-known/jwks.json", name="jwks")
async def jwks(request: Request, id_token_keys: IdTokenKeysDep, keys: KeysDep) -> JSONResponse:
    # Retired keys leave the set at their NOT_AFTER, by the application's clock.
    now = app_state(request.app).clock()
    published = {"keys": [*id_token_keys.jwks(now)["keys"], *keys.jwks(now)["keys"]]}
    return JSONResponse(published, headers={"Cache-Control": "public, max-age=300"})
