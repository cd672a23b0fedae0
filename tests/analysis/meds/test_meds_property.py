"""Any text at all: the reader returns, quickly, with well-formed results."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medmitra_desktop.analysis.meds import MedsKnowledge, extract_medications

# Words the reader reacts to, so that random texts exercise its branches and not only the
# "nothing found" path.
_WORDS = [
    "Tab.", "Inj", "Cap", "metformin", "Glycomet", "Pan", "Telma-H", "insulin", "glargine",
    "aspirin", "Augmentin", "500", "mg", "40", "1-0-1", "0-0-1", "½", "BD", "OD", "SOS", "x", "5/7",
    "days", "for", "weeks", "not", "on", "no", "stopped", "hold", "due to", "allergic to",
    "allergy", "Allergies:", "NKDA", "penicillin", "sulfa", "(", ")", "rash", "severe", "serum",
    "iron", "Vitamin D", "25-OH", "ng/mL", "mg/dL", "9.1", "S", "R", "sensitive", ",", ";", ".",
    ":", "-", "+", "/", "\n", "\n\n", "Rx:", "Stopped:", "Sandoz", "OHA", "12/03/2025",
]  # fmt: skip

_TEXT = st.one_of(
    st.text(max_size=400),
    st.lists(st.sampled_from(_WORDS), max_size=80).map(" ".join),
    st.lists(st.one_of(st.sampled_from(_WORDS), st.text(max_size=6)), max_size=60).map("".join),
)

_LIMIT_SECONDS = 2.0  # generous on a shared two-core machine; a real page takes milliseconds


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_TEXT, page=st.none() | st.integers(min_value=1, max_value=500))
def test_never_crashes_or_hangs(knowledge: MedsKnowledge, text: str, page: int | None) -> None:
    started = time.perf_counter()
    result = extract_medications(text, knowledge, page=page)
    assert time.perf_counter() - started < _LIMIT_SECONDS
    for m in result.medications:
        assert m.name and m.name == m.name.lower()
        assert m.page == page
        assert m.start is not None and 0 <= m.start < len(text)
        assert m.sentence and m.sentence in text
        assert m.status_hint is None or m.status_hint in ("stopped", "held")
        assert m.to_dict()["name"] == m.name
    for a in result.allergies:
        assert a.substance and a.substance == a.substance.lower()
        assert a.severity in (None, "mild", "moderate", "severe")
    if result.allergies:
        assert not result.no_known_allergies


def test_long_text_stays_fast(knowledge: MedsKnowledge) -> None:
    page = (
        "Rx: Tab Glycomet 500 mg 1-0-1 x 30 days, Tab Telma 40 OD, stopped aspirin due to "
        "gastritis. Allergic to penicillin (rash). Serum iron 40 ug/dL.\n"
    )
    text = page * 400  # about 60 kB, far more than a page
    started = time.perf_counter()
    result = extract_medications(text, knowledge)
    assert time.perf_counter() - started < 10.0
    assert {m.name for m in result.medications} == {"metformin", "telmisartan", "aspirin"}
