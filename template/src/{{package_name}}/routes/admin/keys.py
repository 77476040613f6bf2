"""The admin API's keys: for access tokens and for ID tokens, the current, next and previous keys, with
when each previous one stops verifying. Public parts only; a shared secret's key shows none."""

from typing import Literal

from fastapi import Request
from pydantic import BaseModel

from ...app_state import app_state
from ...deps import IdTokenKeysDep, KeysDep
from ...tokens.id_token_keys import IdTokenKeySet
from ...tokens.signing_keys import KeySet
from .guard import admin_router

router = admin_router()


class KeyView(BaseModel):
    kid: str
    alg: str
    # `current` signs; `next` is staged (`rotate-key --prepare`) and verifies; `previous` verifies
    # the tokens it signed until `not_after`.
    status: Literal["current", "next", "previous"]
    # Unix seconds; for a previous key only.
    not_after: int | None
    # The public key as an RFC 7517 JWK while it is published; None for a shared secret.
    jwk: dict[str, object] | None


class KeysView(BaseModel):
    access_tokens: list[KeyView]
    id_tokens: list[KeyView]


@router.get("/admin/keys")
async def show_keys(request: Request, keys: KeysDep, id_token_keys: IdTokenKeysDep) -> KeysView:
    now = app_state(request.app).clock()
    return KeysView(access_tokens=_views(keys, now), id_tokens=_views(id_token_keys, now))


def _views(keys: KeySet | IdTokenKeySet, now: float) -> list[KeyView]:
    published = {str(jwk["kid"]): jwk for jwk in keys.jwks(now)["keys"]}
    views = []
    for kid in keys.verification_keys:
        retirement = keys.retirements.get(kid)
        status: Literal["current", "next", "previous"] = (
            "current" if kid == keys.kid else "next" if retirement is None else "previous"
        )
        not_after = None if retirement is None else retirement.not_after
        views.append(KeyView(kid=kid, alg=keys.algorithm, status=status, not_after=not_after, jwk=published.get(kid)))
    order = {"current": 0, "next": 1, "previous": 2}
    return sorted(views, key=lambda view: (order[view.status], -(view.not_after or 0)))
