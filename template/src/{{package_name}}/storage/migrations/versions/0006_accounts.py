"""Accounts people run themselves: users are looked up by e-mail address; every approval of a
client is kept (a connected app), remembered or not, with when the client last got tokens.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

users = sa.table(
    "users", sa.column("id", sa.Integer()), sa.column("email", sa.String()), sa.column("email_key", sa.String())
)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email_key", sa.String(length=320), nullable=True))
        batch.create_index(batch.f("ix_users_email_key"), ["email_key"])
    connection = op.get_bind()
    # Written out here, not imported (a migration must do tomorrow what it does today): the address
    # folded as accounts/casefold.py folds it.
    rows = connection.execute(sa.select(users.c.id, users.c.email).where(users.c.email.is_not(None))).all()
    for user_id, email in rows:
        connection.execute(
            users.update()
            .where(users.c.id == user_id)
            .values(email_key=unicodedata.normalize("NFKC", email).casefold())
        )
    with op.batch_alter_table("consents") as batch:
        batch.add_column(sa.Column("remembered", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch.add_column(sa.Column("last_used_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("consents") as batch:
        batch.drop_column("last_used_at")
        batch.drop_column("remembered")
    with op.batch_alter_table("users") as batch:
        batch.drop_index(batch.f("ix_users_email_key"))
        batch.drop_column("email_key")
