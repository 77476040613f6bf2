"""OpenID Connect: a stable subject and profile claims for users; logout addresses and the ID token
algorithm for clients.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

users = sa.table("users", sa.column("id", sa.Integer()), sa.column("subject", sa.String()))
clients = sa.table("clients", sa.column("post_logout_redirect_uris", sa.Text()))


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("subject", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("name", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("given_name", sa.String(length=150), nullable=True))
        batch.add_column(sa.Column("family_name", sa.String(length=150), nullable=True))
        batch.add_column(sa.Column("email", sa.String(length=320), nullable=True))
        batch.add_column(sa.Column("email_verified", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("updated_at", sa.BigInteger(), nullable=True))
    connection = op.get_bind()
    # Written out here, not imported: a migration must do tomorrow what it does today.
    for (user_id,) in connection.execute(sa.select(users.c.id)):
        connection.execute(users.update().where(users.c.id == user_id).values(subject=secrets.token_urlsafe(16)))
    with op.batch_alter_table("users") as batch:
        batch.alter_column("subject", existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint(batch.f("uq_users_subject"), ["subject"])
    # TEXT columns take no default on every MySQL: added empty, filled, then made required.
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("post_logout_redirect_uris", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("id_token_signed_response_alg", sa.String(length=16), server_default="RS256", nullable=False)
        )
    connection.execute(clients.update().values(post_logout_redirect_uris=""))
    with op.batch_alter_table("clients") as batch:
        batch.alter_column("post_logout_redirect_uris", existing_type=sa.Text(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("id_token_signed_response_alg")
        batch.drop_column("post_logout_redirect_uris")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(batch.f("uq_users_subject"), type_="unique")
        for column in ("updated_at", "email_verified", "email", "family_name", "given_name", "name", "subject"):
            batch.drop_column(column)
