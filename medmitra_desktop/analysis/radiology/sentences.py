"""Sentence spans in report text, and the blanking of de-identification tokens.

Everything works on character offsets into the original text so that an observation's
sentence and page can always be traced back to the document.
"""

from __future__ import annotations

import re

# De-identified corpora (the Indiana University chest X-rays) replace words with "XXXX";
# OCR turns some X into K or x. Such a token carries no meaning, so it is blanked to spaces of
# the same length: offsets survive and phrase matching simply skips it.
_DEID_TOKEN = re.compile(r"(?<![A-Za-z])[XxK]{2,}(?![A-Za-z])")


def mask_deidentification(text: str) -> str:
    def blank(match: re.Match[str]) -> str:
        token = match.group()
        return " " * len(token) if token.count("X") >= 2 else token

    return _DEID_TOKEN.sub(blank, text)


# Words whose trailing period does not end a sentence ("Dr. Smith", "vs. atelectasis").
_ABBREVIATIONS = frozenset({
    "dr", "drs", "mr", "mrs", "ms", "prof", "st", "vs", "approx", "appr", "incl", "fig", "figs",
    "pt", "pts", "hx", "dx", "sx", "tx", "jr", "sr", "dept", "univ", "ave", "resp", "cf", "viz",
    "al", "ca", "esp", "min", "max", "mod", "med", "lt", "rt", "bilat", "prox", "ant", "post",
    "sup", "inf", "lat", "sp", "mt", "ft", "sq", "wt", "ht", "nos", "yr", "yrs", "mo", "mos",
    "wk", "wks", "hr", "hrs",
})
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)\s*$")
# A sentence ends at . ! ? before a space, a comma (MTSamples turned newlines into commas),
# a closing bracket or the end; at a blank line; or at a line break that starts a list item or
# a capitalised word (a PDF line that begins a new statement without a full stop).
_BOUNDARY = re.compile(
    r"[.!?]+(?=[\s,\"')\]]|$)"
    r"|\n[ \t]*\n"
    r"|\n(?=[ \t]*(?:\d{1,2}[.)]|[-•*\u2022])\s)"
    r"|\n(?=[ \t]*[A-Z][a-z])"
)
# A wrapped line that ends on one of these words continues on the next line.
_CONTINUES = re.compile(
    r"(?:\b(?:and|or|of|the|a|an|to|in|on|with|without|no|not|for|at|by|from|is|are|was|were|"
    r"status|post|than|as|which|that|left|right)|[,;:(\-/])[ \t]*$",
    re.IGNORECASE,
)
_LIST_ITEM = re.compile(r"(?:\d{1,2}[.)]|[-•*\u2022])\s")
_LEADING_NOISE = re.compile(r"^(?:[\s,;:.\-•*\u2022]|\d{1,2}[.)](?=\s)|\(\d{1,2}\)(?=\s))+")
_HAS_LETTER = re.compile(r"[A-Za-z]")


def _is_boundary(text: str, start: int, match: re.Match[str]) -> bool:
    token = match.group()
    if token.startswith("\n"):
        if token.count("\n") >= 2:
            return True
        following = text[match.end():match.end() + 8].lstrip(" \t")
        if _LIST_ITEM.match(following):
            return True
        line = text[max(start, match.start() - 200):match.start()].rsplit("\n", 1)[-1]
        return not _CONTINUES.search(line)
    if token != ".":
        return True
    before = _WORD_BEFORE.search(text, max(start, match.start() - 40), match.start())
    if before is None:
        return True
    word = before.group(1).lower()
    after = text[match.end():match.end() + 3].lstrip()
    if word == "no":
        # "No. 5" is a number; "No." closing a sentence ("Effusion: no.") is not.
        return not after[:1].isdigit()
    if word in _ABBREVIATIONS:
        return False
    if "." in word:  # "a.m." or "e.g." keep their sentence going
        return False
    # An initial ("J. Smith") is not a sentence end either.
    return not (len(word) == 1 and after[:1].isupper())


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences in text[start:end], trimmed of whitespace, list
    numbers and stray punctuation; pieces without a letter are dropped."""
    end = len(text) if end is None else min(end, len(text))
    spans: list[tuple[int, int]] = []
    cursor = start
    for match in _BOUNDARY.finditer(text, start, end):
        if match.end() <= cursor or not _is_boundary(text, cursor, match):
            continue
        piece_end = match.end() if not match.group().startswith("\n") else match.start()
        _add(text, cursor, piece_end, spans)
        cursor = match.end()
    _add(text, cursor, end, spans)
    return spans


def _add(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    piece = text[start:end]
    lead = _LEADING_NOISE.match(piece)
    skip = lead.end() if lead else 0
    trimmed = piece[skip:].rstrip()
    if not _HAS_LETTER.search(trimmed):
        return
    spans.append((start + skip, start + skip + len(trimmed)))


def sentence_text(text: str, span: tuple[int, int]) -> str:
    """The sentence as printed, with line wrapping folded into single spaces."""
    return " ".join(text[span[0]:span[1]].split())
