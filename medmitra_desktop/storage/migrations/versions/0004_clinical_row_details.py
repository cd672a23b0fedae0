"""Keep what the parsers report: lab flag notes, critical marks, OCR repairs, printed test
names; radiology historical / hypothetical / family-history mentions.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 07:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lab_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("flag_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("critical", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column("repaired", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("test_printed", sa.String(length=200), nullable=True))
    with op.batch_alter_table("radiology_observations", schema=None) as batch_op:
        for name in ("historical", "hypothetical", "family"):
            batch_op.add_column(sa.Column(name, sa.Boolean(), nullable=False,
                                          server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("radiology_observations", schema=None) as batch_op:
        for name in ("family", "hypothetical", "historical"):
            batch_op.drop_column(name)
    with op.batch_alter_table("lab_results", schema=None) as batch_op:
        for name in ("test_printed", "repaired", "critical", "flag_note"):
            batch_op.drop_column(name)
