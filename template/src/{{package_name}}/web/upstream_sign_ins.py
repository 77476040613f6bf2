"""A sign-in sent to an upstream provider, until the browser comes back: its `state`, PKCE verifier
and nonce, kept in the token store under the state, and bound to the browser that left by a cookie
of its own, so that a response cannot be finished in another browser (a planted sign-in), nor twice,
nor at another provider's callback."""

import base64
import hashlib
import hmac
import secrets
import time
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
    state: str
    # The browser's secret, in its cookie alone: the PKCE verifier is derived from it and the state,
    # so the token store holds nothing that redeems the code.
    browser: str
    nonce: str
    # The authorization request to go on with (empty: the account page).
    then: dict[str, str]
    # Set when a signed-in user links the provider's account to theirs, rather than signing in.
    link_to: str | None
    # Unix seconds of the start: a sign-in the client asked to be fresh must be this recent at the provider.
    started_at: int
    reauthenticate: bool

    @property
    def code_verifier(self) -> str:
        # RFC 7636 §4.1: 32 bytes in base64url, 43 characters.
        digest = hashlib.sha256(f"pkce\0{self.browser}\0{self.state}".encode("utf-8", "surrogatepass")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    @property
    def code_challenge(self) -> str:
        digest = hashlib.sha256(self.code_verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class PendingSignInInvalid(Exception):
    """The response belongs to no sign-in of this browser's at this provider, or was used already."""


def _key(state: str) -> str:
    return store_key("upstream", state)


def new_pending(provider: str, then: dict[str, str], *, link_to: str | None, reauthenticate: bool) -> PendingSignIn:
    return PendingSignIn(
        provider=provider,
        state=secrets.token_urlsafe(32),
        browser=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        then=then,
        link_to=link_to,
        started_at=int(time.time()),
        reauthenticate=reauthenticate,
    )


async def keep(
    store: TokenStore, settings: Settings, request: Request, response: Response, pending: PendingSignIn
) -> None:
    """Keep PENDING until the browser is back, and bind it to the browser. One browser has one
    pending sign-in at a time: a second tab's start replaces the first's cookie."""
    ttl = settings.upstream_sign_in_minutes * 60
    record = {
        "provider": pending.provider,
        "nonce": pending.nonce,
        "then": pending.then,
        "link_to": pending.link_to,
        "started_at": pending.started_at,
        "reauthenticate": pending.reauthenticate,
        "browser": _digest(pending.browser),
    }
    await store.put(_key(pending.state), record, ttl)
    set_cookie(response, request, settings, BROWSER_COOKIE, pending.browser, ttl)


async def finish(
    store: TokenStore, request: Request, settings: Settings, provider: str, state: str | None
) -> PendingSignIn:
    """The pending sign-in STATE names, used up; PendingSignInInvalid unless it is this browser's, at
    PROVIDER, and not used before. Checked before it is used up: a state seen elsewhere (in a log, a
    Referer) cannot cancel the browser's sign-in. The answer should `forget` the browser's cookie."""
    browser = read_cookie(request, settings, BROWSER_COOKIE)
    if not state or len(state) > MAX_STATE_LENGTH or not browser:
        raise PendingSignInInvalid
    record = await store.get(_key(state))
    if record is None or record["provider"] != provider:
        raise PendingSignInInvalid
    if not hmac.compare_digest(record["browser"].encode(), _digest(browser).encode()):
        raise PendingSignInInvalid
    claimed = await store.claim(_key(state))
    if claimed is None or claimed[1] is not None:
        raise PendingSignInInvalid
    return PendingSignIn(
        provider=record["provider"],
        state=state,
        browser=browser,
        nonce=record["nonce"],
        then=dict(record["then"]),
        link_to=record["link_to"],
        started_at=record["started_at"],
        reauthenticate=record["reauthenticate"],
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
