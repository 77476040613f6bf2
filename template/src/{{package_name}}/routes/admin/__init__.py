"""The admin API (`/admin/...`): users, clients, grants, keys and the audit trail, for access tokens of this
service that carry the `admin` scope (guard.py); its errors are RFC 9457 problem details."""

from fastapi import APIRouter

from . import clients, events, grants, keys, users

router = APIRouter()
router.include_router(users.router)
router.include_router(grants.router)
router.include_router(clients.router)
router.include_router(keys.router)
router.include_router(events.router)
