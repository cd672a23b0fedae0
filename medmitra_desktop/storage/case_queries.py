"""The case list query: filters, free-text search, sort and paging in SQL (never in Python)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, column, func, literal_column, or_, select, table, text
from sqlalchemy.orm import Session

from ..domain.enums import CaseStatus, Gender, SyncState
from ..domain.records import CaseListItem, CasePage, CaseQuery
from .orm import Case, Document, Medication
from .search_index import match_expression, search_words


def _conditions(query: CaseQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        Case.deleted_at.is_not(None) if query.in_trash else Case.deleted_at.is_(None)
    ]
    if query.statuses:
        conditions.append(Case.status.in_([status.value for status in query.statuses]))
    if query.genders:
        conditions.append(Case.patient_gender.in_([gender.value for gender in query.genders]))
    if query.age_min is not None:
        conditions.append(Case.patient_age >= query.age_min)
    if query.age_max is not None:
        conditions.append(Case.patient_age <= query.age_max)
    if query.created_from is not None:
        conditions.append(Case.created_at >= query.created_from)
    if query.created_to is not None:
        conditions.append(Case.created_at <= query.created_to)
    if query.updated_from is not None:
        conditions.append(Case.updated_at >= query.updated_from)
    if query.updated_to is not None:
        conditions.append(Case.updated_at <= query.updated_to)
    if query.updated_after is not None:
        conditions.append(Case.updated_at > query.updated_after)
    return conditions


# Up to this many hits, a search page is read from the hits and sorted; beyond it, the sort
# index is walked and each row probed against the hits (measured: bench_case_store.py).
FTS_DRIVEN_MAX = 1000

_FTS = table("case_search", column("rowid"))


def _match(expression: str) -> ColumnElement[bool]:
    return text("case_search MATCH :match").bindparams(match=expression)


def _trash_search(words: list[str]) -> ColumnElement[bool]:
    """Trashed cases are not in the FTS index; the trash is small, so LIKE will do."""
    return and_(*[
        or_(Case.patient_name.contains(word, autoescape=True),
            Case.case_summary.contains(word, autoescape=True))
        for word in words
    ])


UNREADABLE_DOCUMENT_STATUSES = ("failed", "needs_password", "ocr_unavailable")


def _needs_review() -> ColumnElement[bool]:
    """Per listed row (a page at a time, through indexed case_id lookups)."""
    unreadable = select(Document.id).where(
        Document.case_id == Case.id, Document.status.in_(UNREADABLE_DOCUMENT_STATUSES))
    flagged = select(Medication.id).where(
        Medication.case_id == Case.id, Medication.review_state == "flagged")
    return and_(Case.status == "completed", or_(unreadable.exists(), flagged.exists()))


def list_cases(session: Session, query: CaseQuery) -> CasePage:
    """One page of cases. The caller has validated the query."""
    conditions = _conditions(query)
    expression: str | None = None
    if query.search and query.search.strip():
        words = search_words(query.search)
        if not words:
            # Only punctuation typed: nothing can match, and nothing breaks.
            return CasePage(items=(), total=0, start=query.start, size=query.size)
        if query.in_trash:
            conditions.append(_trash_search(words))
        else:
            expression = match_expression(query.search)
    where = and_(*conditions)

    if expression is None:
        total = session.execute(select(func.count()).select_from(Case).where(where)).scalar_one()
    elif len(conditions) == 1:
        # Search alone: the index holds exactly the live cases.
        total = session.execute(
            select(func.count()).select_from(_FTS).where(_match(expression))).scalar_one()
    else:
        hit_ids = select(literal_column("rowid")).select_from(_FTS).where(_match(expression))
        total = session.execute(select(func.count()).select_from(Case).where(
            where, Case.id.in_(hit_ids))).scalar_one()
    if query.start > total:
        return CasePage(items=(), total=total, start=query.start, size=query.size)

    sort_column = getattr(Case, query.sort)
    order = sort_column.desc() if query.descending else sort_column.asc()
    tie_break = Case.id.desc() if query.descending else Case.id.asc()
    document_count = (
        select(func.count(Document.id)).where(Document.case_id == Case.id).scalar_subquery()
    )
    statement = select(
        Case.uid, Case.patient_name, Case.patient_age, Case.patient_gender, Case.status,
        Case.created_at, Case.updated_at, Case.one_line_summary, document_count,
        _needs_review(), Case.sync_state, Case.sync_error,
    )
    if expression is None:
        statement = statement.where(where)
    elif total <= FTS_DRIVEN_MAX:
        # "+rowid" keeps the FTS table the outer loop; as the inner one SQLite would run
        # the MATCH again for every case (seconds on 100,000 cases).
        joined = _FTS.join(Case, Case.id == literal_column("+case_search.rowid"))
        statement = statement.select_from(joined).where(_match(expression), where)
    else:
        hit_ids = select(literal_column("rowid")).select_from(_FTS).where(_match(expression))
        statement = statement.where(where, Case.id.in_(hit_ids))
    rows = session.execute(
        statement.order_by(order, tie_break).limit(query.size).offset(query.start - 1)
    ).all()
    items = tuple(
        CaseListItem(
            case_id=row[0], patient_name=row[1], patient_age=row[2],
            patient_gender=Gender(row[3]), status=CaseStatus(row[4]), created_at=row[5],
            updated_at=row[6], one_line_summary=row[7], document_count=row[8],
            needs_review=bool(row[9]), sync_state=SyncState(row[10]), sync_error=row[11],
        )
        for row in rows
    )
    return CasePage(items=items, total=total, start=query.start, size=query.size)
