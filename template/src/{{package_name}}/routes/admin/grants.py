"""The admin API's grants: the clients a user approved (its connected apps), and withdrawing one's access
or every one's, which ends the tokens each holds for the user; and the user's refresh grants (each sign-in
that refresh tokens carry on, first-party ones included), ending one at a time."""

from typing import Annotated

from fastapi import HTTPException, Path, status
from pydantic import BaseModel

from ...deps import SessionDep, SettingsDep, TokenStoreDep
from ...oauth.connected_apps import ConnectedApp, connected_apps, withdraw
from ...storage.models import RefreshGrant
from ...tokens.refresh_grants import GRANT_ID_PATTERN, end_refresh_grant, live_grants, refresh_grants_after
from .guard import admin_router
from .paging import DEFAULT_LIMIT, Cursor, Limit, Page, cursor_after, position_of
from .parameters import ClientId, Username
from .users import existing_user

GrantId = Annotated[str, Path(pattern=GRANT_ID_PATTERN)]

router = admin_router()


class GrantView(BaseModel):
    client_id: str
    name: str
    scopes: list[str]
    # The other APIs (RFC 8707 resources) it was approved for, by URI.
    resources: list[str]
    # Unix seconds of the last tokens the client got for the user; None if it never did.
    last_used_at: int | None

    @classmethod
    def of(cls, app: ConnectedApp) -> "GrantView":
        return cls(
            client_id=app.client_id,
            name=app.name,
            scopes=[scope for scope, _meaning in app.scopes],
            resources=app.resources,
            last_used_at=app.last_used_at,
        )


@router.get("/admin/users/{username}/grants")
async def list_grants(username: Username, session: SessionDep) -> list[GrantView]:
    return [
        GrantView.of(app) for app in await connected_apps(session, (await existing_user(session, username)).username)
    ]


@router.delete("/admin/users/{username}/grants", status_code=status.HTTP_204_NO_CONTENT)
async def withdraw_all(username: Username, session: SessionDep, store: TokenStoreDep, settings: SettingsDep) -> None:
    """Withdraw every client's access: each must ask the user's approval again."""
    username = (await existing_user(session, username)).username
    for app in await connected_apps(session, username):
        await withdraw(session, store, settings, username, app.client_id)


@router.delete("/admin/users/{username}/grants/{client_id:path}", status_code=status.HTTP_204_NO_CONTENT)
async def withdraw_one(
    username: Username, client_id: ClientId, session: SessionDep, store: TokenStoreDep, settings: SettingsDep
) -> None:
    if not await withdraw(session, store, settings, (await existing_user(session, username)).username, client_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "The user has not approved this client")


class RefreshGrantView(BaseModel):
    grant_id: str
    client_id: str
    scopes: list[str]
    # Unix seconds: of the sign-in the grant began with, of its start, of its last refresh token, of its end.
    auth_time: int
    granted_at: int
    refreshed_at: int
    expires_at: int

    @classmethod
    def of(cls, grant: RefreshGrant) -> "RefreshGrantView":
        return cls(
            grant_id=grant.grant_id,
            client_id=grant.client_id,
            scopes=grant.scopes.split(),
            auth_time=grant.auth_time,
            granted_at=grant.granted_at,
            refreshed_at=grant.refreshed_at,
            expires_at=grant.expires_at,
        )


@router.get("/admin/users/{username}/refresh-grants", response_model=Page[RefreshGrantView])
async def list_refresh_grants(
    username: Username,
    session: SessionDep,
    store: TokenStoreDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[RefreshGrantView]:
    """The grants whose refresh tokens still work, by id: a page may hold fewer than `limit` when some
    of those it covers have ended."""
    user = await existing_user(session, username)
    grants = await refresh_grants_after(session, user.username, position_of(cursor, str), limit + 1)
    covered = grants[:limit]
    return Page(
        items=[RefreshGrantView.of(grant) for grant in await live_grants(store, covered, user.credentials_changed_at)],
        next_cursor=cursor_after(covered[-1].grant_id) if len(grants) > limit else None,
    )


@router.delete("/admin/users/{username}/refresh-grants/{grant_id}", status_code=status.HTTP_204_NO_CONTENT)
async def end_one_refresh_grant(
    username: Username, grant_id: GrantId, session: SessionDep, store: TokenStoreDep, settings: SettingsDep
) -> None:
    """End one grant: its refresh tokens and the access tokens issued through it stop working, on every process."""
    user = await existing_user(session, username)
    ended = await end_refresh_grant(session, store, settings, user, grant_id)
    if ended is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "The user has no such grant")
