"""Connected apps (OWASP ASVS 5.0 V10.7.2, V10.7.3): the clients a user approved, what each may do
and when it last got tokens, and withdrawing one's access, which ends every token it holds for the user;
and deleting a client, which ends every token it holds for anyone."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from ..audit import trail as audit
from ..config import Settings
from ..storage.token_store import TokenStore
from ..tokens.revocation import revoke_app_tokens, revoke_user_tokens
from .clients import CLIENT_ID_LENGTH, delete_client
from .consents import OWN_API, approvals, approvals_of, consenting_users, forget_consent, has_consent
from .grants.client_credentials import CLIENT_SUBJECT_PREFIX
from .scopes import describe


@dataclass(frozen=True, slots=True)
class ConnectedApp:
    client_id: str
    name: str
    # Each approved scope with what it lets the app do.
    scopes: list[tuple[str, str]]
    # The other APIs (RFC 8707 resources) it was approved for, by URI.
    resources: list[str]
    # Unix seconds of the last tokens the app got for the user; None if it never did.
    last_used_at: int | None


async def connected_apps(session: AsyncSession, username: str) -> list[ConnectedApp]:
    return [
        ConnectedApp(
            client_id=client.client_id,
            name=client.name,
            scopes=[(scope, describe(scope)) for scope in sorted(consent.scopes.split())],
            resources=sorted(api for api in approvals_of(consent) if api != OWN_API),
            last_used_at=consent.last_used_at,
        )
        for consent, client in await approvals(session, username)
    ]


async def withdraw(session: AsyncSession, store: TokenStore, settings: Settings, username: str, client_id: str) -> bool:
    """End CLIENT_ID's access to the user's account: its refresh and access tokens and its codes in
    flight stop working, on every process, and it must ask for approval again. False when it was
    not a connected app of the user (nothing is recorded then, whatever CLIENT_ID a form sends)."""
    if len(client_id) > CLIENT_ID_LENGTH or not await has_consent(session, username, client_id):
        return False
    # Revoked before the approval is deleted: were the store unreachable, the app stays listed
    # and the user can try again. And again after it: an authorization that read the approval
    # before it was gone (a silent `prompt=none` request) may have begun after the first revocation,
    # but not after the second (its code's grant begins when it read the approval).
    await revoke_app_tokens(store, settings, username, client_id)
    await forget_consent(session, username, client_id)
    await revoke_app_tokens(store, settings, username, client_id)
    audit.record("consent.withdrawn", actor=audit.on_behalf_of(username), subject=username, client_id=client_id)
    return True


async def delete_client_and_tokens(
    session: AsyncSession, store: TokenStore, settings: Settings, client_id: str, *, actor: str | None = None
) -> None:
    """Delete the client (RFC 7592 §2.3) with its consents, and end its tokens and codes in flight for
    every user who approved it, on every process: as a withdrawal does, revoked before and after; and
    the access tokens it got for itself (client credentials)."""
    await end_own_tokens(store, client_id)
    usernames = await consenting_users(session, client_id)
    for username in usernames:
        await revoke_app_tokens(store, settings, username, client_id)
    await delete_client(session, client_id, actor=actor)
    for username in usernames:
        await revoke_app_tokens(store, settings, username, client_id)


async def end_own_tokens(store: TokenStore, client_id: str) -> None:
    """Revoke the access tokens CLIENT_ID got for itself until now (client credentials: their subject is
    the client), on every process: after its secret is replaced, none got with the old one works."""
    await revoke_user_tokens(store, CLIENT_SUBJECT_PREFIX + client_id)
