"""Attached files, content-addressed by SHA-256 under the data dir.

The same bytes are stored once whatever they are called; the original name lives on the
document row. Writes go to a temporary file in the same folder and are renamed into
place, so a crash never leaves a half-written file under a real hash name. Reads verify
the hash, so a damaged file is reported instead of being analysed.
"""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..domain.errors import FileIntegrityError, StorageError, StorageProblem

CHUNK_BYTES = 1024 * 1024
# No space left, the user's disk quota used up, or a file-size limit reached: to the doctor
# all three mean the same thing (make room, then try again).
_NO_ROOM = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG})


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size_bytes: int
    path: Path


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(ch in "0123456789abcdef" for ch in sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def put(self, source: Path) -> StoredBlob:
        """Copy a file in; returns its hash. Storing the same bytes again is a no-op."""
        incoming = self.root / "incoming"
        incoming.mkdir(mode=0o700, exist_ok=True)  # owner-only, like the files in it
        digest = hashlib.sha256()
        size = 0
        handle, temp_name = tempfile.mkstemp(dir=incoming, prefix="put-")
        temp_path = Path(temp_name)
        try:
            with os.fdopen(handle, "wb") as out, source.open("rb") as src:
                while chunk := src.read(CHUNK_BYTES):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha256 = digest.hexdigest()
            target = self.path_for(sha256)
            if target.exists() and target.stat().st_size == size:
                temp_path.unlink()
            else:
                target.parent.mkdir(mode=0o700, exist_ok=True)
                temp_path.chmod(0o600)
                os.replace(temp_path, target)
        except OSError as error:
            temp_path.unlink(missing_ok=True)
            if error.errno in _NO_ROOM:
                raise StorageError(
                    StorageProblem.DISK_FULL,
                    f"The disk is full: {source.name} could not be copied into the data "
                    f"folder. Free some space and try again.",
                ) from error
            raise
        return StoredBlob(sha256=sha256, size_bytes=size, path=target)

    def verify(self, sha256: str) -> Path:
        """The path of a stored file whose content still matches its hash (streamed)."""
        path = self.path_for(sha256)
        digest = hashlib.sha256()
        try:
            with path.open("rb") as handle:
                while chunk := handle.read(CHUNK_BYTES):
                    digest.update(chunk)
        except FileNotFoundError as error:
            raise FileIntegrityError(
                f"A stored file is missing from the data folder ({path.name}). "
                f"Attach the original file again."
            ) from error
        if digest.hexdigest() != sha256:
            raise FileIntegrityError(
                f"A stored file was changed or damaged on disk ({path.name}). "
                f"Attach the original file again."
            )
        return path

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).exists()

    def delete_unreferenced(self, candidates: Iterable[str], referenced: set[str]) -> int:
        removed = 0
        for sha256 in set(candidates) - referenced:
            path = self.path_for(sha256)
            if path.exists():
                path.unlink()
                removed += 1
        return removed

    def clean_incoming(self) -> None:
        """Remove temporary files a crash left behind."""
        incoming = self.root / "incoming"
        if incoming.is_dir():
            for leftover in incoming.iterdir():
                leftover.unlink(missing_ok=True)
