"""Structural regexes for prescription lines, compiled once from the unit lists in sig.json.

Only the shapes live here (numbers, "1-0-1", "q8h", "x 5/7"); every word they accept comes from
the knowledge files. No pattern nests unbounded quantifiers, so matching stays linear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A printed amount: 500, 0.5, .5, 60,000, 60k.
NUM = r"(?:\d{1,3}(?:,\d{3})+(?!\d)|\d{1,7}(?:\.\d{1,4})?|\.\d{1,4})(?:[ \t]?[kK](?![^\W\d_]))?"
# A strength, a fraction of a tablet, or the strengths of a combination: 1/2, ½, 500/125, 40+5.
_PART = r"(?:[½¼¾]|" + NUM + r"(?:[ \t]*/[ \t]*\d{1,5}(?:\.\d{1,3})?)?)"
AMOUNT = _PART + r"(?:[ \t]*\+[ \t]*" + _PART + r"){0,3}"
# One position of a 1-0-1 pattern.
_SLOT = r"(?:1/2|1/4|3/4|[½¼¾]|\d(?:\.5)?)"
_SEP = r"[ \t]*[-–—+][ \t]*"
_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"


@dataclass(frozen=True)
class SigPatterns:
    dose: re.Pattern[str]
    bare_dose: re.Pattern[str]
    tablet: re.Pattern[str]
    every_hours: re.Pattern[str]
    times_per: re.Pattern[str]
    duration: re.Pattern[str]
    slash_duration: re.Pattern[str]
    lab_value: re.Pattern[str]
    lab_range: re.Pattern[str]
    number: re.Pattern[str]
    date: re.Pattern[str]


def compile_sig_patterns(
    *,
    dose_units: str,
    per_denominators: tuple[str, ...],
    duration_units: str,
    duration_markers: str,
    lab_units: str,
) -> SigPatterns:
    denominators = "|".join(re.escape(d) for d in sorted(per_denominators, key=len, reverse=True))
    per = rf"(?P<per>[ \t]*/[ \t]*(?:{denominators})(?![^\W\d_]))?" if denominators else ""
    dose = re.compile(
        rf"(?<![\w.])(?P<amount>{AMOUNT})[ \t]*(?P<unit>{dose_units}){per}"
        # "mg/dL", "IU/L", "mg/ml" after a number are concentrations: a laboratory value;
        # "250 mg/5 ml" is the strength of a syrup, not the dose taken.
        r"(?![ \t]*/[ \t]*(?:dl|l|ml)(?![^\W\d_]))(?![ \t]*/[ \t]*\d)",
        re.IGNORECASE,
    )
    bare_dose = re.compile(
        rf"^[ \t]*(?:[-:(,][ \t]*)?(?P<amount>{AMOUNT})(?![\d.,]|[^\W\d_])"
        rf"(?![ \t]*(?:[-–—+][ \t]*\d|/|x(?![^\W\d_])|×|times|hourly|th\b|st\b|nd\b|rd\b|%"
        rf"|{dose_units}|{duration_units}|{lab_units}))",
        re.IGNORECASE,
    )
    tablet = re.compile(
        rf"(?<![\d./])(?P<a>{_SLOT}){_SEP}(?P<b>{_SLOT}){_SEP}(?P<c>{_SLOT})"
        rf"(?:{_SEP}(?P<d>{_SLOT}))?(?![\d/]|\.\d|{_SEP}\d)"
    )
    every_hours = re.compile(
        r"(?<![^\W\d_])(?:q[ \t]*(?P<q>\d{1,2})[ \t]*(?:hourly|hrly|hours|hour|hrs|hr|h)"
        r"|every[ \t]+(?P<e>\d{1,2})[ \t]*(?:hours|hour|hrs|hr|h)"
        r"|(?P<h>\d{1,2})(?:st|nd|rd|th)?[ \t\-]*hourly)(?![^\W\d_])",
        re.IGNORECASE,
    )
    times_per = re.compile(
        r"(?<![^\W\d_])(?:(?P<n>\d|one|two|three|four|five|six)[ \t]*(?:times|time|x)"
        r"|(?P<w>once|twice|thrice))[ \t]*(?:a|per|/|in[ \t]+a|every|daily)?[ \t]*"
        r"(?P<per>day|daily|d|week|wk)(?![^\W\d_])",
        re.IGNORECASE,
    )
    duration = re.compile(
        rf"(?:(?P<marker>{duration_markers})[ \t]*(?:the[ \t]+)?(?:last[ \t]+|past[ \t]+)?)?"
        rf"(?<![\w.])(?P<n>{NUM}|one|two|three|four|five|six|seven|eight|nine|ten|a)[ \t]*"
        rf"(?P<unit>{duration_units})(?![^\W\d_])"
        r"(?![ \t]+(?:ago|back|before|earlier|later|after|prior)\b)",
        re.IGNORECASE,
    )
    slash_duration = re.compile(
        r"(?:(?<![^\W\d_])(?:x|for)|×)[ \t]*(?P<n>\d{1,3})[ \t]*/[ \t]*(?P<d>7|52|12)(?!\d)",
        re.IGNORECASE,
    )
    lab_value = re.compile(rf"(?<![\w.])[<>≤≥]?[ \t]*{NUM}[ \t]*(?:{lab_units})", re.IGNORECASE)
    lab_range = re.compile(
        rf"^[^\w\n]*[<>]?{NUM}[ \t]+[^\d\n]{{0,15}}?{NUM}[ \t]*[-–][ \t]*{NUM}"
        r"(?![ \t]*[-–][ \t]*\d)"
    )
    number = re.compile(NUM)
    date = re.compile(
        r"(?<!\d)(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2})"
        rf"|\d{{1,2}}(?:st|nd|rd|th)?[ \t]+{_MONTHS},?[ \t]+\d{{4}}"
        rf"|{_MONTHS}[ \t]+\d{{1,2}}(?:st|nd|rd|th)?,?[ \t]+\d{{4}})(?!\d)",
        re.IGNORECASE,
    )
    return SigPatterns(
        dose=dose,
        bare_dose=bare_dose,
        tablet=tablet,
        every_hours=every_hours,
        times_per=times_per,
        duration=duration,
        slash_duration=slash_duration,
        lab_value=lab_value,
        lab_range=lab_range,
        number=number,
        date=date,
    )
