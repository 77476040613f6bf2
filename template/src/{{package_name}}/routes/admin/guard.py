"""The router every admin route is made on: its dependency checks the caller's token (`admin` scope)
before anything else runs, and its tag makes the errors problem details (error_handlers.py). Both are
set on each route as it is made, so no admin route can be added without them."""

from fastapi import APIRouter, Depends

from ...deps import admin_caller
from ...error_handlers import ADMIN_TAG


def admin_router() -> APIRouter:
    return APIRouter(tags=[ADMIN_TAG], dependencies=[Depends(admin_caller)])
