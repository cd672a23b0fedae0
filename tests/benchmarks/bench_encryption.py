"""Encryption at rest benchmark: what sealing costs, as ratios to the physical limit.

A script, not a pytest test (pytest never collects it: the file name does not start with
``test_`` and nothing runs on import). Run from the repository root:

    .venv/bin/python tests/benchmarks/bench_encryption.py
    .venv/bin/python tests/benchmarks/bench_encryption.py --files 50 --seal-cases 50 \\
        --db-cases 5000 --repeat 3            # quicker
    .venv/bin/python tests/benchmarks/bench_encryption.py --keep   # keep the data folders

What it measures (sizes in MB = 10^6 bytes):

1. Storing files: FileStore.put of --files files (random bytes, sizes mixed from 0.25x to
   1.75x --file-mb, so some fit in one 1 MiB cipher chunk and some take two) into a fresh
   encrypted store and into a fresh plain store. Raw = the physical limit of a plain
   put: shutil.copyfile of the same file, hashlib SHA-256 of it and an fsync of the copy
   (put fsyncs every file, so a raw side without it would compare a durable write with a
   page-cache write; the same without fsync is printed too, for information only).
2. Reading files back: a full read of every stored file through FileStore.reading(sha)
   (which verifies the hash; an encrypted store decrypts into an anonymous temporary
   file first) on the encrypted and on the plain store. Raw = read the plain store's file
   once and hash it. Warm: every file was just written, and the machine has the memory
   to keep them all in the page cache.
3. Sealing an existing data folder (the one-time migration): a plain data folder made
   with open_app and --seal-cases cases, each with a --seal-mb text attachment (made
   through CaseService.create_case), is copied (shutil.copytree, not timed) before each
   run; the run times encryption.begin + open_app, which seals the database and every
   stored file. Raw = the physical limit: read, write and fsync a copy of every file in
   the same folder.
4. The case list: --db-cases cases (made with CaseService.create_from_server in one
   transaction, no files) in a plain data folder, and a copy of it sealed with
   encryption.begin + open_app. Both are open at once; after a warm-up, CaseService.
   list_cases(CaseQuery(search="ash", size=50)) and list_cases(CaseQuery()) (the first
   page) run --queries times on each, alternating which goes first. Median and p95 of
   each; the figure is encrypted ÷ plain (no raw SQLite side here).

Ratios are time ratios: "enc÷raw" = the encrypted side's time ÷ the raw side's time on the
same input (1.00 = at the physical limit, 1.50 = takes half as long again), likewise
"plain÷raw" and "enc÷plain". MB/s = input MB ÷ best time.

The machine is shared (2 cores), so the file sections run --repeat times, interleaved
(encrypted, plain, raw, encrypted, ...), and the best run of each is reported, as
timeit does; every run is printed too. Before each timed run the page cache's dirty
pages are written out (os.sync, not timed), so one side's writeback does not land on
the next. Each run writes into a fresh folder.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

USER = "dr-bench"
MB = 1_000_000
READ_CHUNK = 1024 * 1024

FIRST_NAMES = ["Asha", "Ashok", "Ashwin", "Akash", "Priya", "Rahul", "Sunita", "Anil",
               "Kavya", "Arjun", "Lakshmi", "Vikram", "Meena", "Imran", "Fatima", "Deepak",
               "Neha", "Sanjay", "Geeta", "Joseph", "Harpreet", "Pooja", "Karthik", "Divya"]
LAST_NAMES = ["Sharma", "Verma", "Gupta", "Singh", "Kumar", "Patel", "Reddy", "Iyer",
              "Nair", "Das", "Khan", "Joshi", "Mehta", "Fernandes", "Rao", "Yadav"]
SUMMARIES = ["Fever with chills for three days; dengue NS1 awaited.",
             "Diabetes follow-up; HbA1c 7.8%, metformin continued.",
             "Hypertension review, BP 150/95 on amlodipine.",
             "Cough with sputum for three weeks, sputum AFB sent.",
             "Chest pain on exertion, ECG advised.",
             "Routine health check-up; lipid profile borderline high."]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=200, help="files stored and read")
    parser.add_argument("--file-mb", type=float, default=1.0, help="mean file size (MB)")
    parser.add_argument("--seal-cases", type=int, default=200,
                        help="cases in the folder that is sealed")
    parser.add_argument("--seal-mb", type=float, default=1.0,
                        help="size of each case's text attachment (MB)")
    parser.add_argument("--db-cases", type=int, default=20000, help="cases in the database")
    parser.add_argument("--queries", type=int, default=200,
                        help="timed repetitions of each case list query on each side")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each file section")
    parser.add_argument("--keep", action="store_true", help="keep the data folders")
    args = parser.parse_args()

    import keyring

    from medmitra_desktop.logging_setup import configure_logging
    from tests.memory_keyring import MemoryKeyring

    keyring.set_keyring(MemoryKeyring())
    configure_logging(None)
    work = Path(tempfile.mkdtemp(prefix="bench-encryption-"))
    started = time.perf_counter()
    rows: list[Row] = []
    try:
        rows += _bench_files(work, args)
        rows.append(_bench_sealing(work, args))
        rows += _bench_case_list(work, args)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    _print_table(rows)
    print(f"(file sections: best of {args.repeat} runs each; case list: median of "
          f"{args.queries} queries each after a warm-up; ratios are time ratios, "
          f"1.00 = as fast as the reference; total {time.perf_counter() - started:.0f} s"
          f"{'; data in ' + str(work) if args.keep else ''})")
    return 0


class Row:
    """One line of the final table. Times in seconds; None where a side does not apply."""

    def __init__(self, name: str, unit: str, encrypted: float | None, plain: float | None,
                 raw: float | None, megabytes: float | None = None) -> None:
        self.name, self.unit, self.megabytes = name, unit, megabytes
        self.encrypted, self.plain, self.raw = encrypted, plain, raw


# ---------------------------------------------------------------------------------------
# 1 and 2: storing and reading files
# ---------------------------------------------------------------------------------------

def _bench_files(work: Path, args: argparse.Namespace) -> list[Row]:
    from medmitra_desktop.storage.data_key import DataKey
    from medmitra_desktop.storage.filestore import FileStore

    rng = random.Random(1)
    sources = work / "sources"
    sources.mkdir()
    paths = []
    for index in range(args.files):
        path = sources / f"file-{index:04d}.bin"
        path.write_bytes(os.urandom(int(args.file_mb * MB * rng.uniform(0.25, 1.75))))
        paths.append(path)
    total_mb = sum(path.stat().st_size for path in paths) / MB
    key = DataKey.generate()
    print(f"Storing files: {len(paths)} files, {total_mb:.1f} MB "
          f"({min(p.stat().st_size for p in paths) / MB:.2f}-"
          f"{max(p.stat().st_size for p in paths) / MB:.2f} MB each)")

    stores: dict[str, FileStore] = {}
    hashes: list[str] = []

    def put_into(name: str, store_key: DataKey | None) -> Callable[[int], float]:
        def run(number: int) -> float:
            old = stores.pop(name, None)
            if old is not None:
                shutil.rmtree(old.root)
            store = FileStore(work / f"{name}-{number}", store_key)
            os.sync()
            began = time.perf_counter()
            stored = [store.put(path).sha256 for path in paths]
            seconds = time.perf_counter() - began
            stores[name] = store
            if not hashes:
                hashes.extend(stored)
            assert stored == hashes
            return seconds
        return run

    def raw_copy(fsync: bool) -> Callable[[int], float]:
        def run(number: int) -> float:
            target = work / f"raw-{'fsync' if fsync else 'nofsync'}-{number}"
            shutil.rmtree(work / f"raw-{'fsync' if fsync else 'nofsync'}-{number - 1}",
                          ignore_errors=True)
            target.mkdir()
            os.sync()
            began = time.perf_counter()
            for path in paths:
                copy = target / path.name
                shutil.copyfile(path, copy)
                with path.open("rb") as source:
                    hashlib.file_digest(source, "sha256").hexdigest()
                if fsync:
                    with copy.open("rb+") as handle:
                        os.fsync(handle.fileno())
            return time.perf_counter() - began
        return run

    put_runs = _interleaved({"encrypted": put_into("enc", key), "plain": put_into("plain", None),
                             "raw": raw_copy(True), "raw, no fsync": raw_copy(False)},
                            args.repeat)
    _print_runs("put", put_runs)
    encrypted_store, plain_store = stores["enc"], stores["plain"]
    assert encrypted_store.encrypted and not plain_store.encrypted
    sizes = [path.stat().st_size for path in paths]

    def read_from(store: FileStore) -> Callable[[int], float]:
        def run(_number: int) -> float:
            began = time.perf_counter()
            for sha, size in zip(hashes, sizes, strict=True):
                read = 0
                with store.reading(sha) as stream:
                    while chunk := stream.read(READ_CHUNK):
                        read += len(chunk)
                assert read == size
            return time.perf_counter() - began
        return run

    def raw_read(_number: int) -> float:
        began = time.perf_counter()
        for sha in hashes:
            with plain_store.path_for(sha).open("rb") as source:
                found = hashlib.file_digest(source, "sha256").hexdigest()
            assert found == sha
        return time.perf_counter() - began

    print(f"Reading files back: the same {len(paths)} files, {total_mb:.1f} MB, warm")
    read_runs = _interleaved({"encrypted": read_from(encrypted_store),
                              "plain": read_from(plain_store), "raw": raw_read}, args.repeat)
    _print_runs("read", read_runs)
    shutil.rmtree(sources)
    return [
        Row("store files: FileStore.put", "MB/s", min(put_runs["encrypted"]),
            min(put_runs["plain"]), min(put_runs["raw"]), total_mb),
        Row("  (raw without fsync, for information)", "MB/s", None, None,
            min(put_runs["raw, no fsync"]), total_mb),
        Row("read files back: reading(sha)", "MB/s", min(read_runs["encrypted"]),
            min(read_runs["plain"]), min(read_runs["raw"]), total_mb),
    ]


# ---------------------------------------------------------------------------------------
# 3: sealing an existing data folder
# ---------------------------------------------------------------------------------------

def _bench_sealing(work: Path, args: argparse.Namespace) -> Row:
    from medmitra_desktop.app import open_app
    from medmitra_desktop.storage import encryption
    from medmitra_desktop.storage.blob_cipher import is_encrypted
    from medmitra_desktop.storage.data_key import DataKeyStore
    from tests.factories import make_case

    rng = random.Random(3)
    template = work / "seal-template"
    attachments = work / "seal-attachments"
    attachments.mkdir()
    context = open_app(str(template))
    try:
        for index in range(args.seal_cases):
            attachment = attachments / f"report-{index:04d}.txt"
            attachment.write_text(os.urandom(int(args.seal_mb * MB) // 2).hex(),
                                  encoding="ascii")
            make_case(context.cases, name=f"{rng.choice(FIRST_NAMES)} "
                      f"{rng.choice(LAST_NAMES)}", age=rng.randint(1, 95),
                      notes=rng.choice(SUMMARIES), lab=[attachment], user_id=USER)
            attachment.unlink()
    finally:
        context.close()
    files = sorted(path for path in template.rglob("*") if path.is_file())
    folder_mb = sum(path.stat().st_size for path in files) / MB
    print(f"Sealing a data folder: {args.seal_cases} cases, {len(files)} files, "
          f"{folder_mb:.1f} MB")

    def app_seal(number: int) -> float:
        folder = work / f"seal-{number}"
        shutil.rmtree(work / f"seal-{number - 1}", ignore_errors=True)
        shutil.copytree(template, folder)
        os.sync()
        began = time.perf_counter()
        encryption.begin(folder, DataKeyStore())
        sealed = open_app(str(folder))
        seconds = time.perf_counter() - began
        try:
            state = encryption.read_state(folder)
            assert sealed.files.encrypted and state is not None and state.finished
            assert all(is_encrypted(path) for path in (folder / "files").glob("??/*"))
        finally:
            sealed.close()
        return seconds

    def raw_seal(number: int) -> float:
        target = work / f"seal-raw-{number}"
        shutil.rmtree(work / f"seal-raw-{number - 1}", ignore_errors=True)
        target.mkdir()
        os.sync()
        began = time.perf_counter()
        for path in files:
            copy = target / path.relative_to(template)
            copy.parent.mkdir(parents=True, exist_ok=True)
            with path.open("rb") as source, copy.open("wb") as out:
                while chunk := source.read(READ_CHUNK):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        return time.perf_counter() - began

    runs = _interleaved({"encrypted": app_seal, "raw": raw_seal}, args.repeat)
    _print_runs("seal", runs)
    for leftover in work.glob("seal*"):
        shutil.rmtree(leftover, ignore_errors=True)
    return Row("seal folder: begin + open_app", "MB/s", min(runs["encrypted"]), None,
               min(runs["raw"]), folder_mb)


# ---------------------------------------------------------------------------------------
# 4: the case list on an encrypted database
# ---------------------------------------------------------------------------------------

def _bench_case_list(work: Path, args: argparse.Namespace) -> list[Row]:
    from medmitra_desktop.app import open_app
    from medmitra_desktop.domain.records import CaseQuery
    from medmitra_desktop.services.cases import PulledCase
    from medmitra_desktop.storage import encryption
    from medmitra_desktop.storage.data_key import DataKeyStore

    rng = random.Random(4)
    plain_dir, encrypted_dir = work / "db-plain", work / "db-encrypted"
    context = open_app(str(plain_dir))
    try:
        pulled = [PulledCase(
            remote_case_id=f"bench-{index}",
            fields={"patient_name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                    "patient_age": rng.randint(0, 99),
                    "patient_gender": rng.choice(["male", "female"]),
                    "case_summary": rng.choice(SUMMARIES)},
            attachments=[], status=None, insights=None) for index in range(args.db_cases)]
        made = context.cases.create_from_server(user_id=USER, pulled=pulled)
        assert len(made) == args.db_cases, made[:3]
    finally:
        context.close()
    shutil.copytree(plain_dir, encrypted_dir)
    encryption.begin(encrypted_dir, DataKeyStore())
    contexts = {"plain": open_app(str(plain_dir)), "encrypted": open_app(str(encrypted_dir))}
    try:
        assert contexts["encrypted"].database.key is not None
        assert contexts["plain"].database.key is None
        with (encrypted_dir / "medmitra.sqlite3").open("rb") as handle:
            assert handle.read(16) != b"SQLite format 3\x00", "the database is not sealed"
        sizes = {name: (work / f"db-{name}" / "medmitra.sqlite3").stat().st_size / MB
                 for name in contexts}
        print(f"Case list: {args.db_cases} cases; database {sizes['plain']:.1f} MB plain, "
              f"{sizes['encrypted']:.1f} MB encrypted")
        queries = {'search "ash", size 50': CaseQuery(search="ash", size=50),
                   "first page, CaseQuery()": CaseQuery()}
        rows = []
        for label, query in queries.items():
            totals = {name: ctx.cases.list_cases(query).total
                      for name, ctx in contexts.items()}
            assert totals["plain"] == totals["encrypted"], totals
            for _ in range(20):  # warm-up: connections, statement and page caches
                for ctx in contexts.values():
                    ctx.cases.list_cases(query)
            times: dict[str, list[float]] = {"plain": [], "encrypted": []}
            for repetition in range(args.queries):
                order = ["plain", "encrypted"] if repetition % 2 else ["encrypted", "plain"]
                for name in order:
                    began = time.perf_counter()
                    contexts[name].cases.list_cases(query)
                    times[name].append(time.perf_counter() - began)
            for name in ("encrypted", "plain"):
                print(f"  {label:26} {name:10} p50 {_ms(statistics.median(times[name]))} "
                      f"p95 {_ms(_p95(times[name]))} min {_ms(min(times[name]))} "
                      f"({totals[name]} matches)")
            rows.append(Row(f"case list: {label}", "ms p50",
                            statistics.median(times["encrypted"]),
                            statistics.median(times["plain"]), None))
            rows.append(Row(f"case list: {label}", "ms p95", _p95(times["encrypted"]),
                            _p95(times["plain"]), None))
        return rows
    finally:
        for ctx in contexts.values():
            ctx.close()


# ---------------------------------------------------------------------------------------
# Runs and the table
# ---------------------------------------------------------------------------------------

def _interleaved(sides: dict[str, Callable[[int], float]], repeat: int
                 ) -> dict[str, list[float]]:
    runs: dict[str, list[float]] = {name: [] for name in sides}
    for number in range(repeat):
        for name, side in sides.items():
            runs[name].append(side(number))
    return runs


def _print_runs(section: str, runs: dict[str, list[float]]) -> None:
    for name, seconds in runs.items():
        print(f"  {section:5} {name:14} runs (s): " + " ".join(f"{s:.3f}" for s in seconds))


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:6.2f} ms"


def _print_table(rows: list[Row]) -> None:
    def figure(row: Row, seconds: float | None) -> str:
        if seconds is None:
            return f"{'-':>11}"
        if row.megabytes is not None:
            return f"{row.megabytes / seconds:>11.1f}"
        return f"{seconds * 1000:>11.2f}"

    def ratio(top: float | None, bottom: float | None) -> str:
        return f"{'-':>10}" if top is None or bottom is None else f"{top / bottom:>10.2f}"

    print()
    print(f"{'':42}{'unit':>7}{'encrypted':>11}{'plain':>11}{'raw':>11}"
          f"{'enc÷raw':>10}{'plain÷raw':>10}{'enc÷plain':>10}")
    for row in rows:
        print(f"{row.name:42}{row.unit:>7}{figure(row, row.encrypted)}"
              f"{figure(row, row.plain)}{figure(row, row.raw)}"
              f"{ratio(row.encrypted, row.raw)}{ratio(row.plain, row.raw)}"
              f"{ratio(row.encrypted, row.plain)}")


if __name__ == "__main__":
    sys.exit(main())
