"""Case store benchmark: start-up, first page, search-as-you-type and filters at scale.

A script, not a pytest test (pytest never collects it: the file name does not start with
``test_`` and nothing runs on import). Run from the repository root:

    .venv/bin/python tests/benchmarks/bench_case_store.py            # 100,000 cases
    .venv/bin/python tests/benchmarks/bench_case_store.py --cases 20000 --repeats 5
    .venv/bin/python tests/benchmarks/bench_case_store.py --data-dir /tmp/mm --keep
    .venv/bin/python tests/benchmarks/bench_case_store.py --data-dir /tmp/mm --reuse --variants

What it does:

1. Fills a fresh data folder with N realistic cases. CaseService.create_case would take
   minutes for 100k (it copies and fsyncs every file), so the fill goes through the same
   ORM tables (``insert(Case)``, ``insert(Document)``, ...) in a few large transactions, and
   fills the FTS5 ``case_search`` index with the same INSERT as
   ``storage.search_index.reindex_case`` (rowid = cases.id, same three columns). Documents
   get file names and fake SHA-256s (no blobs are written for them). Audit rows keep a valid
   hash chain. No ANALYZE and no FTS 'optimize' are run, like a real installation.
2. Times 200 cases created through CaseService.create_case (each with a small text file),
   beside the same statements in one raw sqlite3 transaction (plus the same hash+copy+fsync).
3. Start-up: in fresh subprocesses, open_database() on the existing migrated database and
   fetch the first page (size 50, updated_at desc), once with the database file evicted from
   the OS page cache (posix_fadvise DONTNEED) and once warm; raw = sqlite3.connect + the
   same pragmas + the alembic version read, then the same two queries.
4. Search-as-you-type: ~50 prefixes typed a character at a time, CaseService.list_cases(
   CaseQuery(search=prefix, size=50)) vs the same COUNT + page SQL in plain sqlite3.
5. Filters, sorts and deep pages, the same way.
6. Peak RSS (getrusage) of this process and of the start-up subprocesses.

ratio = ours / raw (p50). Targets: first page and every search p95 < 50 ms; ratio < 3x.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import resource
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

TARGET_MS = 50.0
TARGET_RATIO = 3.0
PAGE_SIZE = 50
DB_FILE_NAME = "medmitra.sqlite3"  # storage.database.DB_FILE_NAME (checked in main)

# ---------------------------------------------------------------------------------------
# Realistic data
# ---------------------------------------------------------------------------------------

INDIAN_FIRST_MALE = [
    "Aarav", "Vihaan", "Arjun", "Rahul", "Anil", "Sanjay", "Rajesh", "Suresh", "Vikram",
    "Amit", "Rohit", "Karthik", "Venkatesh", "Mohammed", "Imran", "Gurpreet", "Harpreet",
    "Sandeep", "Manoj", "Prakash", "Deepak", "Arvind", "Ganesh", "Srinivas", "Abhishek",
    "Nikhil", "Yash", "Aditya", "Ravi", "Kiran", "Shankar", "Shyam", "Shivam", "Sachin",
    "Mahesh", "Naveen", "Tarun", "Farhan", "Zubair", "Joseph",
]
INDIAN_FIRST_FEMALE = [
    "Priya", "Ananya", "Diya", "Kavya", "Lakshmi", "Sunita", "Anjali", "Pooja", "Neha",
    "Deepa", "Meena", "Fatima", "Ayesha", "Harleen", "Swati", "Shreya", "Divya", "Radha",
    "Sarita", "Geeta", "Nandini", "Isha", "Aishwarya", "Revathi", "Padma", "Jyoti", "Rekha",
    "Sneha", "Shalini", "Shobha", "Priyanka", "Kamala", "Zainab", "Mary", "Tanvi",
]
INDIAN_LAST = [
    "Sharma", "Verma", "Gupta", "Singh", "Kumar", "Patel", "Shah", "Reddy", "Rao", "Iyer",
    "Iyengar", "Nair", "Menon", "Pillai", "Mukherjee", "Banerjee", "Chatterjee", "Das",
    "Bose", "Ghosh", "Joshi", "Kulkarni", "Deshpande", "Patil", "Jain", "Agarwal", "Mehta",
    "Desai", "Naidu", "Chowdhury", "Khan", "Sheikh", "Ansari", "Qureshi", "Gill", "Sandhu",
    "Dhillon", "Fernandes", "D'Souza", "Pereira", "Thomas", "George", "Kaur", "Yadav",
    "Mishra", "Tiwari", "Pandey", "Saxena", "Srivastava", "Bhat", "Hegde", "Shetty",
    "Sharma", "Singh", "Kumar", "Patel",  # the commonest surnames, weighted up
]
DEVANAGARI_FIRST = ["राहुल", "प्रिया", "अनिल", "सुनीता", "गीता", "मोहन", "राधा", "विजय",
                    "लक्ष्मी", "सीमा", "अर्जुन", "पूजा"]
DEVANAGARI_LAST = ["शर्मा", "वर्मा", "कुमार", "सिंह", "गुप्ता", "यादव", "देवी", "मिश्रा"]
TAMIL_NAMES = ["முருகன் சுப்பிரமணியன்", "லட்சுமி ராமன்", "கார்த்திக் வேலு", "மீனா சுந்தரம்"]
BENGALI_NAMES = ["সুমন বন্দ্যোপাধ্যায়", "রিয়া দাস", "অমিত ঘোষ"]
ARABIC_FIRST = ["محمد", "أحمد", "فاطمة", "عائشة", "علي", "عمر", "ليلى", "يوسف", "زينب", "حسن"]
ARABIC_LAST = ["عبد الله", "الحسن", "خان", "حسين", "الرشيد", "قريشي", "صديقي"]
HEBREW_NAMES = ["דוד כהן", "שרה לוי", "משה פרץ", "רחל מזרחי", "יוסף ביטון"]
INTL_FIRST = [
    "José", "María", "François", "Zoë", "Jürgen", "Søren", "Łukasz", "Chloé", "Renée",
    "Björn", "Ana", "João", "Mónica", "Émile", "Siobhán", "Anaïs", "İbrahim", "Ngozi",
    "Wei", "Hiroshi", "Olga", "Dmitri", "John", "Emma", "Liam", "Sophie", "Hélène",
]
INTL_LAST = [
    "García", "Fernández", "Dubois", "Müller", "Nowak", "Kowalski", "Andersen", "Öztürk",
    "Nguyễn", "O'Brien", "Smith", "Johnson", "Schmidt", "Rossi", "da Silva", "Gonçalves",
    "Lefèvre", "Okafor", "Wang", "Tanaka", "Ivanova", "Petrov", "Núñez", "Ramírez",
    "Müller-Lüdenscheidt", "Brontë",
]
OTHER_SCRIPT_NAMES = ["Ольга Иванова", "Дмитрий Петров", "王伟", "李娜", "Γιώργος Παπαδόπουλος"]

AGE_BANDS = [  # (low, high, weight): an Indian outpatient mix, children to the very old
    (0, 4, 6.0), (5, 12, 7.0), (13, 17, 4.0), (18, 29, 14.0), (30, 44, 22.0),
    (45, 59, 24.0), (60, 74, 17.0), (75, 89, 5.5), (90, 100, 0.5),
]

DOCTORS = ["dr.mehta", "dr.iyer", "dr.khan", "dr.fernandes", "dr.reddy", "dr.banerjee"]


def _sentence(rng: random.Random) -> str:
    n = rng.randint
    templates = [
        lambda: f"Presented with chest pain radiating to the left arm for {n(1, 5)} days.",
        lambda: "Chest pain on exertion, ECG advised; troponin "
                f"{rng.choice(['negative', 'awaited'])}.",
        lambda: f"Fever with chills for {n(2, 7)} days; dengue NS1 "
                f"{rng.choice(['positive', 'negative', 'awaited'])}.",
        lambda: f"High grade fever since {n(1, 4)} days with body ache.",
        lambda: f"Diabetes follow-up; HbA1c {n(60, 110) / 10:.1f}%, metformin continued.",
        lambda: "Type 2 diabetes mellitus with peripheral neuropathy, foot care advised.",
        lambda: f"Hypertension review, BP {n(120, 180)}/{n(70, 110)} on amlodipine.",
        lambda: "Shortness of breath on exertion, known case of COPD.",
        lambda: f"Cough with sputum for {n(2, 6)} weeks, rule out tuberculosis; sputum AFB sent.",
        lambda: "Abdominal pain in the right lower quadrant, USG abdomen requested.",
        lambda: "Headache and dizziness since morning, no focal deficit.",
        lambda: "Thyroid profile review; hypothyroidism on levothyroxine.",
        lambda: f"Anaemia work-up: CBC shows haemoglobin {n(60, 110) / 10:.1f} g/dL.",
        lambda: "Knee pain, suspected osteoarthritis; X-ray knee advised.",
        lambda: f"Antenatal check-up at {n(8, 38)} weeks, routine labs.",
        lambda: "Burning micturition, urine routine and culture sent.",
        lambda: "Follow-up after COVID-19 recovery, persistent fatigue.",
        lambda: f"Chronic kidney disease stage {n(2, 4)}, creatinine {n(14, 45) / 10:.1f} mg/dL.",
        lambda: "Asthma exacerbation, nebulisation given, inhaler technique reviewed.",
        lambda: "Skin rash and itching for a week, likely allergic dermatitis.",
        lambda: "Jaundice with raised bilirubin, LFT ordered.",
        lambda: "Palpitations; ECG shows sinus tachycardia.",
        lambda: "Vomiting and loose stools since yesterday with mild dehydration.",
        lambda: "Routine health check-up; lipid profile borderline high.",
        lambda: "Post-operative review after laparoscopic appendectomy.",
        lambda: "Child with high fever, history of febrile seizure.",
        lambda: "Low back pain after lifting, no neurological deficit.",
        lambda: "Sharp epigastric pain after meals, suspected gastritis.",
        lambda: "Shoulder pain and stiffness for two months.",
        lambda: f"Sugar levels uncontrolled, fasting glucose {n(130, 260)} mg/dL.",
    ]
    return rng.choice(templates)()


LAB_FILES = [
    "cbc_report.pdf", "lipid_profile.pdf", "hba1c_result.pdf", "thyroid_panel.pdf",
    "lft_report.pdf", "kft_report.pdf", "urine_routine.pdf", "blood_sugar_fasting.pdf",
    "dengue_ns1.pdf", "vitamin_d.pdf", "lab_results.csv", "CBC Report.pdf", "scan0001.jpg",
]
RADIOLOGY_FILES = [
    "chest_xray.png", "chest_xray.jpg", "ct_abdomen.pdf", "mri_brain.pdf", "usg_abdomen.pdf",
    "ecg_tracing.pdf", "xray_knee.jpg", "echo_report.pdf", "mammogram.png",
]
MIME_BY_EXT = {"pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg",
               "csv": "text/csv", "txt": "text/plain"}


def _name_and_gender(rng: random.Random) -> tuple[str, str]:
    roll = rng.random()
    gender = "male" if rng.random() < 0.49 else "female"
    if rng.random() < 0.015:
        gender = "other"
    female = gender == "female" or (gender == "other" and rng.random() < 0.5)
    if roll < 0.72:
        first = rng.choice(INDIAN_FIRST_FEMALE if female else INDIAN_FIRST_MALE)
        name = f"{first} {rng.choice(INDIAN_LAST)}"
        if rng.random() < 0.08:  # a middle name or initial now and then
            name = f"{first} {rng.choice('ABCDEGKMNPRSTV')}. {rng.choice(INDIAN_LAST)}"
        return name, gender
    if roll < 0.78:
        return f"{rng.choice(DEVANAGARI_FIRST)} {rng.choice(DEVANAGARI_LAST)}", gender
    if roll < 0.79:
        return rng.choice(TAMIL_NAMES), gender
    if roll < 0.80:
        return rng.choice(BENGALI_NAMES), gender
    if roll < 0.85:
        return f"{rng.choice(ARABIC_FIRST)} {rng.choice(ARABIC_LAST)}", gender
    if roll < 0.86:
        return rng.choice(HEBREW_NAMES), gender
    if roll < 0.99:
        return f"{rng.choice(INTL_FIRST)} {rng.choice(INTL_LAST)}", gender
    return rng.choice(OTHER_SCRIPT_NAMES), gender


def _age(rng: random.Random) -> int:
    low, high, _ = rng.choices(AGE_BANDS, weights=[band[2] for band in AGE_BANDS])[0]
    return rng.randint(low, high)


def _status(rng: random.Random) -> str:
    roll = rng.random()
    return "completed" if roll < 0.955 else ("processing" if roll < 0.98 else "failed")


def _file_name(rng: random.Random, category: str) -> str:
    name = rng.choice(LAB_FILES if category == "lab" else RADIOLOGY_FILES)
    if rng.random() < 0.3:
        stem, ext = name.rsplit(".", 1)
        name = f"{stem}_{rng.randint(1, 12):02d}.{ext}"
    return name


def _uid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass
class FillStats:
    cases: int = 0
    documents: int = 0
    jobs: int = 0
    audit_rows: int = 0
    transactions: int = 0
    seconds: float = 0.0


def fill_database(database, n_cases: int, seed: int, chunk: int) -> FillStats:
    """N cases through the ORM tables and the FTS index, a chunk per transaction."""
    from sqlalchemy import insert, text

    from medmitra_desktop.services.audit import GENESIS_HASH, _row_hash
    from medmitra_desktop.storage.orm import AuditEntry, Case, Document, Job

    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    span = timedelta(days=3 * 365).total_seconds()
    # ids grow with creation time, as they do in real use; a practice grows, so a bit
    # more of the load is recent.
    offsets = sorted((span * (1 - rng.random() ** 0.85) for _ in range(n_cases)), reverse=True)
    fts_insert = text(
        "INSERT INTO case_search(rowid, patient_name, notes, documents_text) "
        "VALUES (:pk, :name, :notes, :docs)"
    )  # what search_index.reindex_case runs (its DELETE is a no-op for a new rowid)
    stats = FillStats()
    prev_hash = GENESIS_HASH
    next_doc_id = 1
    started = time.perf_counter()
    for first in range(0, n_cases, chunk):
        cases, docs, jobs, audits, fts = [], [], [], [], []
        for index in range(first, min(first + chunk, n_cases)):
            case_id = index + 1
            created = now - timedelta(seconds=offsets[index], microseconds=rng.randrange(10**6))
            roll = rng.random()
            if roll < 0.70:
                updated = created + timedelta(seconds=rng.uniform(5, 600))
            elif roll < 0.95:
                updated = created + timedelta(days=rng.uniform(0, 60))
            else:
                updated = created + timedelta(days=rng.uniform(0, 600))
            updated = min(updated, now)
            name, gender = _name_and_gender(rng)
            status = _status(rng)
            n_sentences = rng.choices((1, 2, 3), (45, 40, 15))[0]
            summary = " ".join(_sentence(rng) for _ in range(n_sentences))
            n_docs = rng.choices((0, 1, 2, 3), (25, 40, 25, 10))[0]
            file_names = []
            for _ in range(n_docs):
                category = "lab" if rng.random() < 0.7 else "radiology"
                file_name = _file_name(rng, category)
                file_names.append(file_name)
                docs.append({
                    "id": next_doc_id, "uid": _uid(rng), "case_id": case_id,
                    "category": category, "file_name": file_name,
                    "sha256": f"{rng.getrandbits(256):064x}",
                    "mime_type": MIME_BY_EXT[file_name.rsplit('.', 1)[1]],
                    "size_bytes": rng.randint(20_000, 4_000_000),
                    "status": {"completed": "ok", "processing": "queued",
                               "failed": "failed"}[status],
                    "error": "Could not read the file." if status == "failed" else None,
                    "pages": rng.randint(1, 6) if file_name.endswith(".pdf") else 1,
                    "text_source": "pdf" if file_name.endswith(".pdf") else "ocr",
                    "text_chars": rng.randint(300, 9000),
                    "created_at": created, "updated_at": updated, "version": 1,
                })
                next_doc_id += 1
            user = rng.choice(DOCTORS)
            uid = _uid(rng)
            deleted = updated if rng.random() < 0.005 else None  # a few in the trash
            cases.append({
                "id": case_id, "uid": uid, "user_id": user, "patient_name": name,
                "patient_age": _age(rng), "patient_gender": gender, "case_summary": summary,
                "status": status,
                "one_line_summary": summary.split(".")[0][:120] if status == "completed" else None,
                "deleted_at": deleted, "created_at": created, "updated_at": updated,
                "version": 1 if updated - created < timedelta(minutes=11) else rng.randint(2, 5),
            })
            jobs.append({
                "case_id": case_id, "kind": "analyze",
                "status": {"completed": "done", "processing": "queued",
                           "failed": "failed"}[status],
                "attempts": 0 if status == "processing" else 1,
                "progress": 0.0 if status == "processing" else 1.0,
                "error": "analysis failed" if status == "failed" else None,
                "started_at": None if status == "processing" else created,
                "finished_at": None if status == "processing" else updated,
                "created_at": created, "updated_at": updated, "version": 1,
            })
            at = created.replace(microsecond=0)
            detail = f"documents={n_docs}"
            row_hash = _row_hash(prev_hash, at, user, "create", "case", uid, detail)
            audits.append({"at": at, "user_id": user, "action": "create", "entity": "case",
                           "entity_id": uid, "detail": detail, "prev_hash": prev_hash,
                           "hash": row_hash})
            prev_hash = row_hash
            if deleted is None:  # the search index holds live cases only, as the app keeps it
                fts.append({"pk": case_id, "name": name, "notes": summary,
                            "docs": " ".join(file_names)})
        with database.session() as session:
            session.execute(insert(Case), cases)
            if docs:
                session.execute(insert(Document), docs)
            session.execute(insert(Job), jobs)
            session.execute(insert(AuditEntry), audits)
            session.execute(fts_insert, fts)
        stats.cases += len(cases)
        stats.documents += len(docs)
        stats.jobs += len(jobs)
        stats.audit_rows += len(audits)
        stats.transactions += 1
        print(f"  filled {stats.cases:>7,} / {n_cases:,} cases "
              f"({time.perf_counter() - started:5.1f} s)", flush=True)
    stats.seconds = time.perf_counter() - started
    return stats


# ---------------------------------------------------------------------------------------
# Raw sqlite3 equivalents
# ---------------------------------------------------------------------------------------


def raw_connect(path: Path) -> sqlite3.Connection:
    """What storage.database._on_connect does, in plain sqlite3."""
    conn = sqlite3.connect(path, timeout=5.0, check_same_thread=False)
    conn.isolation_level = None
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def raw_dt(value: datetime) -> str:
    """How UTCDateTime + SQLAlchemy's SQLite DateTime store a datetime."""
    return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def raw_match(user_text: str) -> str | None:
    """search_index.match_expression, restated."""
    import unicodedata

    phrases = []
    for word in unicodedata.normalize("NFC", user_text).split()[:12]:
        if not any(unicodedata.category(ch)[0] in "LNM" for ch in word):
            continue
        phrases.append('"' + word.replace('"', '""') + '"*')
    return " ".join(phrases) or None


@dataclass
class RawSQL:
    count_sql: str
    page_sql: str
    params: list
    page_params: list


def raw_sql_for(query) -> RawSQL | None:
    """The SQL case_queries.list_cases runs, written by hand (None: nothing can match)."""
    where = ["cases.deleted_at IS NOT NULL" if query.in_trash else "cases.deleted_at IS NULL"]
    params: list = []
    if query.statuses:
        where.append(f"cases.status IN ({', '.join('?' * len(query.statuses))})")
        params += [s.value for s in query.statuses]
    if query.genders:
        where.append(f"cases.patient_gender IN ({', '.join('?' * len(query.genders))})")
        params += [g.value for g in query.genders]
    for attr, column, op in (
        ("age_min", "patient_age", ">="), ("age_max", "patient_age", "<="),
        ("created_from", "created_at", ">="), ("created_to", "created_at", "<="),
        ("updated_from", "updated_at", ">="), ("updated_to", "updated_at", "<="),
        ("updated_after", "updated_at", ">"),
    ):
        value = getattr(query, attr)
        if value is not None:
            where.append(f"cases.{column} {op} ?")
            params.append(raw_dt(value) if isinstance(value, datetime) else value)
    if query.search and query.search.strip():
        match = raw_match(query.search)
        if match is None:
            return None
        where.append("cases.id IN (SELECT rowid FROM case_search WHERE case_search MATCH ?)")
        params.append(match)
    where_sql = " AND ".join(where)
    direction = "DESC" if query.descending else "ASC"
    count_sql = f"SELECT count(*) AS count_1 FROM cases WHERE {where_sql}"
    page_sql = (
        "SELECT cases.uid, cases.patient_name, cases.patient_age, cases.patient_gender, "
        "cases.status, cases.created_at, cases.updated_at, cases.one_line_summary, "
        "(SELECT count(documents.id) AS count_2 FROM documents "
        "WHERE documents.case_id = cases.id) AS anon_1 "
        f"FROM cases WHERE {where_sql} "
        f"ORDER BY cases.{query.sort} {direction}, cases.id {direction} LIMIT ? OFFSET ?"
    )
    return RawSQL(count_sql, page_sql, params, [*params, query.size, query.start - 1])


@dataclass
class RawResult:
    total: int
    uids: list[str]
    count_s: float
    page_s: float


def raw_list(conn: sqlite3.Connection, query) -> RawResult:
    sql = raw_sql_for(query)
    if sql is None:
        return RawResult(0, [], 0.0, 0.0)
    conn.execute("BEGIN")
    try:
        t0 = time.perf_counter()
        total = conn.execute(sql.count_sql, sql.params).fetchone()[0]
        t1 = time.perf_counter()
        rows = [] if query.start > total else conn.execute(sql.page_sql, sql.page_params).fetchall()
        t2 = time.perf_counter()
    finally:
        conn.execute("COMMIT")
    return RawResult(total, [row[0] for row in rows], t1 - t0, t2 - t1)


# ---------------------------------------------------------------------------------------
# Measurement helpers
# ---------------------------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f}"


@dataclass
class Row:
    section: str
    name: str
    ours: list[float]
    raw: list[float]
    total: int | None = None
    raw_count: list[float] = field(default_factory=list)
    raw_page: list[float] = field(default_factory=list)
    target_ms: float | None = TARGET_MS
    note: str = ""

    @property
    def ratio(self) -> float:
        raw = pct(self.raw, 0.5)
        return pct(self.ours, 0.5) / raw if raw > 0 else float("nan")

    def verdict(self) -> str:
        problems = []
        if self.target_ms is not None and pct(self.ours, 0.95) * 1000 > self.target_ms:
            problems.append(f">{self.target_ms:.0f}ms")
        if self.raw and self.ratio > TARGET_RATIO:
            problems.append(f">{TARGET_RATIO:.0f}x")
        return "MISS " + ",".join(problems) if problems else "ok"


HEADER = (f"{'query':<44} {'ours p50':>8} {'ours p95':>8} {'raw p50':>8} {'raw p95':>8} "
          f"{'ratio':>6} {'rawCNT':>7} {'rawPAGE':>7} {'total':>7}  verdict")


def format_row(row: Row) -> str:
    raw50 = ms(pct(row.raw, 0.5)) if row.raw else "       -"
    raw95 = ms(pct(row.raw, 0.95)) if row.raw else "       -"
    ratio = f"{row.ratio:6.2f}" if row.raw else "     -"
    cnt = f"{pct(row.raw_count, 0.5) * 1000:7.2f}" if row.raw_count else "      -"
    page = f"{pct(row.raw_page, 0.5) * 1000:7.2f}" if row.raw_page else "      -"
    total = f"{row.total:7d}" if row.total is not None else "      -"
    name = row.name if len(row.name) <= 44 else row.name[:41] + "..."
    line = (f"{name:<44} {ms(pct(row.ours, 0.5))} {ms(pct(row.ours, 0.95))} {raw50} {raw95} "
            f"{ratio} {cnt} {page} {total}  {row.verdict()}")
    return line + (f"  ({row.note})" if row.note else "")


def measure_list(service, conn: sqlite3.Connection, query, repeats: int,
                 section: str, name: str, warmup: bool = True) -> tuple[Row, list[str]]:
    """Ours vs raw for one CaseQuery, alternating so noise hits both alike."""
    warnings: list[str] = []
    if warmup:
        service.list_cases(query)
        raw_list(conn, query)
    ours_t, raw_t, raw_c, raw_p = [], [], [], []
    page = None
    result = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        page = service.list_cases(query)
        ours_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        result = raw_list(conn, query)
        raw_t.append(time.perf_counter() - t0)
        raw_c.append(result.count_s)
        raw_p.append(result.page_s)
    assert page is not None and result is not None
    ours_uids = [item.case_id for item in page.items]
    if page.total != result.total or ours_uids != result.uids:
        warnings.append(f"MISMATCH {name!r}: ours total={page.total} raw total={result.total}, "
                        f"page equal={ours_uids == result.uids}")
    return Row(section, name, ours_t, raw_t, page.total, raw_c, raw_p), warnings


def explain(conn: sqlite3.Connection, query) -> list[str]:
    sql = raw_sql_for(query)
    if sql is None:
        return []
    lines = []
    for label, text_, params in (("COUNT", sql.count_sql, sql.params),
                                 ("PAGE", sql.page_sql, sql.page_params)):
        lines.append(f"    {label}:")
        for row in conn.execute("EXPLAIN QUERY PLAN " + text_, params):
            lines.append(f"      {row[3]}")
    return lines


def peak_rss_mb() -> float:
    """Peak resident set of this process. VmHWM, because ru_maxrss survives fork+exec
    on Linux and would report the parent's peak in a child."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 / 1024 if sys.platform == "darwin" else rss / 1024


def checkpoint(db_path: Path) -> None:
    """Fold the WAL into the database file, as a clean shutdown leaves it."""
    conn = sqlite3.connect(db_path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        conn.close()


def evict_from_page_cache(db_path: Path) -> bool:
    """Drop the database's clean pages from the OS cache (no root needed)."""
    if not hasattr(os, "posix_fadvise"):
        return False
    for suffix in ("", "-wal"):
        path = Path(str(db_path) + suffix)
        if not path.exists():
            continue
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd) if suffix else None
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return True


# ---------------------------------------------------------------------------------------
# Child process: start-up
# ---------------------------------------------------------------------------------------


def child_startup(mode: str, data_dir: Path) -> None:
    """Run in a fresh interpreter: time start-up and the first page, print JSON."""
    t_start = time.perf_counter()
    db_path = data_dir / DB_FILE_NAME
    out: dict[str, float | int | str] = {"mode": mode}
    if mode == "ours":
        from medmitra_desktop.config import AppPaths
        from medmitra_desktop.domain.records import CaseQuery
        from medmitra_desktop.services.cases import CaseService
        from medmitra_desktop.storage.database import open_database
        from medmitra_desktop.storage.filestore import FileStore

        t_imported = time.perf_counter()
        paths = AppPaths(data_dir)
        database = open_database(paths.database, paths.backups)
        t_open = time.perf_counter()
        service = CaseService(database, FileStore(paths.files))
        page = service.list_cases(CaseQuery(size=PAGE_SIZE))
        t_page = time.perf_counter()
        page2 = service.list_cases(CaseQuery(size=PAGE_SIZE))
        t_page2 = time.perf_counter()
        out.update(total=page.total, first_uid=page.items[0].case_id if page.items else "",
                   second_total=page2.total)
        database.close()
    elif mode == "breakdown":
        # Imports one layer at a time, open_database() step by step (the same calls
        # migrate() makes), then the first list_cases split into ORM set-up and the query.
        import importlib

        imports: list[tuple[str, float]] = []
        for module in ("sqlalchemy", "sqlalchemy.orm", "alembic.command", "alembic.script",
                       "alembic.runtime.migration", "medmitra_desktop.storage.database",
                       "medmitra_desktop.services.cases"):
            t = time.perf_counter()
            importlib.import_module(module)
            imports.append((f"import {module}", time.perf_counter() - t))
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory
        from sqlalchemy.orm import configure_mappers

        from medmitra_desktop.domain.records import CaseQuery
        from medmitra_desktop.services.cases import CaseService
        from medmitra_desktop.storage.database import alembic_config, make_engine, open_database
        from medmitra_desktop.storage.filestore import FileStore

        t_imported = time.perf_counter()
        steps: list[tuple[str, float]] = []
        t = time.perf_counter()
        engine = make_engine(db_path)
        steps.append(("make_engine", time.perf_counter() - t))
        t = time.perf_counter()
        script = ScriptDirectory.from_config(alembic_config())
        head = script.get_current_head()
        steps.append(("alembic ScriptDirectory + get_current_head (reads migration files)",
                      time.perf_counter() - t))
        t = time.perf_counter()
        with engine.connect() as connection:
            steps.append(("first connect (+ 4 PRAGMAs)", time.perf_counter() - t))
            t = time.perf_counter()
            current = MigrationContext.configure(connection).get_current_revision()
            connection.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' LIMIT 1").first()
        steps.append(("MigrationContext.get_current_revision + table check",
                      time.perf_counter() - t))
        assert current == head
        engine.dispose()
        t = time.perf_counter()
        database = open_database(db_path, data_dir / "backups")
        steps.append(("open_database again in the same process", time.perf_counter() - t))
        t = time.perf_counter()
        configure_mappers()
        steps.append(("configure_mappers (first ORM use)", time.perf_counter() - t))
        service = CaseService(database, FileStore(data_dir / "files"))
        t = time.perf_counter()
        service.list_cases(CaseQuery(size=PAGE_SIZE))
        steps.append(("first list_cases after mappers configured", time.perf_counter() - t))
        t = time.perf_counter()
        service.list_cases(CaseQuery(size=PAGE_SIZE))
        steps.append(("second list_cases (statement cache warm)", time.perf_counter() - t))
        database.close()
        out.update(steps=imports + steps, import_s=t_imported - t_start, rss_mb=peak_rss_mb())
        print(json.dumps(out))
        return
    else:
        from medmitra_desktop.domain.records import CaseQuery  # only to build the same query

        t_imported = time.perf_counter()
        conn = raw_connect(db_path)
        conn.execute("SELECT version_num FROM alembic_version").fetchall()
        t_open = time.perf_counter()
        result = raw_list(conn, CaseQuery(size=PAGE_SIZE))
        t_page = time.perf_counter()
        raw_list(conn, CaseQuery(size=PAGE_SIZE))
        t_page2 = time.perf_counter()
        out.update(total=result.total, first_uid=result.uids[0] if result.uids else "")
        conn.close()
    out.update(
        import_s=t_imported - t_start, open_s=t_open - t_imported, page_s=t_page - t_open,
        page_warm_s=t_page2 - t_page, rss_mb=peak_rss_mb(),
    )
    print(json.dumps(out))


def run_child(mode: str, data_dir: Path, evict: bool) -> dict:
    if evict:
        evict_from_page_cache(data_dir / DB_FILE_NAME)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--_child", mode,
         "--data-dir", str(data_dir)],
        capture_output=True, text=True, check=False, cwd=REPO_ROOT,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"start-up child failed:\n{proc.stderr}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_s"] = wall
    return result


# ---------------------------------------------------------------------------------------
# The queries
# ---------------------------------------------------------------------------------------

TYPED = [  # what a doctor types, one keystroke at a time
    "sharma", "chest pain", "cbc", "diabet", "priya", "jose", "müll", "محمد", "राहुल",
    "fever", "anil ku",
]


def keystrokes(words: Sequence[str]) -> list[str]:
    prefixes: list[str] = []
    for word in words:
        for end in range(1, len(word) + 1):
            prefix = word[:end]
            if prefix.endswith(" "):
                continue  # a trailing space changes nothing
            prefixes.append(prefix)
    return prefixes


def filter_queries(now: datetime):
    from medmitra_desktop.domain.enums import CaseStatus, Gender
    from medmitra_desktop.domain.records import CaseQuery

    year_ago = now - timedelta(days=365)
    return [
        ("first page (updated_at desc)", CaseQuery(size=PAGE_SIZE)),
        ("status=processing", CaseQuery(statuses=(CaseStatus.PROCESSING,))),
        ("status=failed", CaseQuery(statuses=(CaseStatus.FAILED,))),
        ("status in (processing, failed)",
         CaseQuery(statuses=(CaseStatus.PROCESSING, CaseStatus.FAILED))),
        ("status=completed", CaseQuery(statuses=(CaseStatus.COMPLETED,))),
        ("gender=female", CaseQuery(genders=(Gender.FEMALE,))),
        ("gender=other", CaseQuery(genders=(Gender.OTHER,))),
        ("age 0-12", CaseQuery(age_min=0, age_max=12)),
        ("age 60-100", CaseQuery(age_min=60, age_max=100)),
        ("age 95-100", CaseQuery(age_min=95, age_max=100)),
        ("created last 30 days", CaseQuery(created_from=now - timedelta(days=30))),
        ("created in a 1-week window 2 years ago",
         CaseQuery(created_from=now - timedelta(days=730), created_to=now - timedelta(days=723))),
        ("updated_after 1 day ago (sync)", CaseQuery(updated_after=now - timedelta(days=1))),
        ("female, 40-60, completed, last year",
         CaseQuery(genders=(Gender.FEMALE,), age_min=40, age_max=60,
                   statuses=(CaseStatus.COMPLETED,), created_from=year_ago)),
        ("male, 0-12, processing",
         CaseQuery(genders=(Gender.MALE,), age_min=0, age_max=12,
                   statuses=(CaseStatus.PROCESSING,))),
        ("search 'diab' + female + 45-60",
         CaseQuery(search="diab", genders=(Gender.FEMALE,), age_min=45, age_max=60)),
        ("sort patient_name asc", CaseQuery(sort="patient_name", descending=False)),
        ("sort patient_name desc", CaseQuery(sort="patient_name")),
        ("sort patient_age desc", CaseQuery(sort="patient_age")),
        ("sort patient_age asc", CaseQuery(sort="patient_age", descending=False)),
        ("sort created_at asc", CaseQuery(sort="created_at", descending=False)),
        ("sort created_at desc", CaseQuery(sort="created_at")),
        ("sort status asc", CaseQuery(sort="status", descending=False)),
        ("sort gender asc", CaseQuery(sort="patient_gender", descending=False)),
        ("gender=female sorted by name", CaseQuery(genders=(Gender.FEMALE,),
                                                  sort="patient_name", descending=False)),
        ("age 60-100 sorted by created_at",
         CaseQuery(age_min=60, age_max=100, sort="created_at")),
        ("page 2 (start=51)", CaseQuery(start=51)),
        ("deep page start=50,000", CaseQuery(start=50_000)),
        ("deep page start=50,000 by name",
         CaseQuery(start=50_000, sort="patient_name", descending=False)),
        ("deep page start=50,000 by age", CaseQuery(start=50_000, sort="patient_age")),
        ("last page (start=total-49)", None),  # filled in once the total is known
        ("trash", CaseQuery(in_trash=True)),
    ]


# ---------------------------------------------------------------------------------------
# Service creates
# ---------------------------------------------------------------------------------------


def measure_creates(service, db_path: Path, data_dir: Path, count: int, seed: int):
    from medmitra_desktop.domain.enums import DocumentCategory
    from medmitra_desktop.domain.records import NewAttachment

    rng = random.Random(seed + 1)
    work = Path(tempfile.mkdtemp(prefix="bench-files-", dir=data_dir))
    ours, raw = [], []
    conn = raw_connect(db_path)
    raw_store = data_dir / "raw-files"
    raw_store.mkdir(exist_ok=True)
    from medmitra_desktop.services.audit import GENESIS_HASH, _row_hash

    for i in range(count):
        name, gender = _name_and_gender(rng)
        summary = " ".join(_sentence(rng) for _ in range(rng.randint(1, 3)))
        sample = work / f"cbc_report_{i}.txt"
        sample.write_text(f"Complete blood count, sample {i}\n"
                          f"Haemoglobin {rng.randint(80, 160) / 10} g/dL\n"
                          f"WBC {rng.randint(4000, 11000)} /uL\n"
                          f"Platelets {rng.randint(150, 400)}k\n",
                          encoding="utf-8")
        t0 = time.perf_counter()
        service.create_case(
            user_id="dr.bench", patient_name=name, patient_age=_age(rng), patient_gender=gender,
            case_summary=summary,
            lab_files=[NewAttachment(sample, DocumentCategory.LAB)],
        )
        ours.append(time.perf_counter() - t0)

        # The same work by hand: hash + copy + fsync the file, then one write transaction.
        raw_sample = work / f"cbc_report_raw_{i}.txt"
        raw_sample.write_text(sample.read_text(encoding="utf-8") + "raw\n", encoding="utf-8")
        t0 = time.perf_counter()
        data = raw_sample.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        (raw_store / digest[:2]).mkdir(exist_ok=True)
        with open(raw_store / digest[:2] / digest, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        stamp = raw_dt(datetime.now(UTC))
        uid = str(uuid.uuid4())
        conn.execute("BEGIN IMMEDIATE")
        cur = conn.execute(
            "INSERT INTO cases (uid, user_id, patient_name, patient_age, patient_gender, "
            "case_summary, status, one_line_summary, deleted_at, created_at, updated_at, version)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?, 1)",
            (uid, "bench.raw", name, 40, gender, summary, "processing", stamp, stamp))
        case_pk = cur.lastrowid
        conn.execute(
            "INSERT INTO documents (uid, case_id, category, file_name, sha256, mime_type, "
            "size_bytes, status, error, pages, text_source, text_chars, created_at, updated_at,"
            " version) VALUES (?, ?, 'lab', ?, ?, 'text/plain', ?, 'queued', NULL, NULL, NULL,"
            " NULL, ?, ?, 1)",
            (str(uuid.uuid4()), case_pk, raw_sample.name, digest, len(data), stamp, stamp))
        conn.execute("SELECT id FROM jobs WHERE case_id = ? AND kind = 'analyze' AND "
                     "status = 'queued'", (case_pk,)).fetchall()
        conn.execute("INSERT INTO jobs (case_id, kind, status, attempts, progress, error, "
                     "started_at, finished_at, created_at, updated_at, version) VALUES "
                     "(?, 'analyze', 'queued', 0, 0.0, NULL, NULL, NULL, ?, ?, 1)",
                     (case_pk, stamp, stamp))
        conn.execute("DELETE FROM case_search WHERE rowid = ?", (case_pk,))
        conn.execute("INSERT INTO case_search(rowid, patient_name, notes, documents_text) "
                     "VALUES (?, ?, ?, ?)", (case_pk, name, summary, raw_sample.name))
        prev = conn.execute("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
        at = datetime.now(UTC).replace(microsecond=0)
        prev_hash = prev[0] if prev else GENESIS_HASH
        conn.execute(
            "INSERT INTO audit_log (at, user_id, action, entity, entity_id, detail, prev_hash,"
            " hash) VALUES (?, 'bench.raw', 'create', 'case', ?, 'documents=1', ?, ?)",
            (raw_dt(at), uid, prev_hash,
             _row_hash(prev_hash, at, "bench.raw", "create", "case", uid, "documents=1")))
        conn.execute("COMMIT")
        raw.append(time.perf_counter() - t0)
    conn.close()
    shutil.rmtree(work, ignore_errors=True)
    return ours, raw


# ---------------------------------------------------------------------------------------
# Variants: raw SQL strategies for search, run read-only on the benchmark database (how
# the shipped FTS-driven search plan was chosen).
# ---------------------------------------------------------------------------------------

def db_bytes(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        pages -= conn.execute("PRAGMA freelist_count").fetchone()[0]
        return pages * conn.execute("PRAGMA page_size").fetchone()[0]
    finally:
        conn.close()


def run_variants(db_path: Path, repeats: int) -> None:
    """Raw SQL strategies for the search COUNT and PAGE, side by side, plus ANALYZE."""
    from medmitra_desktop.domain.records import CaseQuery

    print("\n== Variants (--variants): search strategies in raw SQL (ms, p50 of "
          f"{repeats}) on the benchmark database ==")
    conn = raw_connect(db_path)

    def timed(sql: str, params: Sequence) -> float:
        conn.execute(sql, params).fetchall()
        samples = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            conn.execute(sql, params).fetchall()
            samples.append(time.perf_counter() - t0)
        return pct(samples, 0.5) * 1000

    cols = ("cases.uid, cases.patient_name, cases.patient_age, cases.patient_gender, "
            "cases.status, cases.created_at, cases.updated_at, cases.one_line_summary, "
            "(SELECT count(documents.id) FROM documents WHERE documents.case_id = cases.id)")
    in_list = "cases.id IN (SELECT rowid FROM case_search WHERE case_search MATCH ?)"
    order = "ORDER BY cases.updated_at DESC, cases.id DESC LIMIT 50"
    strategies = [
        ("COUNT as now (scan ix_cases_live_updated, probe IN-list)",
         f"SELECT count(*) FROM cases WHERE cases.deleted_at IS NULL AND {in_list}"),
        ("COUNT FTS-driven (JOIN, one rowid lookup per hit)",
         "SELECT count(*) FROM case_search JOIN cases ON cases.id = +case_search.rowid "
         "WHERE case_search MATCH ? AND cases.deleted_at IS NULL"),
        ("COUNT FTS only (exact if the index held live cases only)",
         "SELECT count(*) FROM case_search WHERE case_search MATCH ?"),
        ("COUNT capped at 1001 (FTS-driven)",
         "SELECT count(*) FROM (SELECT 1 FROM case_search JOIN cases ON cases.id = "
         "+case_search.rowid WHERE case_search MATCH ? AND cases.deleted_at IS NULL LIMIT 1001)"),
        ("PAGE as now (walk ix_cases_live_updated, probe IN-list)",
         f"SELECT {cols} FROM cases WHERE cases.deleted_at IS NULL AND {in_list} {order}"),
        ("PAGE FTS-driven (JOIN, sort all hits)",
         f"SELECT {cols} FROM case_search JOIN cases ON cases.id = +case_search.rowid "
         f"WHERE case_search MATCH ? AND cases.deleted_at IS NULL {order}"),
    ]
    prefixes = ["s", "c", "sh", "cbc", "sharma", "chest p", "chest pain", "priya", "anil ku",
                "محمد"]
    short = ["now", "join", "fts", "cap", "now", "join"]
    head = f"  {'search':<12} {'hits':>6} | COUNT " + " ".join(f"{n:>7}" for n in short[:4])
    head += " | PAGE " + " ".join(f"{n:>7}" for n in short[4:])
    for number, (label, _) in enumerate(strategies):
        print(f"  {'COUNT' if number < 4 else 'PAGE'} {short[number]:>5} = {label}")
    print(head)
    for prefix in prefixes:
        match = raw_match(prefix)
        hits = conn.execute("SELECT count(*) FROM case_search WHERE case_search MATCH ?",
                            (match,)).fetchone()[0]
        values = [timed(sql, (match,)) for _, sql in strategies]
        print(f"  {prefix!r:<12} {hits:>6} | COUNT "
              + " ".join(f"{v:7.2f}" for v in values[:4]) + " | PAGE     "
              + " ".join(f"{v:7.2f}" for v in values[4:]))
    conn.close()

    # ANALYZE on a throw-away copy: does better statistics alone fix the plans?
    with tempfile.TemporaryDirectory(prefix="bench-analyze-", dir=db_path.parent) as folder:
        copy = Path(folder) / DB_FILE_NAME
        source = sqlite3.connect(db_path)
        target = sqlite3.connect(copy)
        source.backup(target)
        source.close()
        target.close()
        conn = raw_connect(copy)
        now = datetime.now(UTC)
        named = {name: query for name, query in filter_queries(now) if query is not None}
        picks = ["first page (updated_at desc)", "age 60-100",
                 "female, 40-60, completed, last year",
                 "sort status asc"]
        searches = {f"search {p!r}": CaseQuery(search=p) for p in ("s", "sh", "cbc", "anil ku")}
        chosen = {**{name: named[name] for name in picks}, **searches}

        def bench(title: str) -> dict[str, float]:
            out = {}
            for name, query in chosen.items():
                raw_list(conn, query)
                samples = []
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    raw_list(conn, query)
                    samples.append(time.perf_counter() - t0)
                out[name] = pct(samples, 0.5) * 1000
            return out

        before = bench("as shipped")
        t0 = time.perf_counter()
        conn.execute("ANALYZE")
        analyze_ms = (time.perf_counter() - t0) * 1000
        after = bench("after ANALYZE")
        conn.close()
    print(f"\n  ANALYZE on a copy ({analyze_ms:.0f} ms) - raw list query (COUNT + PAGE), p50 ms:")
    for name in chosen:
        print(f"    {name:<44} before {before[name]:8.2f}   after ANALYZE {after[name]:8.2f}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000, help="cases to fill (100000)")
    parser.add_argument("--data-dir", type=Path,
                        help="data folder to fill (default: a temporary folder, removed after)")
    parser.add_argument("--reuse", action="store_true",
                        help="use an already filled --data-dir as it is (skip the fill)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    parser.add_argument("--seed", type=int, default=20241121)
    parser.add_argument("--chunk", type=int, default=25_000, help="cases per fill transaction")
    parser.add_argument("--creates", type=int, default=200,
                        help="cases created through CaseService.create_case (200)")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per query (7)")
    parser.add_argument("--search-repeats", type=int, default=5,
                        help="timed runs per search prefix (5)")
    parser.add_argument("--startup-runs", type=int, default=5,
                        help="fresh processes per start-up mode (5)")
    parser.add_argument("--explain", action="store_true",
                        help="EXPLAIN QUERY PLAN for every query, not only the misses")
    parser.add_argument("--variants", action="store_true",
                        help="also time raw SQL strategies for search, and ANALYZE on a copy")
    parser.add_argument("--_child", choices=("ours", "raw", "breakdown"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def run_benchmark(args: argparse.Namespace) -> int:
    from medmitra_desktop.config import prepare_data_dir
    from medmitra_desktop.domain.records import CaseQuery
    from medmitra_desktop.services.cases import CaseService
    from medmitra_desktop.storage import database as database_module
    from medmitra_desktop.storage.database import open_database
    from medmitra_desktop.storage.filestore import FileStore

    assert database_module.DB_FILE_NAME == DB_FILE_NAME
    command = shlex.join([os.path.relpath(sys.executable, REPO_ROOT)
                          if sys.executable.startswith(str(REPO_ROOT)) else sys.executable,
                          os.path.relpath(Path(__file__).resolve(), REPO_ROOT), *sys.argv[1:]])
    print("MedMitra case store benchmark")
    print(f"Command (from {REPO_ROOT}): {command}")
    print(f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, "
          f"{os.cpu_count()} CPUs, pid {os.getpid()}")

    temporary = args.data_dir is None
    data_dir = (Path(tempfile.mkdtemp(prefix="medmitra-bench-")) if temporary
                else args.data_dir.expanduser().resolve())
    paths = prepare_data_dir(data_dir)
    db_path = paths.database
    print(f"Data folder: {data_dir}{' (temporary)' if temporary else ''}")
    warnings: list[str] = []
    rows: list[Row] = []
    try:
        # ---- fill ----
        if args.reuse and db_path.exists():
            print("\n== Fill: skipped (--reuse) ==")
            fill = None
        else:
            if db_path.exists():
                print(f"{db_path} exists; pass --reuse to use it, or choose an empty folder")
                return 2
            print(f"\n== Fill: {args.cases:,} cases ==")
            t0 = time.perf_counter()
            database = open_database(db_path, paths.backups)
            migrate_s = time.perf_counter() - t0
            fill = fill_database(database, args.cases, args.seed, args.chunk)
            database.close()
            checkpoint(db_path)
            print(f"  fresh database + migration: {migrate_s * 1000:.0f} ms")
            print("  BULK FILL through the ORM tables (insert(Case/Document/Job/AuditEntry)) and "
                  "the FTS index (reindex_case's INSERT), NOT through CaseService.create_case:")
            print(f"  {fill.cases:,} cases, {fill.documents:,} documents, {fill.jobs:,} jobs, "
                  f"{fill.audit_rows:,} audit rows in {fill.transactions} transactions, "
                  f"{fill.seconds:.1f} s ({fill.cases / fill.seconds:,.0f} cases/s)")

        # ---- creates through the service ----
        database = open_database(db_path, paths.backups)
        service = CaseService(database, FileStore(paths.files))
        if args.creates:
            print(f"\n== {args.creates} x CaseService.create_case (one small .txt attachment) ==")
            ours_c, raw_c = measure_creates(service, db_path, data_dir, args.creates, args.seed)
            rows.append(Row("create", f"create_case + 1 file (n={args.creates})", ours_c, raw_c,
                            target_ms=None, note="raw: same rows+FTS+audit, hash+copy+fsync"))
            print(HEADER)
            print(format_row(rows[-1]))
        database.close()
        checkpoint(db_path)

        size_mb = db_path.stat().st_size / 1024 / 1024
        check = sqlite3.connect(db_path)
        n_live = check.execute("SELECT count(*) FROM cases WHERE deleted_at IS NULL").fetchone()[0]
        n_all = check.execute("SELECT count(*) FROM cases").fetchone()[0]
        check.close()
        print(f"\nDatabase: {n_all:,} cases ({n_live:,} not in the trash), {size_mb:.0f} MB")

        # ---- start-up in fresh processes ----
        print(f"\n== Start-up: open_database + first page, {args.startup_runs} fresh "
              f"processes per mode ==")
        startup: dict[tuple[str, bool], list[dict]] = {}
        for evict in (True, False):
            for _ in range(args.startup_runs):
                for mode in ("ours", "raw"):
                    startup.setdefault((mode, evict), []).append(run_child(mode, data_dir, evict))
        for evict in (True, False):
            label = "page cache evicted" if evict else "page cache warm"
            ours_r, raw_r = startup[("ours", evict)], startup[("raw", evict)]
            if ours_r[0]["first_uid"] != raw_r[0]["first_uid"]:
                warnings.append(f"MISMATCH start-up first row ({label})")
            rows.append(Row("startup", f"open_database ({label})",
                            [r["open_s"] for r in ours_r], [r["open_s"] for r in raw_r],
                            target_ms=None, note="raw: connect+pragmas+alembic_version read"))
            rows.append(Row("startup", f"first page, 1st query ({label})",
                            [r["page_s"] for r in ours_r], [r["page_s"] for r in raw_r],
                            total=ours_r[0]["total"]))
            rows.append(Row("startup", f"open + first page ({label})",
                            [r["open_s"] + r["page_s"] for r in ours_r],
                            [r["open_s"] + r["page_s"] for r in raw_r]))
            rows.append(Row("startup", f"first page, 2nd query same process ({label})",
                            [r["page_warm_s"] for r in ours_r],
                            [r["page_warm_s"] for r in raw_r], total=ours_r[0]["total"]))
            rows.append(Row("startup", f"imports before open ({label})",
                            [r["import_s"] for r in ours_r], [], target_ms=None,
                            note="medmitra_desktop + SQLAlchemy + alembic; not in the target"))
        startup_rss_ours = max(r["rss_mb"] for key in (("ours", True), ("ours", False))
                               for r in startup[key])
        startup_rss_raw = max(r["rss_mb"] for key in (("raw", True), ("raw", False))
                              for r in startup[key])
        print(HEADER)
        for row in rows:
            if row.section == "startup":
                print(format_row(row))
        breakdown = run_child("breakdown", data_dir, evict=False)
        print("  ours, step by step (one fresh process, page cache warm):")
        for step, seconds in breakdown["steps"]:
            print(f"    {step:<72} {seconds * 1000:8.2f} ms")

        # ---- queries in this process ----
        database = open_database(db_path, paths.backups)
        service = CaseService(database, FileStore(paths.files))
        conn = raw_connect(db_path)
        now = datetime.now(UTC)

        prefixes = keystrokes(TYPED)
        print(f"\n== Search-as-you-type: {len(prefixes)} keystrokes "
              f"({', '.join(repr(w) for w in TYPED)}), size={PAGE_SIZE}, "
              f"{args.search_repeats} runs each after one warm-up ==")
        print(HEADER)
        search_rows = []
        for prefix in prefixes:
            row, warn = measure_list(service, conn, CaseQuery(search=prefix, size=PAGE_SIZE),
                                     args.search_repeats, "search", f"search {prefix!r}")
            warnings += warn
            search_rows.append(row)
            print(format_row(row), flush=True)
        all_ours = [t for r in search_rows for t in r.ours]
        all_raw = [t for r in search_rows for t in r.raw]
        summary = Row("search", f"ALL {len(prefixes)} keystrokes", all_ours, all_raw)
        by_len = {}
        for r in search_rows:
            prefix = r.name[len("search "):].strip("'")
            bucket = ("1 char" if len(prefix) == 1 else "2 chars" if len(prefix) == 2
                      else "3+ chars")
            by_len.setdefault(bucket, ([], []))
            by_len[bucket][0].extend(r.ours)
            by_len[bucket][1].extend(r.raw)
        rows.extend(search_rows)
        search_summary = [summary] + [
            Row("search", f"  keystrokes with {bucket} prefix", o, rw)
            for bucket, (o, rw) in sorted(by_len.items())
        ]
        print("-" * len(HEADER))
        for row in search_summary:
            print(format_row(row))

        print(f"\n== Filters, sorts and pages: {args.repeats} runs each after one warm-up ==")
        print(HEADER)
        filter_rows = []
        for name, query in filter_queries(now):
            if query is None:
                live = service.list_cases(CaseQuery(size=1)).total
                query = CaseQuery(start=max(1, live - PAGE_SIZE + 1))
            row, warn = measure_list(service, conn, query, args.repeats, "filter", name)
            warnings += warn
            filter_rows.append(row)
            print(format_row(row), flush=True)
        rows.extend(filter_rows)

        # ---- misses: plans ----
        misses = [r for r in rows if r.verdict() != "ok" and r.section in ("search", "filter")]
        queries_by_name = {f"search {p!r}": CaseQuery(search=p, size=PAGE_SIZE) for p in prefixes}
        queries_by_name.update({n: q for n, q in filter_queries(now) if q is not None})
        to_explain = rows if args.explain else misses
        if to_explain:
            print("\n== EXPLAIN QUERY PLAN (" + ("all" if args.explain else "misses") + ") ==")
            seen = set()
            for row in to_explain:
                query = queries_by_name.get(row.name)
                if query is None or row.name in seen:
                    continue
                seen.add(row.name)
                print(f"  {row.name}  (ours p95 {pct(row.ours, .95) * 1000:.1f} ms, raw COUNT "
                      f"{pct(row.raw_count, .5) * 1000:.1f} ms + PAGE "
                      f"{pct(row.raw_page, .5) * 1000:.1f} ms)")
                print("\n".join(explain(conn, query)))
        conn.close()
        database.close()

        if args.variants:
            run_variants(db_path, args.repeats)

        # ---- summary ----
        import psutil

        rss_now = psutil.Process().memory_info().rss / 1024 / 1024
        print("\n" + "=" * len(HEADER))
        print("SUMMARY  (times in ms; ratio = ours p50 / raw p50; targets: p95 < "
              f"{TARGET_MS:.0f} ms for first page and search, ratio < {TARGET_RATIO:.0f}x)")
        print(f"Command (from {REPO_ROOT}): {command}")
        if fill is not None:
            print(f"Fill: {fill.cases:,} cases via bulk ORM-table + FTS inserts in "
                  f"{fill.transactions} transactions ({fill.seconds:.1f} s), not via "
                  f"create_case")
        print(f"Database: {n_all:,} cases, {size_mb:.0f} MB")
        print(HEADER)
        for row in [r for r in rows if r.section in ("create", "startup")]:
            print(format_row(row))
        print("  ours start-up step by step (one fresh process, page cache warm):")
        for step, seconds in breakdown["steps"]:
            print(f"    {step:<72} {seconds * 1000:8.2f} ms")
        print("-" * len(HEADER))
        for row in search_summary:
            print(format_row(row))
        worst = sorted(search_rows, key=lambda r: pct(r.ours, 0.95), reverse=True)[:8]
        print("  worst keystrokes by ours p95:")
        for row in worst:
            print(format_row(row))
        missed = [r for r in search_rows if r.verdict() != "ok"]
        print(f"  keystrokes missing a target: {len(missed)} of {len(search_rows)}")
        print("-" * len(HEADER))
        for row in filter_rows:
            print(format_row(row))
        print("-" * len(HEADER))
        print(f"Peak RSS: this process {peak_rss_mb():.0f} MB (fill + creates + queries; "
              f"current {rss_now:.0f} MB); start-up child ours {startup_rss_ours:.0f} MB, "
              f"raw {startup_rss_raw:.0f} MB")
        for warning in warnings:
            print("WARNING:", warning)
        return 0
    finally:
        if temporary and not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
        elif temporary:
            print(f"Kept {data_dir}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args._child:
        child_startup(args._child, args.data_dir)
        return 0
    return run_benchmark(args)


if __name__ == "__main__":
    sys.exit(main())
