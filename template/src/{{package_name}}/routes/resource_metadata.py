"""Protected-resource metadata documents (RFC 9728 §3): the own API's, and those of registered
resources on the issuer's origin; the same caching as discovery."""

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import JSONResponse

from ..deps import AudienceDep, IssuerDep, SessionDep, SettingsDep
from ..oauth.resource_indicators import Target, own_api, served_here
from ..oauth.resource_metadata import WELL_KNOWN, document, resource_at
from ..oauth.resources import get_resource
from .metadata import CACHE

router = APIRouter(tags=["discovery"])


@router.get(WELL_KNOWN, name="protected_resource_metadata")
async def own_resource_metadata(issuer: IssuerDep, audience: AudienceDep, settings: SettingsDep) -> JSONResponse:
    return JSONResponse(document(own_api(audience, settings.realm), issuer), headers=CACHE)


# Out of the API description: its path is any path at all, which a schema cannot describe usefully.
@router.get(WELL_KNOWN + "/{path:path}", include_in_schema=False)
async def resource_metadata(
    path: str, issuer: IssuerDep, audience: AudienceDep, settings: SettingsDep, session: SessionDep
) -> JSONResponse:
    """The document of the resource at the issuer's origin with PATH (§3.1); 404 for any other."""
    uri = resource_at(issuer, path)
    here = {target.uri: target for target in served_here(issuer, settings.realm, settings.mcp)}
    target: Target | None = None
    if uri == audience:
        target = own_api(audience, settings.realm)
    elif uri in here:
        target = here[uri]
    elif uri is not None and (resource := await get_resource(session, uri)) is not None:
        target = Target.registered(resource)
    if target is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such resource here")
    return JSONResponse(document(target, issuer), headers=CACHE)
