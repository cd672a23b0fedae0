"""A longer fuzz campaign than the suite runs: mutated files through the analysis pipeline
(what `analyze --json` does), batches of them through the real `analyze --json` process,
and OCR-damaged report text through the lab and radiology parsers. Prints the number of
runs and every crash found.

    .venv/bin/python tests/benchmarks/fuzz_campaign.py --files 2000 --texts 20000 \\
        --cli-batches 10 --seed 1

A crash is defined in tests/reliability/fuzz_inputs.py. Exit status 0 when none was found.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from medmitra_desktop.analysis.extract import ExtractOptions  # noqa: E402
from medmitra_desktop.analysis.labs import parse_lab_report  # noqa: E402
from medmitra_desktop.analysis.radiology import parse_radiology_report  # noqa: E402
from medmitra_desktop.app import build_analyzer  # noqa: E402
from tests.reliability.fuzz_inputs import (  # noqa: E402
    LAB_REPORT,
    RADIOLOGY_REPORT,
    UNEXPECTED,
    FuzzFinding,
    analyse_file,
    mutate,
    mutate_text,
    seed_files,
)


def fuzz_files(count: int, rng: random.Random, work: Path) -> tuple[int, list[FuzzFinding]]:
    analyzer = build_analyzer(ExtractOptions(ocr_workers=1, ocr_timeout_seconds=20,
                                             max_pages=20))
    seeds = seed_files()
    findings = []
    for number in range(count):
        name = rng.choice(sorted(seeds))
        data = mutate(seeds[name], rng, rounds=rng.randrange(1, 6))
        path = work / f"m{number}-{name}"
        path.write_bytes(data)
        finding = analyse_file(analyzer, path, path.name)
        if finding is not None:
            keep = work.parent / "findings"
            keep.mkdir(exist_ok=True)
            (keep / path.name).write_bytes(data)
            findings.append(finding)
        path.unlink()
    return count, findings


def fuzz_cli(batches: int, per_batch: int, rng: random.Random, work: Path
             ) -> tuple[int, list[FuzzFinding]]:
    seeds = seed_files()
    findings = []
    runs = 0
    for batch in range(batches):
        paths = []
        for number in range(per_batch):
            name = rng.choice(sorted(seeds))
            path = work / f"cli{batch}-{number}-{name}"
            path.write_bytes(mutate(seeds[name], rng, rounds=rng.randrange(1, 6)))
            paths.append(path)
        result = subprocess.run([sys.executable, "-m", "medmitra_desktop", "analyze", "--json",
                                 *map(str, paths)], capture_output=True, timeout=1800,
                                check=False, cwd=ROOT)
        runs += len(paths)
        try:
            documents = json.loads(result.stdout.decode("utf-8"))["documents"]
        except (UnicodeDecodeError, ValueError, KeyError) as error:
            findings.append(FuzzFinding(f"batch {batch}", f"bad output ({error}); exit "
                                        f"{result.returncode}: {result.stderr[-500:]!r}"))
            continue
        for path, document in zip(paths, documents, strict=True):
            if UNEXPECTED in (document.get("error") or ""):
                findings.append(FuzzFinding(path.name, document["error"]))
        for path in paths:
            path.unlink()
    return runs, findings


def fuzz_texts(count: int, rng: random.Random) -> tuple[int, list[FuzzFinding]]:
    from medmitra_desktop.analysis.pipeline import Knowledge
    from medmitra_desktop.config import resources_dir

    knowledge = Knowledge.load(resources_dir())
    findings = []
    for number in range(count):
        try:
            if number % 2:
                text = mutate_text(LAB_REPORT, rng, rounds=rng.randrange(1, 30))
                parse_lab_report(text.split("\f"), age=rng.choice([None, 0, 45, 130]),
                                 gender=rng.choice([None, "male", "female", "other"]),
                                 knowledge=knowledge.labs)
            else:
                text = mutate_text(RADIOLOGY_REPORT, rng, rounds=rng.randrange(1, 30))
                parse_radiology_report(text, knowledge.radiology)
        except Exception as error:
            findings.append(FuzzFinding(f"text {number}", f"{type(error).__name__}: {error}"))
    return count, findings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--texts", type=int, default=5000)
    parser.add_argument("--cli-batches", type=int, default=4)
    parser.add_argument("--per-batch", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    total_findings: list[FuzzFinding] = []
    with tempfile.TemporaryDirectory(prefix="medmitra-fuzz-") as folder:
        work = Path(folder) / "work"
        work.mkdir()
        for label, run in (
            ("mutated files through the pipeline", lambda: fuzz_files(args.files, rng, work)),
            ("mutated files through analyze --json",
             lambda: fuzz_cli(args.cli_batches, args.per_batch, rng, work)),
            ("OCR-damaged text through the lab and radiology parsers",
             lambda: fuzz_texts(args.texts, rng)),
        ):
            started = time.perf_counter()
            runs, findings = run()
            total_findings += findings
            kinds = Counter(f.problem.split(":")[0][:80] for f in findings)
            print(f"{label}: {runs} runs in {time.perf_counter() - started:.0f} s, "
                  f"{len(findings)} crash(es)" + (f": {dict(kinds)}" if kinds else ""),
                  flush=True)
            for finding in findings[:10]:
                print(f"  {finding.name}: {finding.problem[:300]}")
    return 0 if not total_findings else 1


if __name__ == "__main__":
    sys.exit(main())
