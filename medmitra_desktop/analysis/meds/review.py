"""Review of the medications read now against the patient's earlier case.

States as in the MedMitra API: verified, changed (earlier values kept), stopped, unverified (on
the earlier case, not seen now) and flagged (partly captured). Approval is the doctor's to give
later; nothing here sets it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime

from .knowledge import MedsKnowledge
from .model import (
    MedicationMention,
    MedicationReview,
    PreviousMedication,
    ReviewState,
    StatusHint,
)
from .sig import same_dose, same_frequency


def review_medications(
    current: Sequence[MedicationMention],
    previous: Sequence[PreviousMedication],
    *,
    knowledge: MedsKnowledge | None = None,
) -> list[MedicationReview]:
    """One review per current mention (in order), then one per earlier medication not seen.

    With `knowledge`, earlier names written as brands are matched to generics, and doses and
    frequencies compare by meaning ("0.5 g" = "500 mg", "BD" = "1-0-1"); without it, by text.
    """
    prev_names = [_name_of(p.name, knowledge) for p in previous]
    used: set[int] = set()
    reviews: list[MedicationReview] = []
    for mention in current:
        index = _match(mention, previous, prev_names, used, knowledge)
        before = previous[index] if index is not None else None
        if index is not None:
            used.add(index)
        reviews.append(_review(mention, before, knowledge))
    for i, p in enumerate(previous):
        if i not in used:
            reviews.append(
                MedicationReview(
                    state=ReviewState.UNVERIFIED,
                    name=prev_names[i],
                    dose=p.dose,
                    route=p.route,
                    frequency=p.frequency,
                    duration=p.duration,
                    previous=p,
                )
            )
    return reviews


def _name_of(name: str, knowledge: MedsKnowledge | None) -> str:
    generic = knowledge.generic_for(name) if knowledge is not None else None
    return generic or " ".join(name.casefold().split())


def _match(
    mention: MedicationMention,
    previous: Sequence[PreviousMedication],
    names: Sequence[str],
    used: set[int],
    knowledge: MedsKnowledge | None,
) -> int | None:
    printed = " ".join(mention.name_printed.casefold().split())
    same = [i for i, n in enumerate(names) if n in (mention.name, printed)]
    if not same:
        return None
    fresh = [i for i in same if i not in used]

    def exact(i: int) -> bool:
        p = previous[i]
        return same_dose(mention.dose, p.dose, knowledge) and same_frequency(
            mention.frequency, p.frequency, knowledge
        )

    for pool in (fresh, same):
        for i in pool:
            if exact(i):
                return i
        if pool:
            return pool[0]
    return None


def _review(
    m: MedicationMention, p: PreviousMedication | None, knowledge: MedsKnowledge | None
) -> MedicationReview:
    common = {
        "name": m.name,
        "dose": m.dose if m.dose is not None or p is None else p.dose,
        "route": m.route if m.route is not None or p is None else p.route,
        "frequency": m.frequency if m.frequency is not None or p is None else p.frequency,
        "duration": m.duration if m.duration is not None or p is None else p.duration,
        "mention": m,
        "previous": p,
    }
    if m.status_hint is not None:
        reason = m.status_reason
        if m.status_hint is StatusHint.HELD:
            reason = f"held: {reason}" if reason else "held"
        return MedicationReview(
            state=ReviewState.STOPPED,
            reason=reason,
            change_date=iso_date(m.status_date),
            **common,
        )
    if m.flagged_reason:
        return MedicationReview(state=ReviewState.FLAGGED, reason=m.flagged_reason, **common)
    if p is None:
        return MedicationReview(state=ReviewState.VERIFIED, **common)
    changed: dict[str, str | None] = {}
    if not same_dose(m.dose, p.dose, knowledge):
        changed["dose"] = p.dose
    if not same_frequency(m.frequency, p.frequency, knowledge):
        changed["frequency"] = p.frequency
    if m.route and p.route and m.route.casefold() != p.route.casefold():
        changed["route"] = p.route
    if changed:
        return MedicationReview(state=ReviewState.CHANGED, previous_fields=changed, **common)
    return MedicationReview(state=ReviewState.VERIFIED, **common)


_MONTH_FORMATS = ("%d %B %Y", "%d %b %Y", "%B %d %Y", "%b %d %Y")


def iso_date(printed: str | None) -> str | None:
    """YYYY-MM-DD when the printed date is unambiguous; "01/10/2025" (day or month first?) is
    not, so it stays only in the mention's status_date."""
    if not printed:
        return None
    text = " ".join(printed.replace(",", " ").replace(".", " ").split())
    text = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text, flags=re.IGNORECASE)
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    if m:
        try:
            return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        except ValueError:
            return None
    m = re.fullmatch(r"(\d{1,2})[/\-](\d{1,2})[/\-](\d{4})", text)
    if m:
        a, b = int(m[1]), int(m[2])
        if a > 12 >= b or b > 12 >= a or a == b:
            day, month = (a, b) if a > 12 or a == b else (b, a)
            try:
                return date(int(m[3]), month, day).isoformat()
            except ValueError:
                return None
        return None
    for fmt in _MONTH_FORMATS:
        try:
            return datetime.strptime(text.title(), fmt).date().isoformat()
        except ValueError:
            continue
    return None
