"""Client registration: clients that registered themselves (RFC 7591) or are described by a Client ID
Metadata Document, whose URL is their id, so client ids grow to 255 characters.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONSENTS_CLIENT = "fk_consents_client_id_clients"


def upgrade() -> None:
    _resize_client_ids(sa.String(length=64), sa.String(length=255))
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("registered_by", sa.String(length=16), server_default="operator", nullable=False))
        batch.add_column(sa.Column("registration_token_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("last_used_at", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("metadata_fresh_until", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # Clients whose ids no longer fit, and what refers to them, cannot survive the downgrade.
    op.execute(sa.text("DELETE FROM clients WHERE registered_by <> 'operator'"))
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("metadata_fresh_until")
        batch.drop_column("last_used_at")
        batch.drop_column("registration_token_hash")
        batch.drop_column("registered_by")
    _resize_client_ids(sa.String(length=255), sa.String(length=64))


def _resize_client_ids(old: sa.String, new: sa.String) -> None:
    # MySQL will not change a column a foreign key joins, so the key goes while both sides change.
    with op.batch_alter_table("consents") as batch:
        batch.drop_constraint(CONSENTS_CLIENT, type_="foreignkey")
    with op.batch_alter_table("clients") as batch:
        batch.alter_column("client_id", existing_type=old, type_=new, existing_nullable=False)
    with op.batch_alter_table("consents") as batch:
        batch.alter_column("client_id", existing_type=old, type_=new, existing_nullable=False)
        batch.create_foreign_key(CONSENTS_CLIENT, "clients", ["client_id"], ["client_id"], ondelete="CASCADE")
