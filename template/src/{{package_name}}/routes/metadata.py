"""Discovery: RFC 8414 authorization server metadata and OpenID Connect Discovery 1.0, one document.

Both are built by one function, so the two never disagree on anything they both describe.
"""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ..accounts.authentication_methods import LEVELS
from ..accounts.profiles import CLAIMS_SUPPORTED
from ..config import Settings
from ..deps import IssuerDep, SettingsDep
from ..oauth.authorization_requests import PROMPTS
from ..oauth.client_auth import AUTH_METHODS
from ..oauth.grants.supported import offered_grant_types
from ..oauth.pkce import METHOD
from ..oauth.scopes import SCOPES
from ..tokens.id_tokens import ALGORITHMS as ID_TOKEN_ALGORITHMS

router = APIRouter(tags=["discovery"])
# Read by every client at start: cacheable, but not for long, so a new endpoint or key shows soon.
CACHE = {"Cache-Control": "public, max-age=300"}


@router.get("/.well-known/oauth-authorization-server")
async def authorization_server_metadata(request: Request, issuer: IssuerDep, settings: SettingsDep) -> JSONResponse:
    return JSONResponse(server_metadata(request, issuer, settings), headers=CACHE)


@router.get("/.well-known/openid-configuration")
async def openid_configuration(request: Request, issuer: IssuerDep, settings: SettingsDep) -> JSONResponse:
    return JSONResponse(server_metadata(request, issuer, settings), headers=CACHE)


def server_metadata(request: Request, issuer: str, settings: Settings) -> dict[str, Any]:
    def endpoint(name: str) -> str:
        return issuer + str(request.app.url_path_for(name))

    metadata: dict[str, Any] = {
        "issuer": issuer,
        "authorization_endpoint": endpoint("authorize"),
        "token_endpoint": endpoint("token"),
        "userinfo_endpoint": endpoint("userinfo"),
        "revocation_endpoint": endpoint("revoke"),
        "introspection_endpoint": endpoint("introspect"),
        "end_session_endpoint": endpoint("end_session"),
        "jwks_uri": endpoint("jwks"),
        "grant_types_supported": sorted(offered_grant_types(settings)),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "authorization_response_iss_parameter_supported": True,
        "code_challenge_methods_supported": [METHOD],
        "scopes_supported": sorted(SCOPES),
        "claims_supported": list(CLAIMS_SUPPORTED),
        "acr_values_supported": list(LEVELS),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(ID_TOKEN_ALGORITHMS),
        "prompt_values_supported": sorted(PROMPTS),
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": [method for method in AUTH_METHODS if method != "none"],
        # draft-ietf-oauth-client-id-metadata-document: a client_id may be its metadata document's URL.
        "client_id_metadata_document_supported": settings.client_metadata_documents,
    }
    if settings.client_registration_policy != "off":
        # RFC 7591 §3: where clients register themselves; served only then.
        metadata["registration_endpoint"] = endpoint("register_client")
    return metadata
