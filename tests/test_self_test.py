"""`medmitra-desktop --self-test` from source, and how a frozen bundle finds its Tesseract.

The same self-test runs against the built bundle in CI (build/README.md); here it runs from
the source tree with the Tesseract on PATH.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from medmitra_desktop.analysis.extract import ExtractOptions
from medmitra_desktop.app import with_bundled_tesseract
from medmitra_desktop.config import bundled_tessdata, bundled_tesseract, resources_dir

REPORT_LINES = ("database", "OCR engine", "sample-lab-report.pdf",
                "sample-radiology-scan.pdf", "analysis job", "window", "keyring")


def self_test(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "medmitra_desktop", *args],
                          capture_output=True, text=True, timeout=120, env=env)


def test_self_test_passes_from_source(tmp_path: Path) -> None:
    # Not even a display variable: the self-test chooses the offscreen platform itself.
    env = {key: value for key, value in os.environ.items()
           if key not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    env["TMPDIR"] = str(tmp_path)  # its temporary data folder lands here
    result = self_test("--self-test", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""  # nothing unexpected: no warnings, no Qt messages
    lines = result.stdout.splitlines()
    assert "self-test (source checkout" in lines[0]
    for name in REPORT_LINES:
        assert any(line.strip().startswith(name) for line in lines), name
    scan = next(line for line in lines if "sample-radiology-scan.pdf" in line)
    assert "OCR" in scan and "effusion" in scan
    assert "created and migrated to schema" in result.stdout
    assert "main window shown" in result.stdout
    assert lines[-1].startswith("self-test passed")
    assert list(tmp_path.iterdir()) == []  # the temporary data folder is gone


def test_self_test_takes_no_command_or_data_dir(tmp_path: Path) -> None:
    for args in (["--self-test", "analyze", "x.pdf"], ["--data-dir", str(tmp_path),
                                                       "--self-test"]):
        result = self_test(*args)
        assert result.returncode == 2, args
        assert "--self-test takes no command" in result.stderr


def test_samples_are_shipped_resources() -> None:
    samples = resources_dir() / "samples"
    assert (samples / "sample-lab-report.pdf").read_bytes().startswith(b"%PDF")
    assert (samples / "sample-radiology-scan.pdf").read_bytes().startswith(b"%PDF")


def test_source_checkout_uses_tesseract_from_path() -> None:
    assert bundled_tesseract() is None and bundled_tessdata() is None
    assert with_bundled_tesseract(None) is None
    options = ExtractOptions(ocr_language="eng")
    assert with_bundled_tesseract(options) is options


def test_frozen_bundle_defaults_to_its_own_tesseract(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    program = tmp_path / "tesseract" / ("tesseract.exe" if os.name == "nt" else "tesseract")
    program.parent.mkdir()
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert bundled_tesseract() is None  # a bundle built without it: PATH as before

    program.write_text("")
    monkeypatch.setenv("TESSDATA_PREFIX", "elsewhere")  # restored after the test
    assert bundled_tesseract() == program
    assert bundled_tessdata() == program.parent / "tessdata"
    chosen = with_bundled_tesseract(None)
    assert chosen is not None and chosen.tesseract_cmd == str(program)
    kept = with_bundled_tesseract(ExtractOptions(ocr_language="eng", ocr_workers=1))
    assert kept is not None and (kept.tesseract_cmd, kept.ocr_workers) == (str(program), 1)
    # A program the doctor chose (Settings, --tesseract) wins over the bundled one.
    mine = ExtractOptions(tesseract_cmd="/opt/tesseract/bin/tesseract")
    assert with_bundled_tesseract(mine) is mine
