"""A full disk while importing: a clear error, no partial case, no blob left taking the
space, and the app works again once space is freed.

The data folder lives on a real 2 MB tmpfs when the tests run as root (CI on a fresh
Debian machine is); elsewhere, a subprocess with RLIMIT_FSIZE makes the kernel refuse
the copy with EFBIG, the closest an unprivileged process gets to a full disk.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from medmitra_desktop.app import AppContext, open_app
from medmitra_desktop.domain.enums import DocumentCategory
from medmitra_desktop.domain.errors import StorageError, StorageProblem
from medmitra_desktop.domain.records import NewAttachment
from tests.reliability.bad_inputs import integrity_check


def _can_mount() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("mount") is not None


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if not _can_mount():
        pytest.skip("mounting a tmpfs needs root; test_rlimit_fallback covers this user")
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs",
                              str(mount_point)], capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"tmpfs mount refused here ({mounted.stderr.strip()}); "
                    "test_rlimit_fallback covers this machine")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _free_bytes(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def _fill(directory: Path, leave: int) -> Path:
    """Take all the free space but `leave` bytes."""
    filler = directory / "filler.bin"
    filler.write_bytes(b"\0" * max(0, _free_bytes(directory) - leave))
    return filler


def _lab_text(path: Path, size: int) -> Path:
    line = b"Hemoglobin 9.1 g/dL 13.0 - 17.0\n"
    path.write_bytes(line * (size // len(line)))
    return path


def _create(context: AppContext, name: str, attachment: Path | None = None,
            summary: str = "") -> None:
    context.cases.create_case(
        user_id="dr-disk", patient_name=name, patient_age=50, patient_gender="female",
        case_summary=summary,
        lab_files=[NewAttachment(attachment, DocumentCategory.LAB)] if attachment else [])


def _blobs(context: AppContext) -> list[Path]:
    return list(context.paths.files.glob("??/*"))


def test_full_disk_while_importing(small_disk: Path, tmp_path: Path) -> None:
    context = open_app(str(small_disk / "data"))
    try:
        _create(context, "Before The Disk Filled", _lab_text(tmp_path / "first.txt", 20_000))
        before = _blobs(context)
        attempts = [
            # The copy into the file store does not fit.
            ("copy", _lab_text(tmp_path / "large.txt", 3_000_000), 0, ""),
            # The copy fits, the database transaction after it does not.
            ("database", _lab_text(tmp_path / "fits.txt", 12_000), 16_384, ""),
            # No attachment at all: notes alone fill the last pages.
            ("notes", None, 0, "x" * 19_000),
        ]
        for label, attachment, leave, summary in attempts:
            filler = _fill(small_disk / "data", leave)
            with pytest.raises(StorageError) as refused:
                _create(context, f"Full Disk {label}", attachment, summary)
            assert refused.value.problem is StorageProblem.DISK_FULL, label
            assert "full" in str(refused.value) and "Free some space" in str(refused.value)
            # No partial case, and the copy that was not saved gives its space back.
            assert context.cases.count_cases() == 1, label
            assert _blobs(context) == before, label
            assert not list((context.paths.files / "incoming").iterdir()), label
            filler.unlink()
        # Space again: everything works and nothing earlier was damaged.
        _create(context, "After The Disk Was Freed", _lab_text(tmp_path / "again.txt", 8_000))
        assert context.cases.count_cases() == 2
        assert integrity_check(context.paths.database) == "ok"
        for blob in _blobs(context):
            context.files.verify(blob.name)
    finally:
        context.close()


FALLBACK = textwrap.dedent("""
    import resource, signal, sys
    from pathlib import Path
    from medmitra_desktop.app import open_app
    from medmitra_desktop.domain.enums import DocumentCategory
    from medmitra_desktop.domain.errors import StorageError
    from medmitra_desktop.domain.records import NewAttachment

    context = open_app(sys.argv[1])
    # Past this size the kernel refuses a write with EFBIG (SIGXFSZ ignored so the
    # write returns the error instead of killing the process).
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))
    try:
        context.cases.create_case(
            user_id="dr-disk", patient_name="Too Big", patient_age=40, patient_gender="male",
            lab_files=[NewAttachment(Path(sys.argv[2]), DocumentCategory.LAB)])
    except StorageError as error:
        print("refused:", error.problem.value, error)
    print("cases:", context.cases.count_cases())
    print("blobs:", len(list(context.paths.files.glob("??/*"))))
    context.close()
""")


def test_rlimit_fallback(tmp_path: Path) -> None:
    """Runs everywhere (no root): a write the kernel refuses is a clear error too."""
    if not hasattr(os, "geteuid"):
        pytest.skip("RLIMIT_FSIZE is POSIX only")
    big = _lab_text(tmp_path / "big.txt", 2_000_000)
    result = subprocess.run([sys.executable, "-c", FALLBACK, str(tmp_path / "data"), str(big)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "refused: disk_full" in result.stdout
    assert "big.txt" in result.stdout
    assert "cases: 0" in result.stdout and "blobs: 0" in result.stdout
