"""donors: profiles, donor-facing codes, pledges

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.crypto
import storage.models

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "donor_profile",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("display_name", storage.crypto.EncryptedText(), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("provinces", sa.JSON(), nullable=False),
        sa.Column("digest", sa.Boolean(), nullable=False),
        sa.Column("last_digest_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("person_id"),
    )
    op.create_table(
        "donor_code",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["child_case.id"]),
        sa.PrimaryKeyConstraint("case_id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "pledge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=12), nullable=False),
        sa.Column("donor_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("goods", storage.crypto.EncryptedText(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("contact", storage.crypto.EncryptedText(), nullable=True),
        sa.Column("message", storage.crypto.EncryptedText(), nullable=True),
        sa.Column("message_status", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("received_amount", sa.BigInteger(), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("thanked_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_notice_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["child_case.id"]),
        sa.ForeignKeyConstraint(["decided_by"], ["person.id"]),
        sa.ForeignKeyConstraint(["donor_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["need_id"], ["need.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ref"),
    )
    with op.batch_alter_table("pledge", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pledge_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pledge_donor_id"), ["donor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pledge_need_id"), ["need_id"], unique=False)
        batch_op.create_index("ix_pledge_status_created", ["status", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pledge", schema=None) as batch_op:
        batch_op.drop_index("ix_pledge_status_created")
        batch_op.drop_index(batch_op.f("ix_pledge_need_id"))
        batch_op.drop_index(batch_op.f("ix_pledge_donor_id"))
        batch_op.drop_index(batch_op.f("ix_pledge_case_id"))
    op.drop_table("pledge")
    op.drop_table("donor_code")
    op.drop_table("donor_profile")
