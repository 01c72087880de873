"""links: account links across channels (one-time codes) and file links (Zalo)

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.crypto
import storage.models

revision: str = "0006"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "link_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
    )
    with op.batch_alter_table("link_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_link_code_person_id"), ["person_id"], unique=False)

    op.create_table(
        "person_link",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("linked_id", sa.Integer(), nullable=False),
        sa.Column("vouched", sa.Boolean(), nullable=False),
        sa.Column("prior_role", sa.String(length=16), nullable=True),
        sa.Column("prior_province", sa.Integer(), nullable=True),
        sa.Column("prior_commune", sa.Integer(), nullable=True),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["linked_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("person_id"),
    )
    with op.batch_alter_table("person_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_link_linked_id"), ["linked_id"], unique=False)

    op.create_table(
        "shared_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("content", storage.crypto.EncryptedText(), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("shared_file", schema=None) as batch_op:
        batch_op.create_index("ix_shared_file_expires", ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("shared_file", schema=None) as batch_op:
        batch_op.drop_index("ix_shared_file_expires")
    op.drop_table("shared_file")
    with op.batch_alter_table("person_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_link_linked_id"))
    op.drop_table("person_link")
    with op.batch_alter_table("link_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_code_person_id"))
    op.drop_table("link_code")
