"""Faster case list: covering filter indexes; FTS with 1-letter prefixes, live cases only.

Measured with tests/benchmarks/bench_case_store.py on 100,000 cases: filtered counts and
the status sort stop reading every row, and search-as-you-type from the first letter
stays under 50 ms at p95.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 07:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FTS_COLUMNS = "patient_name, notes, documents_text"
TOKENIZER = "tokenize = \"unicode61 remove_diacritics 2 categories 'L* N* Co M*'\""


def _rebuild_search(prefix: str, live_only: bool) -> None:
    op.execute(f"CREATE VIRTUAL TABLE case_search_new USING fts5({FTS_COLUMNS}, {TOKENIZER}, "
               f"prefix = '{prefix}')")
    where = "WHERE rowid IN (SELECT id FROM cases WHERE deleted_at IS NULL)" if live_only else ""
    op.execute(f"INSERT INTO case_search_new(rowid, {FTS_COLUMNS}) "
               f"SELECT rowid, {FTS_COLUMNS} FROM case_search {where}")
    op.execute("DROP TABLE case_search")
    op.execute("ALTER TABLE case_search_new RENAME TO case_search")


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cases_live_filter",
            ["deleted_at", "patient_age", "patient_gender", "status", "created_at",
             "updated_at"],
            unique=False,
        )
        batch_op.create_index("ix_cases_live_status_sort", ["deleted_at", "status"],
                              unique=False)
    op.execute("CREATE INDEX ix_cases_live_ids ON cases (deleted_at) WHERE deleted_at IS NULL")
    # Trashed cases leave the index, so a search-only count is a plain FTS count.
    _rebuild_search("1 2 3", live_only=True)


def downgrade() -> None:
    # Trashed cases come back into the older index, which searched them too.
    _rebuild_search("2 3", live_only=False)
    op.execute(
        "INSERT INTO case_search(rowid, patient_name, notes, documents_text) "
        "SELECT id, patient_name, case_summary, '' FROM cases WHERE deleted_at IS NOT NULL"
    )
    op.execute("DROP INDEX ix_cases_live_ids")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_live_status_sort")
        batch_op.drop_index("ix_cases_live_filter")
