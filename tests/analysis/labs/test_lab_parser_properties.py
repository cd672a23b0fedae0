"""parse_lab_report never crashes or hangs, whatever text OCR hands it."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medmitra_desktop.analysis.labs import LabKnowledge, lab_likelihood, parse_lab_report

LAB_WORDS = ["Hemoglobin", "Hb", "WBC", "mg/dL", "g/dL", "10^3/uL", "cells/cumm", "H", "L",
             "High", "(", ")", "-", "<", ">", "...........", "Negative", "Nil", "2+", ":", "|",
             "Age", "Sex", "Page 1 of 2", "13.5", "4,500", "1O.2", "93:9", "7-29", "Urine",
             "URINE ROUTINE", "Male:", "Female:", "Up to", "\n", "   ", "x10E3/uL", "*"]

lab_like = st.lists(st.one_of(st.sampled_from(LAB_WORDS), st.text(max_size=6),
                              st.floats(min_value=-1e6, max_value=1e6).map(str)),
                    max_size=120).map(" ".join)
pages = st.lists(st.one_of(st.text(max_size=600), lab_like), max_size=3)

SETTINGS = settings(max_examples=150, deadline=2000,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@SETTINGS
@given(pages=pages, age=st.one_of(st.none(), st.integers(-5, 130)),
       gender=st.one_of(st.none(), st.sampled_from(["male", "female", "other", "", "M"])))
def test_never_crashes(kb: LabKnowledge, pages: list[str], age: int | None,
                       gender: str | None) -> None:
    rows = parse_lab_report(pages, age=age, gender=gender, knowledge=kb)
    for r in rows:
        assert r.flag in (None, "LL", "L", "N", "H", "HH", "A")
        assert r.page is not None and 1 <= r.page <= len(pages)
        assert r.ref_source in (None, "report", "knowledge_base")
        if r.value is not None:
            assert r.value == r.value  # never NaN
    assert 0.0 <= lab_likelihood("\n".join(pages), kb) <= 1.0


def test_huge_garbage_page_is_bounded_in_time(kb: LabKnowledge) -> None:
    line = "Hemoglobin " + "...e:c" * 300 + " 1O.2 Q/dL (13.5 = 17.5) H " + "x" * 500
    page = "\n".join([line, "Glucose 9-66 mg/dL 70-99", "|" * 1000, "1 " * 2000] * 300)
    started = time.perf_counter()
    parse_lab_report([page], age=40, gender="male", knowledge=kb)
    assert time.perf_counter() - started < 20.0
