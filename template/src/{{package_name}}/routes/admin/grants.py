"""The admin API's grants: the clients a user approved (its connected apps), and withdrawing one's access
or every one's, which ends the tokens each holds for the user."""

from fastapi import HTTPException, status
from pydantic import BaseModel

from ...deps import SessionDep, SettingsDep, TokenStoreDep
from ...oauth.connected_apps import ConnectedApp, connected_apps, withdraw
from .guard import admin_router
from .parameters import ClientId, Username
from .users import existing_user

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
