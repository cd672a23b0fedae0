"""Attached files, content-addressed by SHA-256 under the data dir.

The same bytes are stored once whatever they are called; the original name lives on the
document row. Writes go to a temporary file in the same folder and are renamed into
place, so a crash never leaves a half-written file under a real hash name. Reads verify
the hash, so a damaged file is reported instead of being analysed.

In an encrypted data folder every file is stored sealed (blob_cipher.py) under the hash
of its plaintext. Readers that need a path (PDF, image and OCR libraries, the document
viewer) get a decrypted copy in the owner-only `open` folder, which they hand back with
`release`; what is left there is removed when the store closes and at the next start.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..domain.errors import FileIntegrityError, StorageError, StorageProblem
from .blob_cipher import BlobCipher, BlobDamaged, sealed_size
from .data_key import DataKey

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
    def __init__(self, root: Path, key: DataKey | None = None) -> None:
        self.root = root
        self._cipher = None if key is None else BlobCipher(key)
        root.mkdir(parents=True, exist_ok=True)

    @property
    def encrypted(self) -> bool:
        return self._cipher is not None

    @property
    def _open_dir(self) -> Path:
        return self.root / "open"

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
                if self._cipher is not None:
                    sha256, size = self._cipher.encrypt(src, out)
                else:
                    while chunk := src.read(CHUNK_BYTES):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                    sha256 = digest.hexdigest()
                out.flush()
                os.fsync(out.fileno())
            target = self.path_for(sha256)
            if target.exists() and target.stat().st_size == self._stored_size(size):
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

    def _stored_size(self, plain_size: int) -> int:
        return plain_size if self._cipher is None else sealed_size(plain_size)

    def check(self, sha256: str) -> None:
        """Raise FileIntegrityError unless the stored file still matches its hash."""
        self._read(sha256, None)

    def verify(self, sha256: str) -> Path:
        """The path of a file whose content matches its hash (streamed). In an encrypted
        store it is a private decrypted copy: hand it back with release()."""
        if self._cipher is None:
            self.check(sha256)
            return self.path_for(sha256)
        self._open_dir.mkdir(mode=0o700, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=self._open_dir, prefix=f"{sha256[:12]}-")
        copy = Path(name)
        try:
            with os.fdopen(handle, "wb") as out:
                self._read(sha256, out)
        except BaseException:
            copy.unlink(missing_ok=True)
            raise
        return copy

    def release(self, path: Path) -> None:
        """Done with a path from verify(): a decrypted copy is deleted."""
        if self._cipher is not None and path.parent == self._open_dir:
            # Windows refuses while a library still has it open; close() retries.
            with suppress(OSError):
                path.unlink(missing_ok=True)

    @contextmanager
    def opened(self, sha256: str) -> Iterator[Path]:
        """verify() and release() around one use."""
        path = self.verify(sha256)
        try:
            yield path
        finally:
            self.release(path)

    @contextmanager
    def reading(self, sha256: str) -> Iterator[BinaryIO]:
        """The verified content as a stream; no named copy is left in either store."""
        if self._cipher is None:
            self.check(sha256)
            with self.path_for(sha256).open("rb") as handle:
                yield handle
            return
        # Anonymous on POSIX; on Windows deleted on close, and in the folder backups skip.
        self._open_dir.mkdir(mode=0o700, exist_ok=True)
        with tempfile.TemporaryFile(dir=self._open_dir) as temp:
            self._read(sha256, temp)  # type: ignore[arg-type]
            temp.seek(0)
            yield temp  # type: ignore[misc]

    def _read(self, sha256: str, out: BinaryIO | None) -> None:
        path = self.path_for(sha256)
        try:
            with path.open("rb") as handle:
                if self._cipher is not None:
                    found, _ = self._cipher.decrypt(handle, out)
                else:
                    digest = hashlib.sha256()
                    while chunk := handle.read(CHUNK_BYTES):
                        digest.update(chunk)
                    found = digest.hexdigest()
        except FileNotFoundError as error:
            raise FileIntegrityError(
                f"A stored file is missing from the data folder ({path.name}). "
                f"Attach the original file again."
            ) from error
        except BlobDamaged:
            found = ""
        if found != sha256:
            raise FileIntegrityError(
                f"A stored file was changed or damaged on disk ({path.name}). "
                f"Attach the original file again."
            )

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
        """Remove temporary files and decrypted copies a crash left behind."""
        incoming = self.root / "incoming"
        if incoming.is_dir():
            for leftover in incoming.iterdir():
                leftover.unlink(missing_ok=True)
        shutil.rmtree(self._open_dir, ignore_errors=True)

    def close(self) -> None:
        """Remove the decrypted copies handed out (the viewer's among them)."""
        shutil.rmtree(self._open_dir, ignore_errors=True)
