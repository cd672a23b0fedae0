"""Property tests: the parser never crashes or hangs on arbitrary text, and what it returns is
consistent with itself."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medmitra_desktop.analysis.radiology import (
    RadiologyKnowledge,
    parse_radiology_report,
    radiology_likelihood,
)

# Words the parser reacts to, so the generated text exercises headers, triggers and terms.
VOCABULARY = [
    "FINDINGS:", "IMPRESSION:,", "indication:", "Comparison:", "EXAM:", "no", "not", "without",
    "cannot exclude", "possible", "versus", "but", "which", ";", ",", ".", "\n", "\n\n", "1.",
    "Dr.", "1.5 cm", "XXXX", "effusion", "pleural", "heart", "is", "enlarged", "cardiomegaly",
    "opacity", "calcified granuloma", "no change", "are not seen", "history of", "rule out",
    "x-ray", "CT", "chest", "lungs are clear", "~", "(", ")", "*", "re:", "?", "\f",
]
texts = st.one_of(
    st.text(max_size=400),
    st.lists(st.sampled_from(VOCABULARY), max_size=120).map(" ".join),
)
# A report is a few kilobytes; a pathological one must still finish well within a second.
SECONDS_PER_TEXT = 2.0


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=texts)
def test_never_crashes_hangs_or_contradicts_itself(knowledge: RadiologyKnowledge,
                                                   text: str) -> None:
    started = time.perf_counter()
    report = parse_radiology_report(text, knowledge, page_of_offset=lambda offset: 1)
    likelihood = radiology_likelihood(text)
    assert time.perf_counter() - started < SECONDS_PER_TEXT
    assert 0.0 <= likelihood <= 1.0
    names = set(knowledge.lexicon.names())
    findings = [o.finding for o in report.observations]
    assert len(findings) == len(set(findings))  # one observation per finding
    for obs in report.observations:
        assert obs.finding in names
        assert not (obs.negated and obs.uncertain)
        assert obs.sentence and obs.sentence in obs.evidence
        assert obs.page == 1
    assert report.normal == all(o.negated or o.uncertain for o in report.observations)


def test_a_long_text_finishes_in_bounded_time(knowledge: RadiologyKnowledge) -> None:
    text = ("No pleural effusion, pneumothorax, or consolidation, " * 400
            + "XXXX " * 2000 + "heart is enlarged " * 400)
    started = time.perf_counter()
    parse_radiology_report(text, knowledge)
    radiology_likelihood(text)
    assert time.perf_counter() - started < 5.0
