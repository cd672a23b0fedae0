"""The clinic logo: accepted by content (PNG or JPEG that decodes, limited in size), kept as
a copy in the data folder, named in Settings, and put on the report's letterhead."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from medmitra_desktop.app import AppContext
from medmitra_desktop.domain.errors import ValidationError
from medmitra_desktop.services.clinic_logo import LOGO_MAX_BYTES, ClinicLogoStore
from tests.factories import make_case


def image_file(path: Path, size: tuple[int, int] = (120, 40), kind: str = "PNG") -> Path:
    Image.new("RGB", size, (20, 80, 150)).save(path, format=kind)
    return path


def test_a_logo_is_copied_by_content_and_named_in_settings(context: AppContext,
                                                           tmp_path: Path) -> None:
    store = ClinicLogoStore(context.paths.branding)
    source = image_file(tmp_path / "logo.jpeg.png", kind="JPEG")  # the name lies
    name = store.store(source)
    assert name.startswith("clinic-logo-") and name.endswith(".jpg")
    assert (context.paths.branding / name).read_bytes() == source.read_bytes()
    assert store.store(source) == name  # the same image is kept once
    source.unlink()  # the report no longer needs the original

    context.settings.save(replace(context.settings.load(), clinic_name="Shanti Clinic",
                                  clinic_logo=name))
    case = make_case(context.cases)
    report = context.documents.report(case.case_id)
    assert "data:image/jpeg;base64," in report.html
    assert 'width="144" height="48"' in report.html  # 120 x 40, shown 48 high
    assert report.clinic == "Shanti Clinic"

    other = store.store(image_file(tmp_path / "new.png"))
    store.prune(keep=other)
    assert [p.name for p in context.paths.branding.iterdir()] == [other]
    # The setting still names the removed copy: the letterhead goes on without a logo.
    assert "data:image" not in context.documents.report(case.case_id).html


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: p.write_text("not an image"), "must be a PNG or JPEG image (this file is a "
                                             "text file)"),
    (lambda p: Image.new("RGB", (8, 8)).save(p, format="GIF"),
     "must be a PNG or JPEG image (this file is a GIF image)"),
    (lambda p: p.write_bytes(_png(8, 8)[:40]), "is a damaged image that cannot be read"),
    (lambda p: p.write_bytes(_png(4100, 10)), "must be at most 4000 pixels wide and high"),
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * LOGO_MAX_BYTES),
     "must be at most 2 MB"),
])
def test_what_is_not_a_logo_is_refused(tmp_path: Path, make, message: str) -> None:
    source = tmp_path / "logo.png"
    make(source)
    store = ClinicLogoStore(tmp_path / "branding")
    with pytest.raises(ValidationError) as caught:
        store.store(source)
    assert message in caught.value.by_field()["clinic_logo"]
    assert not (tmp_path / "branding").exists()


def test_settings_refuse_a_logo_path_from_elsewhere(context: AppContext) -> None:
    with pytest.raises(ValidationError, match="clinic_logo"):
        context.settings.save(replace(context.settings.load(),
                                      clinic_logo="../../etc/passwd"))


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height), 255).save(buffer, format="PNG")
    return buffer.getvalue()
