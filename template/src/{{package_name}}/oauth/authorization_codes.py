"""Authorization codes (RFC 6749 §4.1.2): single use, at most 60 seconds, bound to the client, the
redirect URI and the PKCE challenge. Only their hashes are stored."""

import secrets
from typing import Any

from ..errors import InvalidGrant
from ..storage.models import Client
from ..storage.record_keys import store_key
from ..storage.token_store import TokenStore
from ..tokens.revocation import revoke_grant
from .pkce import verifier_matches

LIFETIME_SECONDS = 60


def _key(code: str) -> str:
    return store_key("code", code)


async def create_code(
    store: TokenStore,
    *,
    client_id: str,
    redirect_uri: str,
    redirect_uri_given: bool,
    subject: str,
    scopes: frozenset[str],
    code_challenge: str | None,
    auth_time: int,
    methods: tuple[str, ...],
    approved_at: float,
    nonce: str | None = None,
    resources: list[str] | None = None,
) -> str:
    """A new code; APPROVED_AT is when the approval it rests on was seen (read, or given), no later."""
    code = secrets.token_urlsafe(32)
    record = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "redirect_uri_given": redirect_uri_given,
        "subject": subject,
        "scopes": sorted(scopes),
        "code_challenge": code_challenge,
        "auth_time": auth_time,
        # How the user signed in: the ID token's `amr` and `acr`.
        "amr": list(methods),
        # When the approval was seen: the grant begins then, not at the code's making or exchange, so
        # a withdrawal of the client's access after that ends this code too.
        "issued_at": approved_at,
        # OpenID Connect: echoed in the ID token, binding it to the relying party's request.
        "nonce": nonce,
        # RFC 8707: the resources approved; the token request may ask for fewer, never for more.
        "resources": resources or [],
        # Every token issued from this code carries this id, so a replay can revoke them all.
        "grant_id": secrets.token_urlsafe(16),
    }
    await store.put(_key(code), record, LIFETIME_SECONDS)
    return code


async def redeem_code(
    store: TokenStore,
    code: str,
    *,
    client: Client,
    redirect_uri: str | None,
    code_verifier: str | None,
    revoke_for_seconds: int,
) -> dict[str, Any]:
    """The code's record, once; every check of RFC 6749 §4.1.3 and RFC 7636 §4.6."""
    claimed = await store.claim(_key(code))
    if claimed is None:
        raise InvalidGrant("The authorization code is invalid or has expired")
    record, used_before = claimed
    if used_before is not None:
        # RFC 6749 §4.1.2: a code used twice revokes the tokens already issued from it.
        await revoke_grant(store, record["grant_id"], revoke_for_seconds)
        raise InvalidGrant("The authorization code was already used")
    if record["client_id"] != client.client_id:
        raise InvalidGrant("The authorization code was issued to another client")
    if (record["redirect_uri_given"] or redirect_uri is not None) and redirect_uri != record["redirect_uri"]:
        raise InvalidGrant("redirect_uri does not match the authorization request")
    challenge = record["code_challenge"]
    if challenge is None:
        if code_verifier is not None:
            raise InvalidGrant("code_verifier sent, but the authorization had no code_challenge")
    elif code_verifier is None or not verifier_matches(code_verifier, challenge):
        raise InvalidGrant("The code_verifier does not match the code_challenge")
    return record
