"""publishing and pledge totals

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.crypto
import storage.models

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("child_case", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("published_at", storage.models.UTCDateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("need", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pledged", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("received", sa.BigInteger(), server_default="0", nullable=False)
        )

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("batch", sa.Integer(), nullable=True))
        batch_op.alter_column(
            "status",
            existing_type=sa.VARCHAR(length=8),
            type_=sa.String(length=10),
            existing_nullable=False,
        )
        batch_op.create_index(batch_op.f("ix_outbox_batch"), ["batch"], unique=False)

    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notify", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_column("notify")

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_batch"))
        batch_op.alter_column(
            "status",
            existing_type=sa.String(length=10),
            type_=sa.VARCHAR(length=8),
            existing_nullable=False,
        )
        batch_op.drop_column("batch")

    with op.batch_alter_table("need", schema=None) as batch_op:
        batch_op.drop_column("received")
        batch_op.drop_column("pledged")

    with op.batch_alter_table("child_case", schema=None) as batch_op:
        batch_op.drop_column("published_at")
