"""Sync with the MedMitra API: server ids on cases and documents, per-case sync state,
the agreed base and pending conflicts, and a sent mark on outbox rows.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("remote_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("sync_state", sa.String(length=12), nullable=False,
                                      server_default="local"))
        batch_op.add_column(sa.Column("sync_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("remote_base", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("sync_conflict", sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f("ix_cases_remote_id"), ["remote_id"], unique=False)
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("remote_id", sa.String(length=64), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sent_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("sent_at")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("remote_id")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_remote_id"))
        for name in ("sync_conflict", "remote_base", "sync_error", "sync_state", "remote_id"):
            batch_op.drop_column(name)
