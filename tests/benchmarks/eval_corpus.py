"""Evaluate the headless analyser (``analyze --json``) against an evaluation corpus.

A script, not a pytest test (pytest never collects it: the file name does not start with
``test_`` and nothing runs on import). Standard library only. Run from the repository root:

    .venv/bin/python tests/benchmarks/eval_corpus.py --corpus DIR
    .venv/bin/python tests/benchmarks/eval_corpus.py --corpus DIR --jobs 2 -v --json-out r.json
    .venv/bin/python tests/benchmarks/eval_corpus.py --corpus DIR --only labs --limit 4
    .venv/bin/python tests/benchmarks/eval_corpus.py --corpus DIR \
        --cmd "medmitra-desktop analyze --json"

The corpus is ``DIR/gold/*.json`` (``kind``: lab | radiology | case; file paths in the gold
are relative to DIR). Every lab or radiology document is one call

    CMD --category auto [--patient-age N --patient-gender G] FILE [FILE ...]

(several FILEs = one document scanned as one file per page), every case one call with all
of its files. Calls run in parallel (``--jobs`` threads, one subprocess each) with a
timeout of ``--timeout`` seconds per call (per file for cases). The default CMD is this
interpreter with ``-m medmitra_desktop analyze --json``.

Metrics
-------
Labs. A predicted row matches a gold row when its LOINC equals the gold ``loinc`` or one of
``loinc_equiv``, or its test name equals ``test_display`` or one of ``aliases`` (compared
lower-case, letters and digits only), AND the value is equal (numbers within 1e-6; a gold row
without a numeric value compares ``value_text`` lower-case without whitespace). Matching is
one-to-one: LOINC matches first, then name matches, each in printed order. Row precision,
recall and F1 count all ``lab_results`` of all documents of the call. Among matched rows:
unit (lower-case, whitespace removed, micro sign = u; equal to the printed unit or one of
``unit_accept``), reference (rows with ``ref_scored``; printed: both bounds equal, null =
null; not printed: ``ref_source`` = knowledge_base and at least one bound), flag (rows with
``ref_scored`` and a ``flag_expected``; HH/LL count as H/L; correct when in ``flag_accept``
or equal to ``flag_expected``). Per layout, per variant, layout x variant F1, and overall.

Radiology. normal/abnormal accuracy (``radiology.normal`` must be a boolean equal to the
gold); finding recall over ``expected_findings`` (found when an observation's ``finding``
equals the term, case/space-insensitive, and it is positive: neither negated nor
uncertain); column ``+uncert`` is the same recall with uncertain observations counted too
(the official scorer does, and also accepts synonyms); negation errors = gold-normal reports
with any positive observation; ``extra_pos`` = positive findings not expected. By format.

Cases. Condition recall: an expected condition is found when a differential item's
``icd10`` has the same 3-character category as the expected code, or its ``condition`` text
matches one of the gold ``match`` regexes (case-insensitive). Mean differential size.

Failures: exit status != 0, timeout, output that is not a JSON object, ``schema`` other than
``medmitra.analysis/1``, commands that cannot start; documents whose ``status`` is not ``ok``
are counted too. Output that parses is scored even when the call failed otherwise. Timing:
median seconds per lab/radiology call (= per document).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import math
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = "medmitra.analysis/1"
KIND_NAMES = {
    "lab": "lab",
    "labs": "lab",
    "radiology": "radiology",
    "rad": "radiology",
    "case": "case",
    "cases": "case",
}
KIND_ORDER = ("case", "lab", "radiology")  # cases first: the longest calls start early
FAILURE_KINDS = ("start", "timeout", "exit", "bad_json", "schema")
VALUE_TOL = 1e-6


# ----------------------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------------------
def _micro_to_u(text: str) -> str:
    return text.replace("\u00b5", "u").replace("\u03bc", "u")


def name_key(text: Any) -> str:
    """Test names: lower-case, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", _micro_to_u(str(text or "").lower()))


def unit_key(text: Any) -> str:
    """Units: lower-case, no whitespace, micro sign as u."""
    return re.sub(r"\s+", "", _micro_to_u(str(text or "").lower()))


def text_key(text: Any) -> str:
    """Non-numeric values: lower-case, no whitespace."""
    return re.sub(r"\s+", "", str(text or "").lower())


def finding_key(text: Any) -> str:
    return " ".join(str(text or "").lower().split())


def as_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def same_number(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=VALUE_TOL)


def norm_flag(flag: Any) -> str | None:
    if not isinstance(flag, str) or not flag.strip():
        return None
    flag = flag.strip().upper()
    return {"HH": "H", "LL": "L"}.get(flag, flag)


def ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def fmt_num(value: Any) -> str:
    number = as_float(value)
    if number is None:
        return "null"
    return f"{number:g}"


def render_table(
    headers: list[str], rows: list[list[Any]], indent: str = "  ", left: tuple[int, ...] = (0,)
) -> str:
    """Plain-text table: columns in ``left`` left-aligned, the others right-aligned."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(values: list[str]) -> str:
        parts = [
            v.ljust(widths[i]) if i in left else v.rjust(widths[i]) for i, v in enumerate(values)
        ]
        return (indent + "  ".join(parts)).rstrip()

    out = [line(headers), indent + "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells]
    return "\n".join(out)


def documents_of(output: dict | None) -> list[dict]:
    docs = (output or {}).get("documents")
    return [d for d in docs if isinstance(d, dict)] if isinstance(docs, list) else []


def load_gold(corpus: Path) -> list[dict]:
    golds = []
    for path in sorted((corpus / "gold").glob("*.json")):
        with path.open(encoding="utf-8") as fh:
            gold = json.load(fh)
        if isinstance(gold, dict) and gold.get("kind") in KIND_ORDER:
            gold.setdefault("id", path.stem)
            golds.append(gold)
    return golds


# ----------------------------------------------------------------------------------------
# running the analyser
# ----------------------------------------------------------------------------------------
@dataclass
class CallResult:
    argv: list[str]
    seconds: float = 0.0
    returncode: int | None = None
    output: dict | None = None
    problems: list[str] = field(default_factory=list)  # FAILURE_KINDS, in that order
    message: str = ""

    @property
    def failed(self) -> bool:
        return bool(self.problems)


_LIVE: set[subprocess.Popen] = set()  # running analyser processes, for Ctrl-C
_LIVE_LOCK = threading.Lock()


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass


def run_call(argv: list[str], timeout: float) -> CallResult:
    res = CallResult(argv=argv)
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=hasattr(os, "killpg"),
        )
    except OSError as exc:
        res.problems.append("start")
        res.message = f"could not start: {exc}"
        return res
    with _LIVE_LOCK:
        _LIVE.add(proc)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        try:
            stdout, stderr = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            stdout, stderr = b"", b""
        res.seconds = time.monotonic() - started
        res.returncode = proc.returncode
        res.problems.append("timeout")
        res.message = f"timeout after {timeout:g}s"
        return res
    finally:
        with _LIVE_LOCK:
            _LIVE.discard(proc)
    res.seconds = time.monotonic() - started
    res.returncode = proc.returncode
    err_tail = " ".join(stderr.decode("utf-8", "replace").split())[-300:]
    messages = []
    if proc.returncode != 0:
        res.problems.append("exit")
        messages.append(f"exit {proc.returncode}: {err_tail}")
    try:
        output = json.loads(stdout.decode("utf-8", "replace"))
        if not isinstance(output, dict):
            raise ValueError("top level is not an object")
    except ValueError as exc:
        res.problems.append("bad_json")
        messages.append(f"invalid JSON ({str(exc)[:80]}); stdout={len(stdout)} bytes")
    else:
        res.output = output
        if output.get("schema") != SCHEMA:
            res.problems.append("schema")
            messages.append(f"schema {output.get('schema')!r} != {SCHEMA!r}")
    res.message = "; ".join(messages)
    return res


def build_argv(cmd: list[str], corpus: Path, gold: dict) -> list[str]:
    argv = [*cmd, "--category", "auto"]
    patient = gold.get("patient") or {}
    if patient.get("age") is not None:
        argv += ["--patient-age", str(patient["age"])]
    if patient.get("gender"):
        argv += ["--patient-gender", str(patient["gender"])]
    argv += [str(corpus / f) for f in gold["files"]]
    return argv


# ----------------------------------------------------------------------------------------
# labs
# ----------------------------------------------------------------------------------------
LAB_COUNTERS = (
    "docs", "doc_fail", "gold", "pred", "tp", "unit_n", "unit_ok", "ref_n", "ref_ok",
    "refp_n", "refp_ok", "refkb_n", "refkb_ok", "flag_n", "flag_ok", "cat_ok",
)  # fmt: skip


def new_lab_tally() -> dict[str, int]:
    return dict.fromkeys(LAB_COUNTERS, 0)


def lab_summary(t: dict[str, int]) -> dict[str, Any]:
    p = ratio(t["tp"], t["pred"]) or 0.0
    r = ratio(t["tp"], t["gold"]) or 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return dict(
        t,
        precision=p,
        recall=r,
        f1=f1,
        unit_acc=ratio(t["unit_ok"], t["unit_n"]),
        ref_acc=ratio(t["ref_ok"], t["ref_n"]),
        ref_printed_acc=ratio(t["refp_ok"], t["refp_n"]),
        ref_kb_acc=ratio(t["refkb_ok"], t["refkb_n"]),
        flag_acc=ratio(t["flag_ok"], t["flag_n"]),
        category_acc=ratio(t["cat_ok"], t["docs"]),
    )


def value_matches(gold_row: dict, pred_row: dict) -> bool:
    gold_value = as_float(gold_row.get("value"))
    if gold_value is None:
        return text_key(pred_row.get("value_text")) == text_key(gold_row.get("value_text"))
    pred_value = as_float(pred_row.get("value"))
    return pred_value is not None and same_number(pred_value, gold_value)


def match_lab_rows(gold_rows: list[dict], pred_rows: list[dict]) -> dict[int, tuple[int, str]]:
    """gold index -> (pred index, "loinc" | "name"), one-to-one."""
    pred_loinc = [str(p.get("loinc") or "").strip() for p in pred_rows]
    pred_name = [name_key(p.get("test")) for p in pred_rows]
    used: set[int] = set()
    pairs: dict[int, tuple[int, str]] = {}
    for how in ("loinc", "name"):
        for gi, g in enumerate(gold_rows):
            if gi in pairs:
                continue
            if how == "loinc":
                keys = {str(c).strip() for c in [g.get("loinc"), *(g.get("loinc_equiv") or [])]}
                keys.discard("")
                keys.discard("None")
                candidates = pred_loinc
            else:
                keys = {name_key(n) for n in [g.get("test_display"), *(g.get("aliases") or [])]}
                keys.discard("")
                candidates = pred_name
            for pi, key in enumerate(candidates):
                if pi in used or key not in keys or not value_matches(g, pred_rows[pi]):
                    continue
                pairs[gi] = (pi, how)
                used.add(pi)
                break
    return pairs


def describe_row(row: dict, name_field: str) -> str:
    value = row.get("value_text")
    if value in (None, ""):
        value = fmt_num(row.get("value"))
    text = f"{row.get(name_field)} = {value} {row.get('unit') or ''}"
    return " ".join(text.split())


def score_lab(gold: dict, call: CallResult) -> dict[str, Any]:
    docs = documents_of(call.output)
    preds = []
    for doc in docs:
        rows = doc.get("lab_results")
        if isinstance(rows, list):
            preds += [r for r in rows if isinstance(r, dict)]
    gold_rows = gold.get("rows") or []
    pairs = match_lab_rows(gold_rows, preds)
    tally = new_lab_tally()
    tally["docs"] = 1
    tally["gold"] = len(gold_rows)
    tally["pred"] = len(preds)
    tally["tp"] = len(pairs)
    bad_status = [
        f"{d.get('file')}: {d.get('status')} {d.get('error') or ''}".strip()
        for d in docs
        if d.get("status") != "ok"
    ]
    tally["doc_fail"] = int(call.failed or bool(bad_status))
    tally["cat_ok"] = int(bool(docs) and all(d.get("category") == "lab" for d in docs))
    wrong: list[str] = []
    for gi, (pi, _how) in sorted(pairs.items()):
        g, p = gold_rows[gi], preds[pi]
        name = g.get("test_display")
        accepted = {unit_key(u) for u in [g.get("unit"), *(g.get("unit_accept") or [])]}
        tally["unit_n"] += 1
        if unit_key(p.get("unit")) in accepted:
            tally["unit_ok"] += 1
        else:
            want = " | ".join(repr(u) for u in [g.get("unit"), *(g.get("unit_accept") or [])])
            wrong.append(f"unit  {name}: got {p.get('unit')!r}, want {want}")
        scored = g.get("ref_scored", True)
        if scored:
            lo, hi = as_float(p.get("ref_low")), as_float(p.get("ref_high"))
            got = f"{fmt_num(lo)}..{fmt_num(hi)} ({p.get('ref_source')})"
            tally["ref_n"] += 1
            if g.get("ref_printed", True):
                ok = same_number(lo, as_float(g.get("ref_low"))) and same_number(
                    hi, as_float(g.get("ref_high"))
                )
                tally["refp_n"] += 1
                tally["refp_ok"] += ok
                want = f"{fmt_num(g.get('ref_low'))}..{fmt_num(g.get('ref_high'))} (printed)"
            else:
                ok = p.get("ref_source") == "knowledge_base" and (lo is not None or hi is not None)
                tally["refkb_n"] += 1
                tally["refkb_ok"] += ok
                want = "any bound from knowledge_base"
            tally["ref_ok"] += ok
            if not ok:
                wrong.append(f"ref   {name}: got {got}, want {want}")
        if scored and g.get("flag_expected") is not None:
            accept = {norm_flag(f) for f in g.get("flag_accept") or []}
            accept.add(norm_flag(g.get("flag_expected")))
            ok = norm_flag(p.get("flag")) in accept
            tally["flag_n"] += 1
            tally["flag_ok"] += ok
            if not ok:
                wrong.append(
                    f"flag  {name} = {g.get('value_text')}: got {p.get('flag')!r}, "
                    f"want {' or '.join(sorted(a for a in accept if a))}"
                )
    matched_preds = {pi for pi, _ in pairs.values()}
    return {
        "id": gold["id"],
        "layout": gold.get("layout", "?"),
        "variant": gold.get("variant", "?"),
        "files": gold["files"],
        "seconds": round(call.seconds, 3),
        "call_problems": call.problems,
        "call_message": call.message,
        "doc_status_not_ok": bad_status,
        "tally": tally,
        "matched_by_loinc": sum(1 for _, how in pairs.values() if how == "loinc"),
        "missed": [
            describe_row(r, "test_display") for i, r in enumerate(gold_rows) if i not in pairs
        ],
        "spurious": [
            describe_row(r, "test") for i, r in enumerate(preds) if i not in matched_preds
        ],
        "wrong": wrong,
    }


# ----------------------------------------------------------------------------------------
# radiology and cases
# ----------------------------------------------------------------------------------------
def is_positive(obs: dict) -> bool:
    return not obs.get("negated") and not obs.get("uncertain")


def score_radiology(gold: dict, call: CallResult) -> dict[str, Any]:
    docs = documents_of(call.output)
    blocks = [d["radiology"] for d in docs if isinstance(d.get("radiology"), dict)]
    normal = blocks[0].get("normal") if blocks else None
    observations = [o for b in blocks for o in (b.get("observations") or []) if isinstance(o, dict)]
    positives = [finding_key(o.get("finding")) for o in observations if is_positive(o)]
    expected = [finding_key(f) for f in gold.get("expected_findings") or []]
    found = [f for f in expected if f in positives]
    not_negated = [finding_key(o.get("finding")) for o in observations if not o.get("negated")]
    gold_normal = bool(gold.get("normal"))
    bad_status = [
        f"{d.get('file')}: {d.get('status')} {d.get('error') or ''}".strip()
        for d in docs
        if d.get("status") != "ok"
    ]
    return {
        "id": gold["id"],
        "format": gold.get("format", "?"),
        "files": gold["files"],
        "seconds": round(call.seconds, 3),
        "call_problems": call.problems,
        "call_message": call.message,
        "doc_status_not_ok": bad_status,
        "gold_normal": gold_normal,
        "pred_normal": normal,
        "normal_ok": isinstance(normal, bool) and normal == gold_normal,
        "expected": expected,
        "found": found,
        "missed": [f for f in expected if f not in found],
        "found_if_uncertain_counts": [f for f in expected if f in not_negated],
        "positives": positives,
        "extra_positives": [f for f in positives if f not in expected],
        "uncertain": [
            finding_key(o.get("finding"))
            for o in observations
            if o.get("uncertain") and not o.get("negated")
        ],
        "negation_error": gold_normal and bool(positives),
        "category_ok": bool(docs) and all(d.get("category") == "radiology" for d in docs),
    }


def icd_category(code: Any) -> str:
    return re.sub(r"[^A-Z0-9]", "", str(code or "").upper())[:3]


def condition_found(expected: dict, differential: list[dict]) -> dict | None:
    category = icd_category(expected.get("icd10"))
    patterns = []
    for rx in expected.get("match") or []:
        try:
            patterns.append(re.compile(rx, re.IGNORECASE))
        except re.error:
            continue
    for item in differential:
        if category and icd_category(item.get("icd10")) == category:
            return item
        text = str(item.get("condition") or "")
        if any(p.search(text) for p in patterns):
            return item
    return None


def score_case(gold: dict, call: CallResult) -> dict[str, Any]:
    insights = (call.output or {}).get("insights")
    raw = insights.get("differential") if isinstance(insights, dict) else None
    differential = [d for d in raw if isinstance(d, dict)] if isinstance(raw, list) else []
    found, missed = [], []
    for cond in gold.get("expected_conditions") or []:
        label = f"{cond.get('icd10')} {cond.get('label') or cond.get('condition')}"
        hit = condition_found(cond, differential)
        if hit is None:
            missed.append(label)
        else:
            found.append(f"{label} <- {hit.get('icd10')} {hit.get('condition')}")
    docs = documents_of(call.output)
    return {
        "id": gold["id"],
        "files": gold["files"],
        "seconds": round(call.seconds, 3),
        "call_problems": call.problems,
        "call_message": call.message,
        "doc_status_not_ok": [
            f"{d.get('file')}: {d.get('status')} {d.get('error') or ''}".strip()
            for d in docs
            if d.get("status") != "ok"
        ],
        "n_expected": len(gold.get("expected_conditions") or []),
        "found": found,
        "missed": missed,
        "differential": [
            f"{d.get('icd10')} {d.get('condition')} ({fmt_num(d.get('confidence'))})"
            for d in differential
        ],
        "n_differential": len(differential),
    }


# ----------------------------------------------------------------------------------------
# aggregation and report
# ----------------------------------------------------------------------------------------
def aggregate_labs(details: list[dict]) -> dict[str, Any]:
    overall = new_lab_tally()
    by_layout: dict[str, dict[str, int]] = {}
    by_variant: dict[str, dict[str, int]] = {}
    cross: dict[str, dict[str, int]] = {}
    for d in details:
        slices = [
            overall,
            by_layout.setdefault(d["layout"], new_lab_tally()),
            by_variant.setdefault(d["variant"], new_lab_tally()),
            cross.setdefault(f"{d['layout']}/{d['variant']}", new_lab_tally()),
        ]
        for tally in slices:
            for key, value in d["tally"].items():
                tally[key] += value
    return {
        "overall": lab_summary(overall),
        "by_layout": {k: lab_summary(v) for k, v in sorted(by_layout.items())},
        "by_variant": {k: lab_summary(v) for k, v in sorted(by_variant.items())},
        "by_layout_variant": {k: lab_summary(v) for k, v in sorted(cross.items())},
        "documents": details,
    }


def rad_summary(details: list[dict]) -> dict[str, Any]:
    n = len(details)
    find_n = sum(len(d["expected"]) for d in details)
    find_ok = sum(len(d["found"]) for d in details)
    gold_normal = sum(d["gold_normal"] for d in details)
    neg_err = sum(d["negation_error"] for d in details)
    return {
        "docs": n,
        "doc_fail": sum(bool(d["call_problems"] or d["doc_status_not_ok"]) for d in details),
        "normal_ok": sum(d["normal_ok"] for d in details),
        "normal_acc": ratio(sum(d["normal_ok"] for d in details), n),
        "findings_expected": find_n,
        "findings_found": find_ok,
        "finding_recall": ratio(find_ok, find_n),
        "finding_recall_incl_uncertain": ratio(
            sum(len(d["found_if_uncertain_counts"]) for d in details), find_n
        ),
        "gold_normal_reports": gold_normal,
        "negation_errors": neg_err,
        "negation_error_rate": ratio(neg_err, gold_normal),
        "positive_observations": sum(len(d["positives"]) for d in details),
        "extra_positive_observations": sum(len(d["extra_positives"]) for d in details),
        "category_acc": ratio(sum(d["category_ok"] for d in details), n),
    }


def aggregate_radiology(details: list[dict]) -> dict[str, Any]:
    formats = sorted({d["format"] for d in details})
    return {
        "overall": rad_summary(details),
        "by_format": {f: rad_summary([d for d in details if d["format"] == f]) for f in formats},
        "documents": details,
    }


def aggregate_cases(details: list[dict]) -> dict[str, Any]:
    cond_n = sum(d["n_expected"] for d in details)
    cond_ok = sum(len(d["found"]) for d in details)
    sizes = [d["n_differential"] for d in details]
    return {
        "overall": {
            "cases": len(details),
            "case_fail": sum(bool(d["call_problems"] or d["doc_status_not_ok"]) for d in details),
            "conditions_expected": cond_n,
            "conditions_found": cond_ok,
            "condition_recall": ratio(cond_ok, cond_n),
            "mean_differential_size": statistics.mean(sizes) if sizes else None,
        },
        "documents": details,
    }


def lab_table(labs: dict[str, Any]) -> str:
    headers = [
        "slice",
        "docs",
        "fail",
        "gold",
        "pred",
        "match",
        "P",
        "R",
        "F1",
        "unit",
        "ref",
        "refPrt",
        "refKB",
        "flag",
        "categ",
    ]
    rows = []

    def add(label: str, s: dict[str, Any]) -> None:
        rows.append(
            [
                label,
                s["docs"],
                s["doc_fail"],
                s["gold"],
                s["pred"],
                s["tp"],
                fmt(s["precision"]),
                fmt(s["recall"]),
                fmt(s["f1"]),
                fmt(s["unit_acc"]),
                fmt(s["ref_acc"]),
                fmt(s["ref_printed_acc"]),
                fmt(s["ref_kb_acc"]),
                fmt(s["flag_acc"]),
                fmt(s["category_acc"]),
            ]
        )

    for key, s in labs["by_layout"].items():
        add(f"layout {key}", s)
    for key, s in labs["by_variant"].items():
        add(f"variant {key}", s)
    add("ALL", labs["overall"])
    return render_table(headers, rows)


def lab_matrix(labs: dict[str, Any]) -> str:
    layouts = list(labs["by_layout"])
    variants = list(labs["by_variant"])
    rows = []
    for lay in layouts:
        row: list[Any] = [lay]
        for var in variants:
            s = labs["by_layout_variant"].get(f"{lay}/{var}")
            row.append(fmt(s["f1"]) if s else "")
        row.append(fmt(labs["by_layout"][lay]["f1"]))
        rows.append(row)
    rows.append(
        ["all", *(fmt(labs["by_variant"][v]["f1"]) for v in variants), fmt(labs["overall"]["f1"])]
    )
    return render_table(["F1 layout\\variant", *variants, "all"], rows)


def rad_table(rad: dict[str, Any]) -> str:
    headers = [
        "format",
        "docs",
        "fail",
        "normal_acc",
        "find_recall",
        "found/exp",
        "+uncert",
        "neg_err",
        "extra_pos",
        "categ",
    ]
    rows = []
    slices = [(f"format {k}", s) for k, s in rad["by_format"].items()]
    for label, s in [*slices, ("ALL", rad["overall"])]:
        rows.append(
            [
                label,
                s["docs"],
                s["doc_fail"],
                fmt(s["normal_acc"]),
                fmt(s["finding_recall"]),
                f"{s['findings_found']}/{s['findings_expected']}",
                fmt(s["finding_recall_incl_uncertain"]),
                f"{s['negation_errors']}/{s['gold_normal_reports']}",
                s["extra_positive_observations"],
                fmt(s["category_acc"]),
            ]
        )
    return render_table(headers, rows)


def case_table(cases: dict[str, Any]) -> str:
    rows = []
    for d in cases["documents"]:
        status = ",".join(d["call_problems"]) or ("doc-fail" if d["doc_status_not_ok"] else "ok")
        rows.append(
            [
                d["id"],
                len(d["files"]),
                status,
                f"{len(d['found'])}/{d['n_expected']}",
                d["n_differential"],
                f"{d['seconds']:.1f}",
                "; ".join(d["missed"]) or "-",
            ]
        )
    o = cases["overall"]
    rows.append(
        [
            "ALL",
            sum(len(d["files"]) for d in cases["documents"]),
            f"{o['case_fail']} fail",
            f"{o['conditions_found']}/{o['conditions_expected']}",
            fmt(o["mean_differential_size"], 1),
            "",
            "",
        ]
    )
    headers = ["case", "files", "status", "found", "n_diff", "sec", "missed"]
    return render_table(headers, rows, left=(0, 6))


def verbose_lines(labs: dict, rad: dict, cases: dict) -> list[str]:
    out: list[str] = []

    def problems(d: dict) -> list[str]:
        lines = []
        if d["call_problems"]:
            lines.append(f"    call failed [{','.join(d['call_problems'])}]: {d['call_message']}")
        lines += [f"    document status: {s}" for s in d["doc_status_not_ok"]]
        return lines

    for d in (labs or {}).get("documents", []):
        t = d["tally"]
        lines = problems(d)
        if t["pred"] == 0 and t["gold"]:
            lines.append(f"    no rows predicted: all {t['gold']} gold rows missed")
        else:
            lines += [f"    missed   {m}" for m in d["missed"]]
        lines += [f"    spurious {s}" for s in d["spurious"]]
        lines += [f"    {w}" for w in d["wrong"]]
        if lines:
            out.append(
                f"  {d['id']} [{d['layout']}/{d['variant']}] matched {t['tp']}/{t['gold']}"
                f" gold rows, {t['pred']} predicted, {d['seconds']:.1f}s"
            )
            out += lines
    for d in (rad or {}).get("documents", []):
        lines = problems(d)
        if not d["normal_ok"]:
            lines.append(f"    normal: got {d['pred_normal']}, want {d['gold_normal']}")
        if d["missed"]:
            lines.append(f"    missed findings: {', '.join(d['missed'])}")
        if d["negation_error"]:
            lines.append(f"    positives in a normal report: {', '.join(d['positives'])}")
        elif d["extra_positives"]:
            lines.append(f"    extra positives: {', '.join(d['extra_positives'])}")
        if lines:
            out.append(
                f"  {d['id']} [{d['format']}] expected: "
                f"{', '.join(d['expected']) or 'normal'}; positives: "
                f"{', '.join(d['positives']) or '-'}"
            )
            out += lines
    for d in (cases or {}).get("documents", []):
        lines = problems(d)
        if d["missed"]:
            lines.append(f"    missed: {'; '.join(d['missed'])}")
            lines.append(f"    differential: {'; '.join(d['differential']) or '(empty)'}")
        if lines:
            out.append(f"  {d['id']} found {len(d['found'])}/{d['n_expected']}")
            out += lines
    return out


# ----------------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Metric definitions: see the module docstring of this script.",
    )
    ap.add_argument("--corpus", required=True, type=Path, help="corpus directory (has gold/)")
    ap.add_argument(
        "--cmd",
        help='analyser command (default: "<this python> -m medmitra_desktop analyze --json")',
    )
    ap.add_argument("--jobs", type=int, default=2, help="parallel calls (default 2)")
    ap.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds per call; per file for cases (default 60)",
    )
    ap.add_argument(
        "--only",
        choices=["labs", "radiology", "cases"],
        action="append",
        help="evaluate only this kind (repeatable)",
    )
    ap.add_argument("--limit", type=int, help="at most N gold documents of each kind")
    ap.add_argument("--json-out", type=Path, help="write all figures and per-document detail")
    ap.add_argument("-v", "--verbose", action="store_true", help="per-document misses")
    args = ap.parse_args(argv)
    if args.jobs < 1:
        ap.error("--jobs must be at least 1")
    if args.limit is not None and args.limit < 1:
        ap.error("--limit must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    corpus = args.corpus.resolve()
    if args.cmd:
        cmd = shlex.split(args.cmd)
    else:
        cmd = [sys.executable, "-m", "medmitra_desktop", "analyze", "--json"]
    kinds = {KIND_NAMES[k] for k in args.only} if args.only else set(KIND_ORDER)
    golds: list[dict] = []
    for kind in KIND_ORDER:
        if kind not in kinds:
            continue
        of_kind = [g for g in load_gold(corpus) if g["kind"] == kind]
        golds += of_kind[: args.limit] if args.limit else of_kind
    if not golds:
        print(f"no gold files for {sorted(kinds)} under {corpus / 'gold'}", file=sys.stderr)
        return 2

    progress = args.verbose or sys.stderr.isatty()
    started = time.monotonic()
    results: dict[str, CallResult] = {}
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs)
    try:
        futures = {}
        for gold in golds:
            timeout = args.timeout * (len(gold["files"]) if gold["kind"] == "case" else 1)
            fut = pool.submit(run_call, build_argv(cmd, corpus, gold), timeout)
            futures[fut] = gold
        for n, fut in enumerate(concurrent.futures.as_completed(futures), 1):
            gold = futures[fut]
            call = fut.result()
            results[gold["id"]] = call
            if progress:
                state = ",".join(call.problems) or "ok"
                print(
                    f"[{n}/{len(golds)}] {gold['id']:<12} {call.seconds:6.1f}s {state}",
                    file=sys.stderr,
                    flush=True,
                )
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        with _LIVE_LOCK:
            for proc in list(_LIVE):
                _kill_group(proc)
        print("interrupted", file=sys.stderr)
        return 130
    pool.shutdown()
    wall = time.monotonic() - started

    lab_details = [score_lab(g, results[g["id"]]) for g in golds if g["kind"] == "lab"]
    rad_details = [score_radiology(g, results[g["id"]]) for g in golds if g["kind"] == "radiology"]
    case_details = [score_case(g, results[g["id"]]) for g in golds if g["kind"] == "case"]
    labs = aggregate_labs(lab_details) if lab_details else None
    rad = aggregate_radiology(rad_details) if rad_details else None
    cases = aggregate_cases(case_details) if case_details else None

    by_kind = dict.fromkeys(FAILURE_KINDS, 0)
    failure_list = []
    doc_not_ok = 0
    for d in lab_details + rad_details + case_details:
        for problem in d["call_problems"]:
            by_kind[problem] += 1
        doc_not_ok += len(d["doc_status_not_ok"])
        if d["call_problems"]:
            failure_list.append(f"{d['id']}: [{','.join(d['call_problems'])}] {d['call_message']}")
        failure_list += [f"{d['id']}: document {s}" for s in d["doc_status_not_ok"]]
    failed_calls = sum(1 for c in results.values() if c.failed)
    per_doc = [results[g["id"]].seconds for g in golds if g["kind"] != "case"]
    timing = {
        "median_seconds_per_document": statistics.median(per_doc) if per_doc else None,
        "mean_seconds_per_document": statistics.mean(per_doc) if per_doc else None,
        "max_seconds_per_document": max(per_doc) if per_doc else None,
        "case_seconds": [round(d["seconds"], 3) for d in case_details],
        "wall_seconds": wall,
    }

    out = [f"MedMitra corpus evaluation: {corpus}", f"command: {shlex.join(cmd)}", ""]
    if labs:
        o = labs["overall"]
        out.append(f"LABS  {o['docs']} documents, {o['gold']} gold rows")
        out += [lab_table(labs), "", lab_matrix(labs), ""]
    if rad:
        o = rad["overall"]
        out.append(f"RADIOLOGY  {o['docs']} reports ({o['gold_normal_reports']} normal)")
        out += [rad_table(rad), ""]
    if cases:
        o = cases["overall"]
        out.append(
            f"CASES  {o['cases']} cases: condition recall {fmt(o['condition_recall'])}, "
            f"mean differential size {fmt(o['mean_differential_size'], 1)}"
        )
        out += [case_table(cases), ""]
    out.append(
        f"FAILURES  calls {failed_calls}/{len(results)} "
        + " ".join(f"{k}={v}" for k, v in by_kind.items())
        + f"  documents with status != ok: {doc_not_ok}"
    )
    shown = failure_list if args.verbose else failure_list[:10]
    out += [f"  ! {line[:220]}" for line in shown]
    if len(shown) < len(failure_list):
        out.append(f"  ... {len(failure_list) - len(shown)} more (-v)")
    out.append(
        f"TIMING  median {fmt(timing['median_seconds_per_document'], 2)} s/document, "
        f"mean {fmt(timing['mean_seconds_per_document'], 2)}, "
        f"max {fmt(timing['max_seconds_per_document'], 2)}, wall {wall:.1f} s, jobs {args.jobs}"
    )
    if args.verbose:
        detail = verbose_lines(labs or {}, rad or {}, cases or {})
        out += ["", "PER-DOCUMENT MISSES", *(detail or ["  (none)"])]
    summary = {
        "lab_f1": labs["overall"]["f1"] if labs else None,
        "lab_unit": labs["overall"]["unit_acc"] if labs else None,
        "lab_ref": labs["overall"]["ref_acc"] if labs else None,
        "lab_flag": labs["overall"]["flag_acc"] if labs else None,
        "rad_normal_acc": rad["overall"]["normal_acc"] if rad else None,
        "rad_finding_recall": rad["overall"]["finding_recall"] if rad else None,
        "rad_negation_errors": rad["overall"]["negation_errors"] if rad else None,
        "case_recall": cases["overall"]["condition_recall"] if cases else None,
        "failures": failed_calls + doc_not_ok,
        "median_s": timing["median_seconds_per_document"],
    }
    out += [
        "",
        "SUMMARY "
        + " ".join(
            f"{k}={v}" if isinstance(v, int) else f"{k}={fmt(v)}" for k, v in summary.items()
        ),
    ]
    print("\n".join(out))

    if args.json_out:
        report = {
            "corpus": str(corpus),
            "command": cmd,
            "jobs": args.jobs,
            "timeout": args.timeout,
            "summary": summary,
            "labs": labs,
            "radiology": rad,
            "cases": cases,
            "failures": {
                "failed_calls": failed_calls,
                "calls": len(results),
                "by_kind": by_kind,
                "documents_status_not_ok": doc_not_ok,
                "list": failure_list,
            },
            "timing": timing,
        }
        with args.json_out.open("w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=1)
            fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
