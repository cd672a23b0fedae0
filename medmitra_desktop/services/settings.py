"""Workstation settings kept in the database: who the doctor is, how OCR runs, which server.

The data folder itself is not here (it is where the database lives): it comes from
--data-dir, MEDMITRA_HOME or the platform default. Window layout stays in QSettings.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select

from ..config import bundled_tesseract
from ..domain.errors import FieldError, ValidationError
from ..storage.database import Database
from ..storage.orm import Setting
from .clinic_logo import valid_logo_name

THEMES = ("system", "light", "dark")
_LANGUAGES = re.compile(r"^[A-Za-z_]{3,20}(\+[A-Za-z_]{3,20})*$")
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class AppSettings:
    doctor_name: str = ""
    user_id: str = ""
    clinic_name: str = ""
    ocr_language: str = "eng"
    tesseract_path: str = ""  # empty: found on PATH or bundled
    server_url: str = ""  # empty: work offline only
    theme: str = "system"
    clinic_logo: str = ""  # the copy in the data folder's branding/ (services/clinic_logo.py)


def tesseract_location(settings: AppSettings) -> str | None:
    """The Tesseract program to use: the one set in Settings, else the one shipped inside
    an installed app, else the one on PATH."""
    bundled = bundled_tesseract()
    return settings.tesseract_path or (str(bundled) if bundled else None) or shutil.which(
        "tesseract")


def check_settings(settings: AppSettings) -> None:
    """One ValidationError naming every bad field."""
    errors: list[FieldError] = []
    for name in ("doctor_name", "user_id", "clinic_name"):
        value = getattr(settings, name)
        if len(value) > 200 or any(not ch.isprintable() for ch in value):
            errors.append(FieldError(name, "must be one line of at most 200 characters"))
    if not _LANGUAGES.match(settings.ocr_language):
        errors.append(FieldError("ocr_language", "must be Tesseract language codes such as "
                                                 "eng or eng+hin"))
    if settings.tesseract_path and not Path(settings.tesseract_path).is_file():
        errors.append(FieldError("tesseract_path", f"no program at {settings.tesseract_path}; "
                                                   f"leave it empty to use the one installed"))
    if settings.server_url:
        parts = urlsplit(settings.server_url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            errors.append(FieldError("server_url", "must be a web address such as "
                                                   "https://api.medmitra.example"))
        elif parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
            # Patient data never crosses a network unencrypted.
            errors.append(FieldError("server_url", "must use https:// (plain http:// is "
                                                   "allowed only for this computer)"))
    if not valid_logo_name(settings.clinic_logo):
        errors.append(FieldError("clinic_logo", "must be a logo chosen in Settings"))
    if settings.theme not in THEMES:
        errors.append(FieldError("theme", f"must be one of {', '.join(THEMES)}"))
    if errors:
        raise ValidationError(errors)


class SettingsService:
    def __init__(self, database: Database) -> None:
        self._db = database

    def load(self) -> AppSettings:
        names = {field.name for field in fields(AppSettings)}
        with self._db.read_session() as session:
            stored = {row.key: row.value for row in session.execute(select(Setting)).scalars()
                      if row.key in names}
        return AppSettings(**stored)

    def save(self, settings: AppSettings) -> AppSettings:
        cleaned = AppSettings(**{key: value.strip() for key, value in asdict(settings).items()})
        check_settings(cleaned)
        with self._db.session() as session:
            for key, value in asdict(cleaned).items():
                row = session.get(Setting, key)
                if row is None:
                    session.add(Setting(key=key, value=value))
                else:
                    row.value = value
        return cleaned
