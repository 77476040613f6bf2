"""What the running application holds, typed, and the one function that reads it from the app."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from starlette.types import ASGIApp

from .accounts.passwords import PasswordHasher
from .accounts.secret_encryption import SecretBox
from .audit.trail import AuditTrail
from .config import Settings
from .federation.upstream_clients import UpstreamClients
from .mail.outgoing import Outgoing
from .outbound.json_documents import JsonFetcher
from .storage.token_store import TokenStore
from .tokens.id_token_keys import IdTokenKeySet
from .tokens.id_tokens import IdTokenSigners
from .tokens.signing_keys import KeySet
from .tokens.verified_tokens import VerifiedTokens


@dataclass(slots=True)
class AppState:
    """Made by the application factory; the password hasher, token store and outgoing mail join at
    start-up, in the event loop that serves the requests."""

    settings: Settings
    keys: KeySet
    id_token_keys: IdTokenKeySet
    id_token_signers: IdTokenSigners
    engine: AsyncEngine
    sessions: async_sessionmaker[Any]
    # What encrypts the authenticator apps' secrets; None only while MFA=off (accounts/secret_encryption.py).
    secret_box: SecretBox | None
    # What access tokens are checked against for expiry; the tests move it instead of sleeping.
    clock: Callable[[], float] = time.time
    verified_tokens: VerifiedTokens = field(init=False)
    # Where the security events go (audit/trail.py): appended from the background while the app runs.
    audit: AuditTrail = field(init=False)
    passwords: PasswordHasher = field(init=False)
    token_store: TokenStore = field(init=False)
    outgoing: Outgoing = field(init=False)
    # What fetches Client ID Metadata Documents; None while CLIENT_METADATA_DOCUMENTS is off.
    client_metadata_fetcher: JsonFetcher | None = field(init=False, default=None)
    # The clients of the upstream providers users may sign in with (federation/upstream_clients.py).
    upstream: UpstreamClients = field(init=False)

    def __post_init__(self) -> None:
        self.verified_tokens = VerifiedTokens(clock=self.clock)
        self.audit = AuditTrail(retention_days=self.settings.audit_retention_days, clock=self.clock)
        self.upstream = UpstreamClients(self.settings.upstream_timeout_seconds)


def app_state(app: ASGIApp) -> AppState:
    """The state of an application made by `create_app` (a FastAPI app, or a test client's)."""
    state: AppState = app.state.app_state  # type: ignore[attr-defined]
    return state
