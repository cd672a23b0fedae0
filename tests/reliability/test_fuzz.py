"""Fuzzing in the suite (hypothesis, bounded runs): mutated files of every kind through the
analysis pipeline and the real `analyze --json` process, and OCR-damaged report text
through the lab and radiology parsers. A longer campaign with counts is
tests/benchmarks/fuzz_campaign.py; what counts as a crash is in fuzz_inputs.py."""

from __future__ import annotations

import io
import json
import random
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from medmitra_desktop.analysis.extract import ExtractOptions
from medmitra_desktop.analysis.labs import parse_lab_report
from medmitra_desktop.analysis.pipeline import Analyzer, DocumentInput, Knowledge, Patient
from medmitra_desktop.analysis.radiology import parse_radiology_report
from medmitra_desktop.app import build_analyzer
from medmitra_desktop.config import resources_dir
from tests.reliability.fuzz_inputs import (
    LAB_REPORT,
    RADIOLOGY_REPORT,
    UNEXPECTED,
    analyse_file,
    mutate,
    mutate_text,
    seed_files,
)

SEEDS = seed_files()
FILES = settings(max_examples=40, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture,
                                        HealthCheck.too_slow])
TEXTS = settings(max_examples=150, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def fuzz_analyzer() -> Analyzer:
    """One OCR process and a short page limit: a mutated header can claim anything."""
    return build_analyzer(ExtractOptions(ocr_workers=1, ocr_timeout_seconds=20, max_pages=20))


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return Knowledge.load(resources_dir())


@FILES
@given(name=st.sampled_from(sorted(SEEDS)), seed=st.integers(0, 2**32 - 1),
       rounds=st.integers(1, 6))
def test_mutated_files_get_an_answer(fuzz_analyzer: Analyzer, tmp_path: Path, name: str,
                                     seed: int, rounds: int) -> None:
    path = tmp_path / f"mutated-{name}"
    path.write_bytes(mutate(SEEDS[name], random.Random(seed), rounds))
    assert analyse_file(fuzz_analyzer, path, path.name) is None


@TEXTS
@given(seed=st.integers(0, 2**32 - 1), rounds=st.integers(1, 40),
       age=st.one_of(st.none(), st.integers(0, 130)),
       gender=st.sampled_from([None, "male", "female", "other"]))
def test_damaged_lab_reports_parse(knowledge: Knowledge, seed: int, rounds: int,
                                   age: int | None, gender: str | None) -> None:
    text = mutate_text(LAB_REPORT, random.Random(seed), rounds)
    for row in parse_lab_report(text.split("\f"), age=age, gender=gender,
                                knowledge=knowledge.labs):
        assert row.flag in (None, "LL", "L", "N", "H", "HH", "A")
        assert row.value is None or row.value == row.value  # never NaN


@TEXTS
@given(seed=st.integers(0, 2**32 - 1), rounds=st.integers(1, 40))
def test_damaged_radiology_reports_parse(knowledge: Knowledge, seed: int, rounds: int) -> None:
    text = mutate_text(RADIOLOGY_REPORT, random.Random(seed), rounds)
    report = parse_radiology_report(text, knowledge.radiology)
    for observation in report.observations:
        assert not (observation.negated and observation.uncertain)


def test_analyze_json_process_on_mutated_files(tmp_path: Path) -> None:
    rng = random.Random(2026)
    paths = []
    for number in range(8):
        name = sorted(SEEDS)[number % len(SEEDS)]
        path = tmp_path / f"{number}-{name}"
        path.write_bytes(mutate(SEEDS[name], rng, rounds=rng.randrange(1, 6)))
        paths.append(path)
    result = subprocess.run([sys.executable, "-m", "medmitra_desktop", "analyze", "--json",
                             *map(str, paths)], capture_output=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")[-2000:]
    documents = json.loads(result.stdout.decode("utf-8"))["documents"]
    assert len(documents) == len(paths)
    for path, document in zip(paths, documents, strict=True):
        assert UNEXPECTED not in (document["error"] or ""), document["error"]
        assert document["status"] == "ok" or path.name in document["error"]


def _tiff_second_frame_without_width(path: Path) -> Path:
    """Two frames; the second's ImageWidth tag renamed away (what a fuzzed TIFF did)."""
    frame = Image.new("L", (60, 40), 255)
    buffer = io.BytesIO()
    frame.save(buffer, format="TIFF", save_all=True, append_images=[frame])
    data = bytearray(buffer.getvalue())
    first = struct.unpack_from("<I", data, 4)[0]
    second = struct.unpack_from("<I", data, first + 2 + 12 * struct.unpack_from(
        "<H", data, first)[0])[0]
    for index in range(struct.unpack_from("<H", data, second)[0]):
        entry = second + 2 + 12 * index
        if struct.unpack_from("<H", data, entry)[0] == 256:
            struct.pack_into("<H", data, entry, 65000)
    path.write_bytes(bytes(data))
    return path


def test_regression_tiff_frame_without_dimensions(fuzz_analyzer: Analyzer,
                                                  tmp_path: Path) -> None:
    """Found by fuzz_campaign.py: Pillow raised TypeError('Missing dimensions') while
    counting frames, which reached the catch-all ("unexpected problem")."""
    path = _tiff_second_frame_without_width(tmp_path / "two-frames.tif")
    assert analyse_file(fuzz_analyzer, path, path.name) is None


def test_regression_tiff_tag_directory_cut_short(fuzz_analyzer: Analyzer,
                                                 tmp_path: Path) -> None:
    """Found by the suite's own fuzzing: a TIFF whose tag directory claims more entries
    than the file holds made Pillow warn "Truncated File Read" and read on; the pipeline
    must call the file damaged, in words, not fail on the warning."""
    buffer = io.BytesIO()
    Image.new("L", (60, 40), 255).save(buffer, format="TIFF")
    data = bytearray(buffer.getvalue())
    directory = struct.unpack_from("<I", data, 4)[0]
    entries = struct.unpack_from("<H", data, directory)[0]
    del data[directory + 2 + 12 * (entries - 2):]  # cut inside the directory
    path = tmp_path / "cut.tif"
    path.write_bytes(bytes(data))
    assert analyse_file(fuzz_analyzer, path, path.name) is None
    analysis = fuzz_analyzer.case([DocumentInput(path=path, display_name="cut.tif",
                                                 category="auto")],
                                  Patient(age=45, gender="male", notes=""))
    (document,) = analysis.documents
    assert "cut.tif is damaged or incomplete" in (document.extracted.error or "")
