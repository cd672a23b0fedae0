from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

from medmitra_desktop.app import AppContext, open_app
from medmitra_desktop.domain.errors import ValidationError
from medmitra_desktop.services.settings import AppSettings, SettingsService


def test_defaults_then_saved_values_survive_a_restart(data_dir: Path) -> None:
    first = open_app(str(data_dir))
    try:
        service = SettingsService(first.database)
        assert service.load() == AppSettings()
        saved = service.save(AppSettings(
            doctor_name=" Dr. Meera Rao ", user_id="dr-rao", ocr_language="eng+hin",
            tesseract_path=sys.executable, server_url="https://api.example.org",
            theme="dark"))
        assert saved.doctor_name == "Dr. Meera Rao"
    finally:
        first.close()
    second = open_app(str(data_dir))
    try:
        assert SettingsService(second.database).load() == saved
    finally:
        second.close()


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"ocr_language": "english please"}, "ocr_language", "eng+hin"),
    ({"tesseract_path": "/no/such/tesseract"}, "tesseract_path", "no program"),
    ({"server_url": "ftp://x"}, "server_url", "web address"),
    ({"server_url": "http://clinic-server.lan"}, "server_url", "https://"),
    ({"theme": "purple"}, "theme", "system, light, dark"),
    ({"doctor_name": "a\nb"}, "doctor_name", "one line"),
])
def test_bad_values_are_named(context: AppContext, changes: dict[str, str], field: str,
                              words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SettingsService(context.database).save(replace(AppSettings(), **changes))
    assert words in caught.value.by_field()[field]


def test_plain_http_is_allowed_only_for_this_computer(context: AppContext) -> None:
    service = SettingsService(context.database)
    assert service.save(AppSettings(server_url="http://127.0.0.1:8000")).server_url == (
        "http://127.0.0.1:8000")
