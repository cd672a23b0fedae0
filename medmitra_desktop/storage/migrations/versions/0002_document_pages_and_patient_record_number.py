"""Extracted page text per document; the clinic's patient record number on a case.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 06:21:56.395670
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "document_pages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("mean_confidence", sa.Float(), nullable=True),
        sa.Column("words", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("document_pages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_document_pages_document_id"), ["document_id"], unique=False
        )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("patient_record_number", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_cases_patient_record_number"), ["patient_record_number"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_patient_record_number"))
        batch_op.drop_column("patient_record_number")
    with op.batch_alter_table("document_pages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_pages_document_id"))
    op.drop_table("document_pages")
