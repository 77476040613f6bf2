"""Usernames unique without regard to case, and introspection as a permission of chosen clients.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

import logging
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

logger = logging.getLogger(__name__)
users = sa.table("users", sa.column("id", sa.Integer()), sa.column("username"), sa.column("username_key"))


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("username_key", sa.String(length=255), nullable=True))
    _fill_username_keys()
    with op.batch_alter_table("users") as batch:
        batch.create_unique_constraint(batch.f("uq_users_username_key"), ["username_key"])
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("may_introspect", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("may_introspect")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(batch.f("uq_users_username_key"), type_="unique")
        batch.drop_column("username_key")


def _fill_username_keys() -> None:
    # Written out here, not imported: a migration must do tomorrow what it does today.
    connection = op.get_bind()
    taken: set[str] = set()
    for user_id, username in connection.execute(sa.select(users.c.id, users.c.username).order_by(users.c.id)):
        key = unicodedata.normalize("NFKC", username).casefold()
        if key in taken:
            # Both accounts keep working under their exact names; no new spelling of this name can be added.
            logger.warning("User %r differs only in case from an earlier user; it keeps its exact name", username)
            continue
        taken.add(key)
        connection.execute(users.update().where(users.c.id == user_id).values(username_key=key))
