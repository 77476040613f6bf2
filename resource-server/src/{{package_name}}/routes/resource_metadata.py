"""This API's protected-resource metadata (RFC 9728 §3): the issuer a client gets tokens from."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ..deps import SettingsDep
from ..resource import WELL_KNOWN, resource_uri

router = APIRouter(tags=["discovery"])
# Clients may keep it for a while; it changes only with the settings.
CACHE = {"Cache-Control": "public, max-age=3600"}


@router.get(WELL_KNOWN, name="protected_resource_metadata")
async def protected_resource_metadata(request: Request, settings: SettingsDep) -> JSONResponse:
    document = {
        "resource": resource_uri(settings, str(request.base_url)),
        "authorization_servers": [settings.issuer],
        "bearer_methods_supported": ["header"],
        "resource_name": settings.realm,
    }
    return JSONResponse(document, headers=CACHE)
