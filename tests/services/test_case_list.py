from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from medmitra_desktop.domain.enums import CaseStatus, Gender
from medmitra_desktop.domain.errors import ValidationError
from medmitra_desktop.domain.records import SORTABLE_COLUMNS, CaseQuery
from medmitra_desktop.services.cases import CaseService
from tests.factories import make_case, text_file

PEOPLE = [
    ("Asha Verma", 45, "female", "Fever and cough"),
    ("Ravi Kumar", 61, "male", "Diabetes follow-up, on metformin"),
    ("محمد عبد الله", 33, "male", "Chest pain on exertion"),
    ("मोहन लाल", 72, "male", "Breathlessness"),
    ("Zoë O'Brien", 8, "other", "Rash after \"amoxicillin\""),
    ("José Álvarez", 130, "male", "Routine check"),
    ("Ana AND OR NOT", 0, "female", "newborn NEAR term"),
]


@pytest.fixture
def people(service: CaseService) -> dict[str, str]:
    return {name: make_case(service, name=name, age=age, gender=gender, notes=notes).case_id
            for name, age, gender, notes in PEOPLE}


def names(page: object) -> list[str]:
    return [item.patient_name for item in page.items]  # type: ignore[attr-defined]


def test_paging_is_one_based_with_totals(service: CaseService, people: dict[str, str]) -> None:
    first = service.list_cases(CaseQuery(size=3, sort="patient_age", descending=False))
    assert (first.total, first.start, first.size, first.has_more) == (7, 1, 3, True)
    assert [i.patient_age for i in first.items] == [0, 8, 33]
    last = service.list_cases(CaseQuery(start=7, size=3, sort="patient_age", descending=False))
    assert [i.patient_age for i in last.items] == [130] and not last.has_more
    beyond = service.list_cases(CaseQuery(start=50, size=3))
    assert beyond.items == () and beyond.total == 7 and not beyond.has_more


@pytest.mark.parametrize("size", [0, 501, -1])
def test_page_size_outside_1_to_500_is_refused(service: CaseService, size: int) -> None:
    with pytest.raises(ValidationError, match="size: must be from 1 to 500"):
        service.list_cases(CaseQuery(size=size))


@pytest.mark.parametrize("column", SORTABLE_COLUMNS)
def test_every_listed_column_sorts_both_ways(service: CaseService, people: dict[str, str],
                                             column: str) -> None:
    ascending = service.list_cases(CaseQuery(sort=column, descending=False, size=500)).items
    descending = service.list_cases(CaseQuery(sort=column, descending=True, size=500)).items

    def key(item: object) -> object:
        value = getattr(item, column)
        return value.casefold() if isinstance(value, str) else value

    assert [key(i) for i in ascending] == sorted(key(i) for i in ascending)
    assert [key(i) for i in descending] == sorted((key(i) for i in descending), reverse=True)


def test_filters(service: CaseService, people: dict[str, str]) -> None:
    assert service.list_cases(CaseQuery(genders=(Gender.OTHER,))).total == 1
    assert service.list_cases(CaseQuery(genders=(Gender.FEMALE, Gender.OTHER))).total == 3
    adults = service.list_cases(CaseQuery(age_min=18, age_max=65))
    assert sorted(i.patient_age for i in adults.items) == [33, 45, 61]
    assert service.list_cases(CaseQuery(age_min=130)).total == 1
    assert service.list_cases(CaseQuery(statuses=(CaseStatus.PROCESSING,))).total == 7
    assert service.list_cases(CaseQuery(statuses=(CaseStatus.FAILED,))).total == 0


def test_date_filters_and_updated_after(service: CaseService, people: dict[str, str]) -> None:
    now = datetime.now(UTC)
    assert service.list_cases(CaseQuery(created_from=now - timedelta(minutes=5))).total == 7
    assert service.list_cases(CaseQuery(created_to=now - timedelta(minutes=5))).total == 0
    marker = service.get_case(people["Asha Verma"]).updated_at
    service.update_case(people["Ravi Kumar"], user_id="dr", changes={"patient_age": 62})
    changed = service.list_cases(CaseQuery(updated_after=marker + timedelta(microseconds=1)))
    assert "Ravi Kumar" in names(changed)
    assert "Asha Verma" not in names(changed)
    with pytest.raises(ValidationError, match="created_from"):
        service.list_cases(CaseQuery(created_from=now, created_to=now - timedelta(days=1)))


@pytest.mark.parametrize(("text", "expected"), [
    ("asha", ["Asha Verma"]),
    ("ash", ["Asha Verma"]),  # as you type
    ("ASHA VER", ["Asha Verma"]),
    ("jose", ["José Álvarez"]),  # accents ignored
    ("álvarez", ["José Álvarez"]),
    ("محمد", ["محمد عبد الله"]),  # right to left
    ("मोहन", ["मोहन लाल"]),  # combining vowel signs
    ("metformin", ["Ravi Kumar"]),  # notes
    ("chest pain", ["محمد عبد الله"]),
    ("o'brien", ["Zoë O'Brien"]),
    ('"amoxicillin"', ["Zoë O'Brien"]),
    ("AND", ["Ana AND OR NOT", "Asha Verma"]),  # operators are words ("Fever and cough")
    ("NEAR", ["Ana AND OR NOT"]),
    ("nobody", []),
])
def test_search_as_you_type(service: CaseService, people: dict[str, str], text: str,
                            expected: list[str]) -> None:
    assert sorted(names(service.list_cases(CaseQuery(search=text)))) == sorted(expected)


@pytest.mark.parametrize("text", [
    '"', '""', "*", "^", "(", ")", "a OR", "NOT", "col:asha", "asha*", "NEAR(a b)", "-",
    "'; DROP TABLE cases; --", "%", "_", "\\", "{", "a\x00b", "   ", "😀", "+",
])
def test_search_syntax_never_breaks(service: CaseService, people: dict[str, str],
                                    text: str) -> None:
    page = service.list_cases(CaseQuery(search=text))
    assert page.total == len(page.items) <= 7
    assert service.count_cases() == 7


def test_search_finds_document_names(service: CaseService, tmp_path: Path) -> None:
    make_case(service, name="Lab Person", lab=[text_file(tmp_path / "thyroid_profile.txt")])
    make_case(service, name="Nobody Else")
    assert names(service.list_cases(CaseQuery(search="thyroid"))) == ["Lab Person"]


def test_search_follows_edits(service: CaseService, people: dict[str, str]) -> None:
    service.update_case(people["Asha Verma"], user_id="dr",
                        changes={"patient_name": "Asha Sharma"})
    assert names(service.list_cases(CaseQuery(search="sharma"))) == ["Asha Sharma"]
    assert service.list_cases(CaseQuery(search="verma")).total == 0


def test_iter_all_walks_every_page(service: CaseService, people: dict[str, str]) -> None:
    assert sorted(i.patient_name for i in service.iter_all(CaseQuery())) == sorted(
        p[0] for p in PEOPLE)


def test_trash_is_searchable_and_restore_reindexes(service: CaseService,
                                                   people: dict[str, str]) -> None:
    service.delete_case(people["Ravi Kumar"], user_id="dr")
    assert service.list_cases(CaseQuery(search="metformin")).total == 0
    trashed = service.list_cases(CaseQuery(search="metfor", in_trash=True))
    assert names(trashed) == ["Ravi Kumar"]
    assert service.list_cases(CaseQuery(search="100%_", in_trash=True)).total == 0
    service.restore_case(people["Ravi Kumar"], user_id="dr")
    assert names(service.list_cases(CaseQuery(search="metformin"))) == ["Ravi Kumar"]


def test_both_search_plans_give_the_same_pages(service: CaseService, people: dict[str, str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    queries = [CaseQuery(search="a", size=2, start=start, sort=sort, descending=descending)
               for start in (1, 3) for sort in ("patient_name", "patient_age")
               for descending in (False, True)]
    queries += [CaseQuery(search="m", genders=(Gender.MALE,)), CaseQuery(search="r", age_min=40)]
    driven = [service.list_cases(query) for query in queries]
    monkeypatch.setattr("medmitra_desktop.storage.case_queries.FTS_DRIVEN_MAX", 0)
    probed = [service.list_cases(query) for query in queries]
    assert driven == probed
    assert any(page.items for page in driven)


def test_completed_cases_with_something_to_review_are_marked(context, jobs,
                                                              tmp_path: Path) -> None:
    from tests.factories import LAB_LINES, text_pdf

    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n" + b"\x00garbage" * 200)
    good = text_pdf(tmp_path / "good.pdf", LAB_LINES)
    clean = make_case(context.cases, name="Clean Case", lab=[good])
    partly = make_case(context.cases, name="Partly Read", lab=[good, broken])
    jobs.run_next()
    jobs.run_next()
    marks = {item.case_id: item.needs_review
             for item in context.cases.list_cases(CaseQuery()).items}
    assert marks == {clean.case_id: False, partly.case_id: True}
