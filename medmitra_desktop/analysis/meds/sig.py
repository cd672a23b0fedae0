"""Reading the directions after a drug name: dose, route, frequency, food timing, duration.

Also the comparison keys the review uses, so that "BD", "twice daily" and "1-0-1" are the same
frequency and "0.5 g" and "500 mg" the same dose.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .knowledge import FrequencyInfo, MedsKnowledge, squash
from .text import tokenize

_WORD_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "a": 1,
    "once": 1,
    "twice": 2,
    "thrice": 3,
}
_PER_DAY_NAMES = {1: "once daily", 2: "twice daily", 3: "three times daily", 4: "four times daily"}
_FRACTIONS = {"½": 0.5, "¼": 0.25, "¾": 0.75}


@dataclass(frozen=True)
class Sig:
    dose: str | None = None
    dose_has_unit: bool = False
    dose_at: int | None = None  # offset of the dose in the span
    route: str | None = None
    frequency: str | None = None
    frequency_info: FrequencyInfo | None = None
    food: str | None = None
    duration: str | None = None


def read_sig(span: str, k: MedsKnowledge, *, form_route: str | None = None) -> Sig:
    dose, has_unit, dose_at = _dose(span, k)
    frequency, info = _frequency(span, k)
    food = _first_value(span, k.food.pattern, k.food.lookup)
    return Sig(
        dose=dose,
        dose_has_unit=has_unit,
        dose_at=dose_at,
        route=_first_value(span, k.routes.pattern, k.routes.lookup)
        or _form_route(span, k)
        or form_route,
        frequency=frequency,
        frequency_info=info,
        food=food,
        duration=_duration(span, k),
    )


def _first_value(span: str, pattern: re.Pattern[str], lookup: Callable[[str], Any]) -> str | None:
    for m in pattern.finditer(span):
        value = lookup(m.group())
        if value is not None:
            return value
    return None


def _form_route(span: str, k: MedsKnowledge) -> str | None:
    """ "Salbutamol inhaler", "Timolol eye drops": the form written after the name."""
    head = span[:60]
    tokens = tokenize(head)
    for i in range(len(tokens)):
        hit = k.forms.longest_at(head, tokens, i)
        if hit is not None and hit[1].route and not hit[1].dotted_only:
            return hit[1].route
    return None


def _dose(span: str, k: MedsKnowledge) -> tuple[str | None, bool, int | None]:
    tablet = k.sig.tablet.search(span)
    bare = k.sig.bare_dose.match(span)
    # A strength right after the name ("Dolo 650", "Pan 40") is the dose even when a count of
    # tablets ("1 tab") follows; a 1-0-1 pattern is never a strength.
    if bare and not (tablet and tablet.start() < bare.end()):
        return _clean_amount(bare.group("amount")), False, bare.start("amount")
    m = k.sig.dose.search(span)
    if m is None:
        return None, False, None
    unit_printed = m.group("unit")
    canonical = k.dose_units.get(squash(unit_printed) or unit_printed.strip(), unit_printed)
    if canonical in {"mg", "mcg", "g", "ml", "IU", "mEq", "%", "million units"}:
        unit = canonical
    else:
        unit = unit_printed.casefold()
    amount = _clean_amount(m.group("amount"))
    per = m.group("per")
    text = f"{amount}{unit}" if unit == "%" else f"{amount} {unit}"
    if per:
        text += "/" + per.split("/")[-1].strip().casefold()
    return text, True, m.start()


def _clean_amount(amount: str) -> str:
    return re.sub(r"[ \t]*([+/])[ \t]*", r" \1 ", amount.strip()).replace(" / ", "/")


def _frequency(span: str, k: MedsKnowledge) -> tuple[str | None, FrequencyInfo | None]:
    found: list[tuple[int, int, FrequencyInfo, str]] = []
    for m in k.frequencies.pattern.finditer(span):
        info = k.frequencies.lookup(m.group())
        if info is not None:
            found.append((m.start(), -len(m.group()), info, info.canonical))
            break
    m = k.sig.tablet.search(span)
    if m:
        info = _tablet_info(m, k)
        if info is not None:
            found.append((m.start(), -len(m.group()), info, info.canonical))
    m = k.sig.every_hours.search(span)
    if m:
        hours = int(m.group("q") or m.group("e") or m.group("h"))
        if hours > 0:
            info = FrequencyInfo(f"every {hours} hours", round(24 / hours, 4))
            found.append((m.start(), -len(m.group()), info, info.canonical))
    m = k.sig.times_per.search(span)
    if m:
        n = _WORD_NUMBERS.get((m.group("n") or m.group("w") or "").casefold())
        if n is None and m.group("n"):
            n = int(m.group("n"))
        if n:
            weekly = m.group("per").casefold() in {"week", "wk"}
            if weekly:
                name = "weekly" if n == 1 else f"{n} times a week"
                info = FrequencyInfo(name, round(n / 7, 6))
            else:
                info = FrequencyInfo(_PER_DAY_NAMES.get(n, f"{n} times daily"), float(n))
            found.append((m.start(), -len(m.group()), info, info.canonical))
    if not found:
        return None, None
    found.sort(key=lambda f: (f[0], f[1]))
    _, _, info, text = found[0]
    return text, info


def _tablet_info(m: re.Match[str], k: MedsKnowledge) -> FrequencyInfo | None:
    parts = [p for p in (m.group("a"), m.group("b"), m.group("c"), m.group("d")) if p is not None]
    names = k.tablet_slots_four if len(parts) == 4 else k.tablet_slots_three
    taken = tuple(name for part, name in zip(parts, names, strict=False) if _slot_value(part) > 0)
    if not taken:
        return None
    pattern = "-".join(parts)
    when = taken[0] if len(taken) == 1 else ", ".join(taken[:-1]) + " and " + taken[-1]
    return FrequencyInfo(f"{pattern} ({when})", float(len(taken)), slots=taken)


def _slot_value(part: str) -> float:
    if part in _FRACTIONS:
        return _FRACTIONS[part]
    if "/" in part:
        num, den = part.split("/")
        return int(num) / int(den)
    return float(part)


def _duration(span: str, k: MedsKnowledge) -> str | None:
    found: list[tuple[int, str]] = []
    for m in k.sig.duration.finditer(span):
        unit = k.duration_units.get(squash(m.group("unit")))
        n_text = m.group("n")
        marker = m.group("marker")
        if unit is None:
            continue
        if not marker and (
            not n_text[0].isdigit() or squash(m.group("unit")) in k.duration_need_marker
        ):
            continue
        n = _WORD_NUMBERS.get(n_text.casefold(), n_text)
        found.append((m.start(), _plural(str(n), unit)))
        break
    m = k.sig.slash_duration.search(span)
    if m:
        unit = k.duration_slash.get(m.group("d"))
        if unit:
            found.append((m.start(), _plural(m.group("n"), unit)))
    for m in k.open_durations.pattern.finditer(span):
        value = k.open_durations.lookup(m.group())
        if value:
            found.append((m.start(), value))
            break
    if not found:
        return None
    return min(found)[1]


def _plural(n: str, unit: str) -> str:
    return f"{n} {unit}" if n in {"1", "1.0"} else f"{n} {unit}s"


# ---- comparison keys for the review -------------------------------------------------------


def frequency_key(text: str | None, k: MedsKnowledge | None) -> tuple | None:
    """(per day, as needed, slots) or None when the text cannot be read."""
    if not text:
        return None
    if k is not None:
        _, info = _frequency(text, k)
        if info is not None:
            per_day = None if info.per_day is None else round(float(info.per_day), 3)
            return (per_day, info.prn, info.canonical if info.per_day is None else None, info.slots)
    return ("text", squash(text))


def same_frequency(a: str | None, b: str | None, k: MedsKnowledge | None) -> bool:
    ka, kb = frequency_key(a, k), frequency_key(b, k)
    if ka is None or kb is None:
        return True  # nothing to compare on one side: not a change
    if ka[0] == "text" or kb[0] == "text":
        return squash(a or "") == squash(b or "")
    per_a, prn_a, name_a, slots_a = ka
    per_b, prn_b, name_b, slots_b = kb
    if per_a != per_b or prn_a != prn_b or name_a != name_b:
        return False
    # "twice daily" does not say when; "1-0-1" does. Only two fixed schedules can disagree.
    return not (slots_a and slots_b and slots_a != slots_b)


def dose_key(text: str | None, k: MedsKnowledge | None) -> tuple | None:
    if not text:
        return None
    if k is not None:
        m = k.sig.dose.search(text)
        amount_text = m.group("amount") if m else text
        unit = None
        if m is not None:
            printed = m.group("unit")
            unit = k.dose_units.get(squash(printed) or printed.strip(), printed.casefold())
        amounts = _amounts(amount_text)
        if amounts:
            factor = k.unit_to_mg.get(unit or "", None)
            if factor is not None:
                return tuple(round(a * factor, 6) for a in amounts), "mg"
            return tuple(amounts), unit
    return (), squash(text)


def _amounts(text: str) -> list[float]:
    values: list[float] = []
    for part in re.findall(r"[½¼¾]|\d[\d,]*(?:\.\d+)?(?:\s?[kK](?![a-zA-Z]))?|\.\d+", text):
        if part in _FRACTIONS:
            values.append(_FRACTIONS[part])
            continue
        scale = 1000.0 if part[-1] in "kK" else 1.0
        digits = part.rstrip("kK ").replace(",", "")
        try:
            values.append(float(digits) * scale)
        except ValueError:
            continue
    return values


def same_dose(a: str | None, b: str | None, k: MedsKnowledge | None) -> bool:
    ka, kb = dose_key(a, k), dose_key(b, k)
    if ka is None or kb is None:
        return True
    if not ka[0] or not kb[0]:
        return squash(a or "") == squash(b or "")
    if ka[0] != kb[0]:
        return False
    # "500" (a bare strength) and "500 mg" agree; only two different written units differ.
    return ka[1] is None or kb[1] is None or ka[1] == kb[1]
