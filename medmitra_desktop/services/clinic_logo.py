"""The clinic's logo for the letterhead of printed and saved case reports.

The doctor picks an image in Settings; a copy is kept in the data folder (`branding/`), so
the report never depends on a file elsewhere that may move, and the setting holds only the
copy's name. An image is accepted by its content, not its name: a PNG or JPEG that decodes,
at most LOGO_MAX_BYTES and LOGO_MAX_SIDE pixels on a side (a letterhead logo is small; a
photo of the clinic is not a logo, and a huge file would be embedded in every report).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..domain.errors import FieldError, ValidationError
from ..domain.filetypes import FileKind, sniff_bytes

LOGO_MAX_BYTES = 2 * 1024 * 1024
LOGO_MAX_SIDE = 4000
LOGO_FIELD = "clinic_logo"
_NAME = re.compile(r"^clinic-logo-[0-9a-f]{16}\.(png|jpg)$")
_SUFFIX = {FileKind.PNG: "png", FileKind.JPEG: "jpg"}
_MIME = {"png": "image/png", "jpg": "image/jpeg"}


def valid_logo_name(name: str) -> bool:
    """The setting names a copy this module made (never a path elsewhere)."""
    return not name or bool(_NAME.match(name))


@dataclass(frozen=True)
class Logo:
    data: bytes
    mime_type: str
    width: int
    height: int

    def data_uri(self) -> str:
        return f"data:{self.mime_type};base64,{base64.b64encode(self.data).decode('ascii')}"


def check_logo(data: bytes) -> tuple[FileKind, int, int]:
    """(kind, width, height) of an acceptable logo; ValidationError saying what is wrong."""
    def refuse(message: str) -> ValidationError:
        return ValidationError([FieldError(LOGO_FIELD, message)])

    if len(data) > LOGO_MAX_BYTES:
        raise refuse(f"must be at most {LOGO_MAX_BYTES // (1024 * 1024)} MB "
                     f"(this image is {len(data) / (1024 * 1024):.1f} MB)")
    from PIL import Image, UnidentifiedImageError  # only when a logo is checked

    sniffed = sniff_bytes(data[:8192])
    if sniffed.kind not in _SUFFIX:
        raise refuse(f"must be a PNG or JPEG image (this file is {sniffed.description})")
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if max(width, height) > LOGO_MAX_SIDE:
                raise refuse(f"must be at most {LOGO_MAX_SIDE} pixels wide and high (this "
                             f"image is {width} × {height})")
            image.load()  # decodes every byte: a damaged file fails here, not in a report
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise refuse("is a damaged image that cannot be read") from error
    except Image.DecompressionBombError as error:
        raise refuse("is too large an image") from error
    assert sniffed.kind is not None
    return sniffed.kind, width, height


class ClinicLogoStore:
    """Copies of logos in one folder of the data folder, named by their content."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def store(self, source: Path) -> str:
        """Check `source` and keep a copy; the name to save in the clinic_logo setting."""
        try:
            with source.open("rb") as handle:
                data = handle.read(LOGO_MAX_BYTES + 1)
        except OSError as error:
            raise ValidationError([FieldError(
                LOGO_FIELD, f"{source.name} cannot be read ({error.strerror or error})")]
            ) from error
        kind, _width, _height = check_logo(data)
        name = f"clinic-logo-{hashlib.sha256(data).hexdigest()[:16]}.{_SUFFIX[kind]}"
        target = self._folder / name
        if not target.exists():
            self._folder.mkdir(parents=True, exist_ok=True)
            handle_fd, temporary = tempfile.mkstemp(prefix=".logo-", dir=self._folder)
            try:
                with os.fdopen(handle_fd, "wb") as out:
                    out.write(data)
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        return name

    def load(self, name: str) -> Logo | None:
        """The logo the setting names; None when none is set or the copy is gone or
        damaged (a report then has a letterhead without a logo, rather than failing)."""
        if not name or not valid_logo_name(name):
            return None
        try:
            data = (self._folder / name).read_bytes()
            kind, width, height = check_logo(data)
        except (OSError, ValidationError):
            return None
        return Logo(data, _MIME[_SUFFIX[kind]], width, height)

    def prune(self, keep: str) -> None:
        """Remove copies other than `keep` (after Settings were saved)."""
        if not self._folder.is_dir():
            return
        for path in self._folder.iterdir():
            if valid_logo_name(path.name) and path.name != keep:
                path.unlink(missing_ok=True)
