"""staff: case process dates, questions to reporters, support deliveries, broadcasts, and the
indexes that let the summaries count a million cases without reading case rows

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.crypto
import storage.models

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "case_track",
        sa.Column("case_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("verified_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("verified_by", sa.Integer(), nullable=True),
        sa.Column("plan_due", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("plan_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("handled_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("supported_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("checked_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("erased_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["child_case.id"]),
        sa.ForeignKeyConstraint(["duplicate_of"], ["child_case.id"]),
        sa.ForeignKeyConstraint(["verified_by"], ["person.id"]),
        sa.PrimaryKeyConstraint("case_id"),
    )
    # Verified cases still waiting for a support plan, by due time: /quahan and the digest.
    # (PostgreSQL indexes INCLUDE the ids the queries return, for index-only scans; in SQLite the
    # integer primary key is in every index already.)
    op.create_index("ix_track_plan_due", "case_track", ["plan_due"], unique=False, postgresql_include=["case_id"],
                    sqlite_where=sa.text("plan_at IS NULL"), postgresql_where=sa.text("plan_at IS NULL"))

    op.create_table(
        "reporter_question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("asked_by", sa.Integer(), nullable=True),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("question", storage.crypto.EncryptedText(), nullable=True),
        sa.Column("asked_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answer", storage.crypto.EncryptedText(), nullable=True),
        sa.Column("answered_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["asked_by"], ["person.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["child_case.id"]),
        sa.ForeignKeyConstraint(["reporter_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("reporter_question", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reporter_question_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reporter_question_reporter_id"), ["reporter_id"], unique=False)

    op.create_table(
        "support_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("what", storage.crypto.EncryptedText(), nullable=True),
        sa.Column("value", sa.BigInteger(), nullable=True),
        sa.Column("delivered_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["child_case.id"]),
        sa.ForeignKeyConstraint(["recorded_by"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("support_delivery", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_support_delivery_case_id"), ["case_id"], unique=False)

    op.create_table(
        "broadcast",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("commune_code", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("queued_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
    )

    # Summary indexes: each aggregate of storage/summaries.py is answered from one index.
    op.create_index("ix_case_status_risk", "child_case", ["status", "risk"], unique=False, postgresql_include=["id"])
    op.create_index("ix_case_status_created", "child_case", ["status", "created_at"], unique=False)
    op.create_index("ix_case_place_status", "child_case", ["province_code", "commune_code", "status"], unique=False)
    if postgres:  # a json value has no ordering: index its text, as the query groups it; the
        # planner allows an index-only scan of an expression only with the column itself inside
        op.execute("CREATE INDEX ix_case_groups_status ON child_case ((CAST(groups AS VARCHAR)), status) INCLUDE (groups)")
    else:
        op.create_index("ix_case_groups_status", "child_case", ["groups", "status"], unique=False)
    danger = "danger" if postgres else "danger = 1"
    op.create_index("ix_case_emergency_due", "child_case", ["respond_by"], unique=False, postgresql_include=["id"],
                    sqlite_where=sa.text(f"status = 'new' AND {danger}"), postgresql_where=sa.text(f"status = 'new' AND {danger}"))
    op.create_index("ix_case_published", "child_case", ["id"], unique=False,
                    sqlite_where=sa.text("published_at IS NOT NULL"), postgresql_where=sa.text("published_at IS NOT NULL"))
    op.create_index("ix_need_case_funding", "need", ["case_id", "amount", "pledged"], unique=False)
    op.create_index("ix_need_money", "need", ["pledged", "received"], unique=False,
                    sqlite_where=sa.text("pledged + received > 0"), postgresql_where=sa.text("pledged + received > 0"))
    op.create_index("ix_outbox_batch_status", "outbox", ["batch", "kind", "status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_batch_status", table_name="outbox")
    op.drop_index("ix_need_money", table_name="need")
    op.drop_index("ix_need_case_funding", table_name="need")
    op.drop_index("ix_case_published", table_name="child_case")
    op.drop_index("ix_case_emergency_due", table_name="child_case")
    op.drop_index("ix_case_groups_status", table_name="child_case")
    op.drop_index("ix_case_place_status", table_name="child_case")
    op.drop_index("ix_case_status_created", table_name="child_case")
    op.drop_index("ix_case_status_risk", table_name="child_case")
    op.drop_table("broadcast")
    with op.batch_alter_table("support_delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_delivery_case_id"))
    op.drop_table("support_delivery")
    with op.batch_alter_table("reporter_question", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reporter_question_reporter_id"))
        batch_op.drop_index(batch_op.f("ix_reporter_question_case_id"))
    op.drop_table("reporter_question")
    op.drop_index("ix_track_plan_due", table_name="case_track")
    op.drop_table("case_track")
