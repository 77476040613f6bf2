"""A sign-in sent to an upstream provider, until the browser comes back: its `state`, PKCE verifier
and nonce, kept in the token store under the state, and bound to the browser that left by a cookie
of its own, so that a response cannot be finished in another browser (a planted sign-in), nor twice,
nor at another provider's callback."""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request, Response

from ..config import Settings, issuer_of
from ..cookies import delete_cookie, read_cookie, set_cookie
from ..oauth.authorization_requests import authorization_query
from ..storage.record_keys import store_key
from ..storage.token_store import TokenStore

BROWSER_COOKIE = "upstream_sign_in"
# A state this service made is 43 characters; anything far longer is not one.
MAX_STATE_LENGTH = 128


@dataclass(frozen=True, slots=True)
class PendingSignIn:
    provider: str
    code_verifier: str
    nonce: str
    # The authorization request to go on with (empty: the account page).
    then: dict[str, str]
    # Set when a signed-in user links the provider's account to theirs, rather than signing in.
    link_to: str | None


class PendingSignInInvalid(Exception):
    """The response belongs to no sign-in of this browser's at this provider, or was used already."""


def _key(state: str) -> str:
    return store_key("upstream", state)


def code_challenge(code_verifier: str) -> str:
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def begin(
    store: TokenStore,
    settings: Settings,
    request: Request,
    response: Response,
    pending: PendingSignIn,
) -> str:
    """Keep PENDING and bind it to the browser; its `state`. One browser has one pending sign-in at
    a time: a second tab's start replaces the first's."""
    state = secrets.token_urlsafe(32)
    browser = secrets.token_urlsafe(32)
    ttl = settings.upstream_sign_in_minutes * 60
    record = {
        "provider": pending.provider,
        "code_verifier": pending.code_verifier,
        "nonce": pending.nonce,
        "then": pending.then,
        "link_to": pending.link_to,
        "browser": _digest(browser),
    }
    await store.put(_key(state), record, ttl)
    set_cookie(response, request, settings, BROWSER_COOKIE, browser, ttl)
    return state


async def finish(
    store: TokenStore, request: Request, settings: Settings, provider: str, state: str | None
) -> PendingSignIn:
    """The pending sign-in STATE names, used up; PendingSignInInvalid unless it is this browser's, at
    PROVIDER, and not used before. The answer should `forget` the browser's cookie."""
    browser = read_cookie(request, settings, BROWSER_COOKIE)
    if not state or len(state) > MAX_STATE_LENGTH or not browser:
        raise PendingSignInInvalid
    claimed = await store.claim(_key(state))
    if claimed is None:
        raise PendingSignInInvalid
    record, first_used = claimed
    same_browser = hmac.compare_digest(record["browser"].encode(), _digest(browser).encode())
    if first_used is not None or not same_browser or record["provider"] != provider:
        raise PendingSignInInvalid
    return PendingSignIn(
        provider=record["provider"],
        code_verifier=record["code_verifier"],
        nonce=record["nonce"],
        then=dict(record["then"]),
        link_to=record["link_to"],
    )


def forget(response: Response, request: Request, settings: Settings) -> Response:
    """RESPONSE, ending the browser's cookie of its pending sign-in, when it has one."""
    if read_cookie(request, settings, BROWSER_COOKIE) is not None:
        delete_cookie(response, request, settings, BROWSER_COOKIE)
    return response


def _digest(browser: str) -> str:
    return hashlib.sha256(browser.encode("utf-8", "surrogatepass")).hexdigest()


def start_links(request: Request, settings: Settings, then: dict[str, str]) -> list[tuple[str, str]]:
    """The login page's "Sign in with ..." links, each carrying THEN (the authorization request) along."""
    query = f"?{authorization_query(then)}" if then else ""
    issuer = issuer_of(request, settings)
    return [
        (provider.display_name, f"{issuer}/upstream/{provider.name}/start{query}") for provider in settings.providers
    ]


def link_actions(request: Request, settings: Settings) -> list[tuple[str, str]]:
    """The account page's "Link a ... account" forms' actions."""
    issuer = issuer_of(request, settings)
    return [
        (provider.display_name, f"{issuer}/account/upstream/{provider.name}/link") for provider in settings.providers
    ]
