"""Logs go to stderr and to a rotating file in the data folder.

Patient data (names, notes, document text, file names) is never logged at INFO or above;
code logs case ids and counts instead.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Every log file it opens, including the new one after a rollover, is readable by
    this user only (logs hold case ids and, at DEBUG, file names)."""

    def _open(self):  # type: ignore[no-untyped-def]
        stream = super()._open()
        if os.name == "posix":
            os.chmod(self.baseFilename, 0o600)
        return stream


def configure_logging(log_dir: Path | None, *, stderr_level: int = logging.WARNING) -> None:
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if os.environ.get("MEDMITRA_DEBUG") else logging.INFO)
    # httpx logs every request line at INFO (URLs carry case ids and the doctor's id):
    # the sync engine reports what matters in its own words.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for handler in list(root.handlers):
        if getattr(handler, "_medmitra", False):
            root.removeHandler(handler)
            handler.close()
    console = logging.StreamHandler()
    console.setLevel(stderr_level)
    console.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    console._medmitra = True  # type: ignore[attr-defined]
    root.addHandler(console)
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        file_handler = _PrivateRotatingFileHandler(
            log_dir / "medmitra.log", maxBytes=2_000_000, backupCount=5, encoding="utf-8"
        )
        file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
        file_handler._medmitra = True  # type: ignore[attr-defined]
        root.addHandler(file_handler)
        if os.name == "posix":
            (log_dir / "medmitra.log").chmod(0o600)
