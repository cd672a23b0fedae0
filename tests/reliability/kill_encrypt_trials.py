"""SIGKILL the app at random points while it encrypts a data folder, start it again, and
check that nothing was lost, damaged or left readable.

    .venv/bin/python tests/reliability/kill_encrypt_trials.py --trials 50 [--seed 1]

Each trial:

1. copies a prepared plain data folder (cases with report files of up to 3 MB, and a
   copy of the database made before an upgrade) and turns encryption on for it, as
   Settings or `medmitra-desktop encrypt` does;
2. starts a driver process that opens the folder (the start that seals it), and kills it
   with SIGKILL after a random delay within the time a whole sealing takes;
3. opens the folder again, uninterrupted, and checks: the sealing finished; `PRAGMA
   integrity_check` is ok; every case is there once; every stored file opens with the
   key to exactly the bytes that were attached; no file in the folder holds a patient's
   name or a report's text in the clear; no temporary file is left.

The driver gets the key through its standard input (as a recovery code): the in-memory
keychain of the tests cannot be shared between processes. The pytest version
(test_kill_encrypt_trials.py) runs a few trials.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CASES = 40
MARKER = "Qwixplaintextmarker"


def drive(data_dir: Path) -> int:
    from medmitra_desktop.app import open_app
    from medmitra_desktop.storage.data_key import DataKey

    key = DataKey.from_recovery_code(sys.stdin.readline())
    print("opening", flush=True)

    def progress(done: int, total: int) -> None:
        if done == total:
            print("sealed", flush=True)

    open_app(str(data_dir), data_key=key, progress=progress).close()
    return 0


@dataclass
class Template:
    folder: Path
    originals: dict[str, bytes]  # patient name -> the bytes of its report


def make_template(where: Path) -> Template:
    from medmitra_desktop.app import open_app
    from medmitra_desktop.storage.database import backup_database
    from tests.factories import make_case

    rng = random.Random(7)
    folder = where / "template"
    originals: dict[str, bytes] = {}
    context = open_app(str(folder))
    try:
        for number in range(CASES):
            name = f"{MARKER} {number}"
            body = (f"{MARKER} report {number}\n".encode()  # text, as a report's
                    + rng.randbytes(rng.randrange(1, 3 * 1024 * 1024) // 2).hex().encode())
            report = where / f"report-{number}.txt"
            report.write_bytes(body)
            make_case(context.cases, name=name, lab=[report])
            originals[name] = body
        backup_database(context.paths.database, context.paths.backups, "0005")
    finally:
        context.close()
    return Template(folder, originals)


def leaks(folder: Path) -> list[str]:
    return [str(path.relative_to(folder)) for path in folder.rglob("*")
            if path.is_file() and MARKER.encode() in path.read_bytes()]


def check(folder: Path, key, template: Template) -> list[str]:
    from medmitra_desktop.app import open_app
    from medmitra_desktop.domain.records import CaseQuery
    from medmitra_desktop.storage import encryption
    from medmitra_desktop.storage.database import connect

    problems: list[str] = []
    context = open_app(str(folder), data_key=key)
    try:
        if encryption.needs_finishing(folder):
            problems.append("the sealing did not finish")
        connection = connect(context.paths.database, key)
        try:
            if connection.execute("PRAGMA integrity_check").fetchall() != [("ok",)]:
                problems.append("integrity_check failed")
        finally:
            connection.close()
        items = list(context.cases.iter_all(CaseQuery()))
        names = sorted(item.patient_name for item in items)
        if names != sorted(template.originals):
            problems.append(f"cases differ: {len(names)} of {len(template.originals)}")
        for item in items:
            (document,) = context.cases.get_case(item.case_id).documents
            with context.files.reading(document.sha256) as stream:
                body = stream.read()
            expected = template.originals.get(item.patient_name)
            if expected is None or hashlib.sha256(body).digest() != \
                    hashlib.sha256(expected).digest():
                problems.append(f"{item.patient_name}: the report reads back changed")
    finally:
        context.close()
    problems += [f"readable: {path}" for path in leaks(folder)]
    leftovers = [p.name for p in (folder / "files" / "incoming").glob("*")]
    leftovers += [p.name for p in folder.glob("*.sealing")]
    if leftovers:
        problems.append(f"temporary files left: {leftovers}")
    return problems


def sealed_so_far(folder: Path) -> tuple[int, int]:
    """How far the killed start got: sealed database files and stored files."""
    from medmitra_desktop.storage.blob_cipher import is_encrypted

    databases = [folder / "medmitra.sqlite3", *(folder / "backups").glob("*.sqlite3")]
    blobs = [p for p in (folder / "files").glob("??/*") if p.is_file()]
    sealed = sum(not p.read_bytes()[:16].startswith(b"SQLite format 3") for p in databases)
    return sealed + sum(is_encrypted(p) for p in blobs), len(databases) + len(blobs)


def run_trials(trials: int, seed: int, report=print) -> tuple[int, list[str]]:
    import keyring

    from medmitra_desktop.storage import encryption
    from medmitra_desktop.storage.data_key import DataKeyStore
    from tests.memory_keyring import MemoryKeyring

    keyring.set_keyring(MemoryKeyring())
    rng = random.Random(seed)
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="medmitra-kill-encrypt-") as scratch:
        where = Path(scratch)
        template = make_template(where)
        window = None
        for trial in range(trials):
            folder = where / f"trial-{trial}"
            shutil.copytree(template.folder, folder)
            key = encryption.begin(folder, DataKeyStore())
            with subprocess.Popen(
                    [sys.executable, __file__, "--drive", str(folder)], cwd=ROOT,
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                    env={**os.environ, "PYTHONPATH": str(ROOT)}) as driver:
                assert driver.stdin is not None and driver.stdout is not None
                driver.stdin.write(key.recovery_code() + "\n")
                driver.stdin.close()
                driver.stdout.readline()  # "opening": Python and the app are loaded
                started = time.perf_counter()
                if window is None:  # the first trial measures a whole sealing
                    driver.stdout.readline()  # "sealed"
                    window = time.perf_counter() - started
                    driver.wait(timeout=120)
                    delay = None
                else:
                    delay = rng.uniform(0, 2 * window)  # later trials run slower (cold)
                    time.sleep(delay)
                    driver.send_signal(signal.SIGKILL)
                    driver.wait(timeout=60)
            sealed, total = sealed_so_far(folder)
            problems = check(folder, key, template)
            when = ("uninterrupted" if delay is None else
                    f"killed after {delay:.2f} s with {sealed} of {total} files sealed")
            report(f"trial {trial + 1}/{trials}: {when}: "
                   + ("ok" if not problems else "; ".join(problems)))
            failures += [f"trial {trial + 1}: {p}" for p in problems]
            shutil.rmtree(folder)
    return trials, failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--drive", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive is not None:
        return drive(args.drive)
    started = time.perf_counter()
    trials, failures = run_trials(args.trials, args.seed)
    print(f"{trials - len({f.split(':')[0] for f in failures})} of {trials} trials ok "
          f"in {time.perf_counter() - started:.0f} s")
    return 0 if not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
