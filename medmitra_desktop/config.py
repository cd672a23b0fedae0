"""Where the app keeps its data, and where its bundled resources are."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_data_dir

from .storage.database import DB_FILE_NAME

DATA_DIR_ENV = "MEDMITRA_HOME"


@dataclass(frozen=True)
class AppPaths:
    data_dir: Path

    @property
    def database(self) -> Path:
        return self.data_dir / DB_FILE_NAME

    @property
    def files(self) -> Path:
        return self.data_dir / "files"

    @property
    def backups(self) -> Path:
        return self.data_dir / "backups"

    @property
    def logs(self) -> Path:
        return self.data_dir / "logs"

    @property
    def branding(self) -> Path:
        """The clinic's logo for report letterheads (made when one is chosen)."""
        return self.data_dir / "branding"


def resolve_data_dir(cli_value: str | None, environ: Mapping[str, str] = os.environ) -> Path:
    """--data-dir wins, then MEDMITRA_HOME, then the platform's per-user data folder."""
    chosen = cli_value or environ.get(DATA_DIR_ENV)
    if chosen:
        return Path(chosen).expanduser().resolve()
    return Path(user_data_dir("MedMitra Desktop", "MedMitra", roaming=False))


def prepare_data_dir(data_dir: Path) -> AppPaths:
    """Create the data folder readable by this user only (patient data lives here)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":
        # Windows keeps per-user app data private through the profile's ACLs already.
        data_dir.chmod(0o700)
    paths = AppPaths(data_dir)
    for folder in (paths.files, paths.backups, paths.logs):
        folder.mkdir(exist_ok=True)
        if os.name == "posix":
            folder.chmod(0o700)
    return paths


def resources_dir() -> Path:
    """resources/ from a source checkout, or from inside a PyInstaller bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


BUNDLED_TESSERACT_DIR = "tesseract"
"""Folder inside a frozen bundle with Tesseract and its English language data."""


def bundled_tesseract() -> Path | None:
    """The Tesseract shipped inside a PyInstaller bundle; None from a source checkout.

    On Linux and macOS this is a small launcher script beside `bin/tesseract` that sets
    TESSDATA_PREFIX (and on Linux LD_LIBRARY_PATH) for the tesseract process only, so the
    app's own environment is left alone and PATH is never consulted. On Windows it is
    tesseract.exe, which loads the DLLs beside it and finds `tessdata` beside it too.
    """
    bundle = getattr(sys, "_MEIPASS", None)
    if not bundle:
        return None
    folder = Path(bundle) / BUNDLED_TESSERACT_DIR
    program = folder / ("tesseract.exe" if os.name == "nt" else "tesseract")
    return program if program.is_file() else None


def bundled_tessdata() -> Path | None:
    """The bundled Tesseract's language data folder (TESSDATA_PREFIX), when frozen."""
    program = bundled_tesseract()
    return program.parent / "tessdata" if program is not None else None
