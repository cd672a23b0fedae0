"""Review of this case's medications against the patient's earlier case."""

from __future__ import annotations

from medmitra_desktop.analysis.meds import (
    MedicationMention,
    PreviousMedication,
    ReviewState,
    StatusHint,
    iso_date,
    review_medications,
)


def mention(name: str, dose=None, frequency=None, **extra) -> MedicationMention:
    return MedicationMention(
        name=name,
        name_printed=extra.pop("name_printed", name),
        dose=dose,
        route=extra.pop("route", None),
        frequency=frequency,
        duration=extra.pop("duration", None),
        sentence=extra.pop("sentence", f"{name} {dose} {frequency}"),
        **extra,
    )


def states(reviews) -> list[tuple[str, ReviewState]]:
    return [(r.name, r.state) for r in reviews]


def test_same_drug_same_dose_and_frequency_is_verified() -> None:
    reviews = review_medications(
        [mention("metformin", "500 mg", "twice daily")],
        [PreviousMedication("metformin", "500 mg", "twice daily", record_id=7)],
    )
    assert states(reviews) == [("metformin", ReviewState.VERIFIED)]
    assert reviews[0].previous.record_id == 7
    assert reviews[0].review_details() == {"state": "verified"}
    assert not reviews[0].is_new


def test_new_fully_captured_drug_is_verified_and_new() -> None:
    reviews = review_medications([mention("atorvastatin", "10 mg", "once daily")], [])
    assert states(reviews) == [("atorvastatin", ReviewState.VERIFIED)]
    assert reviews[0].is_new


def test_dose_change_keeps_the_previous_dose() -> None:
    reviews = review_medications(
        [mention("methylphenidate", "40 mg", "once daily")],
        [PreviousMedication("methylphenidate", "20 mg", "once daily")],
    )
    (r,) = reviews
    assert r.state is ReviewState.CHANGED
    assert r.dose == "40 mg"
    assert r.previous_fields == {"dose": "20 mg"}
    assert r.review_details() == {
        "state": "changed",
        "previous_fields": {"dosage": "20 mg"},
        "reason": None,
        "change_date": None,
        "is_approved": None,
    }
    # Approval is the doctor's, later: none of it is set by the review.
    assert (r.is_approved, r.approved_by, r.approved_at) == (None, None, None)


def test_frequency_change_keeps_the_previous_frequency() -> None:
    (r,) = review_medications(
        [mention("metformin", "500 mg", "three times daily")],
        [PreviousMedication("metformin", "500 mg", "twice daily")],
    )
    assert r.state is ReviewState.CHANGED
    assert r.previous_fields == {"frequency": "twice daily"}


def test_earlier_drug_not_seen_now_is_unverified() -> None:
    reviews = review_medications(
        [mention("metformin", "500 mg", "twice daily")],
        [
            PreviousMedication("metformin", "500 mg", "twice daily"),
            PreviousMedication("amlodipine", "5 mg", "once daily"),
        ],
    )
    assert states(reviews) == [
        ("metformin", ReviewState.VERIFIED),
        ("amlodipine", ReviewState.UNVERIFIED),
    ]
    assert reviews[1].dose == "5 mg"
    assert reviews[1].mention is None


def test_partly_captured_mention_is_flagged_with_its_reason() -> None:
    (r,) = review_medications(
        [mention("sandoz", None, "twice daily", flagged_reason="only the manufacturer name")],
        [],
    )
    assert r.state is ReviewState.FLAGGED
    assert r.review_details() == {"state": "flagged", "reason": "only the manufacturer name"}


def test_flagged_mention_of_an_earlier_drug_is_flagged_and_uses_it() -> None:
    reviews = review_medications(
        [mention("metformin", flagged_reason="dose and frequency not stated")],
        [PreviousMedication("metformin", "500 mg", "twice daily")],
    )
    assert states(reviews) == [("metformin", ReviewState.FLAGGED)]  # not also unverified
    assert reviews[0].dose == "500 mg"  # the earlier values fill what was not read now


def test_stopped_drug_keeps_reason_and_date() -> None:
    m = mention(
        "metformin",
        status_hint=StatusHint.STOPPED,
        status_reason="adverse reaction",
        status_date="1 October 2025",
    )
    (r,) = review_medications([m], [PreviousMedication("metformin", "500 mg", "twice daily")])
    assert r.state is ReviewState.STOPPED
    assert (r.reason, r.change_date, r.dose, r.frequency) == (
        "adverse reaction", "2025-10-01", "500 mg", "twice daily",
    )  # fmt: skip
    assert r.to_dict()["review_details"]["state"] == "stopped"


def test_held_drug_is_reviewed_as_stopped_and_says_held() -> None:
    (r,) = review_medications([mention("metformin", status_hint=StatusHint.HELD)], [])
    assert r.state is ReviewState.STOPPED
    assert r.reason == "held"


def test_comparison_by_meaning_with_knowledge(knowledge) -> None:
    current = [
        mention("metformin", "0.5 g", "1-0-1 (morning and night)"),
        mention("levothyroxine", "50 mcg", "once daily", name_printed="Thyronorm"),
        mention("telmisartan", "40", "OD"),
    ]
    previous = [
        PreviousMedication("Glycomet", "500mg", "BD"),
        PreviousMedication("Eltroxin", "0.05 mg", "1 time a day"),
        PreviousMedication("telmisartan", "40 mg", "once daily"),
    ]
    reviews = review_medications(current, previous, knowledge=knowledge)
    assert states(reviews) == [
        ("metformin", ReviewState.VERIFIED),
        ("levothyroxine", ReviewState.VERIFIED),
        ("telmisartan", ReviewState.VERIFIED),
    ]
    # Without the knowledge only the written text is compared.
    plain = review_medications(current[2:], previous[2:])
    assert states(plain) == [("telmisartan", ReviewState.CHANGED)]


def test_fixed_schedules_that_differ_are_a_change(knowledge) -> None:
    (r,) = review_medications(
        [mention("atorvastatin", "40 mg", "1-0-0 (morning)")],
        [PreviousMedication("atorvastatin", "40 mg", "0-0-1 (night)")],
        knowledge=knowledge,
    )
    assert r.state is ReviewState.CHANGED
    assert r.previous_fields == {"frequency": "0-0-1 (night)"}


def test_one_earlier_row_per_current_mention(knowledge) -> None:
    reviews = review_medications(
        [mention("metformin", "1 g", "twice daily"), mention("metformin", "500 mg", "twice daily")],
        [
            PreviousMedication("metformin", "500 mg", "twice daily"),
            PreviousMedication("metformin", "1 g", "twice daily"),
        ],
        knowledge=knowledge,
    )
    assert states(reviews) == [
        ("metformin", ReviewState.VERIFIED),
        ("metformin", ReviewState.VERIFIED),
    ]


def test_review_of_extracted_text_end_to_end(knowledge, read) -> None:
    result = read(
        "Tab Glycomet 1 g 1-0-1. Stopped aspirin due to gastritis. Sandoz 2 times a day. "
        "Methylphenidate 40 mg OD."
    )
    previous = [
        PreviousMedication("metformin", "1000 mg", "twice daily"),
        PreviousMedication("aspirin", "75 mg", "once daily"),
        PreviousMedication("methylphenidate", "20 mg", "once daily"),
        PreviousMedication("amlodipine", "5 mg", "once daily"),
    ]
    reviews = review_medications(result.medications, previous, knowledge=knowledge)
    assert states(reviews) == [
        ("metformin", ReviewState.VERIFIED),
        ("aspirin", ReviewState.STOPPED),
        ("sandoz", ReviewState.FLAGGED),
        ("methylphenidate", ReviewState.CHANGED),
        ("amlodipine", ReviewState.UNVERIFIED),
    ]
    assert reviews[1].reason == "gastritis"
    assert reviews[3].previous_fields == {"dose": "20 mg"}


def test_iso_date_only_when_unambiguous() -> None:
    assert iso_date("2025-10-01") == "2025-10-01"
    assert iso_date("12 March 2025") == "2025-03-12"
    assert iso_date("March 12, 2025") == "2025-03-12"
    assert iso_date("25/10/2025") == "2025-10-25"
    assert iso_date("01/10/2025") is None  # 1 October or 10 January?
    assert iso_date("31/02/2025") is None
    assert iso_date(None) is None
