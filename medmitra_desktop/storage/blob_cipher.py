"""Stored files encrypted with AES-256-GCM, a stream at a time.

Layout: an 8-byte magic, then chunks of up to 1 MiB of plaintext, each stored as a fresh
96-bit random nonce followed by its ciphertext and 16-byte tag. Each chunk's associated
data is the magic, its number and whether it is the last, so chunks cannot be reordered,
dropped or cut off at a chunk boundary without the tag failing. Whole chunks taken from
another file under the same key would pass GCM but not the SHA-256 check the file store
does on every read (the file's name is the hash of its plaintext).

The design follows the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár,
"Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", CRYPTO 2015),
with random nonces as in age's and Tink's streaming AEADs.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .data_key import DataKey

MAGIC = b"MMENC\x00\x01\n"
CHUNK_BYTES = 1024 * 1024
_NONCE = 12
_TAG = 16
_SEALED_CHUNK = _NONCE + CHUNK_BYTES + _TAG


class BlobDamaged(Exception):
    """The stored bytes fail authentication: changed, cut short, or another key's."""


def is_encrypted(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(MAGIC)) == MAGIC


def sealed_size(plain_size: int) -> int:
    chunks = max(1, -(-plain_size // CHUNK_BYTES))
    return len(MAGIC) + chunks * (_NONCE + _TAG) + plain_size


def _associated(index: int, last: bool) -> bytes:
    return MAGIC + index.to_bytes(8, "big") + (b"\x01" if last else b"\x00")


class BlobCipher:
    def __init__(self, key: DataKey) -> None:
        self._aead = AESGCM(key.raw)

    def encrypt(self, source: BinaryIO, out: BinaryIO) -> tuple[str, int]:
        """Seal `source` into `out`; the SHA-256 and size of the plaintext."""
        digest = hashlib.sha256()
        size = 0
        out.write(MAGIC)
        index = 0
        chunk = source.read(CHUNK_BYTES)
        while True:
            following = source.read(CHUNK_BYTES) if chunk else b""
            digest.update(chunk)
            size += len(chunk)
            nonce = os.urandom(_NONCE)
            out.write(nonce)
            out.write(self._aead.encrypt(nonce, chunk, _associated(index, not following)))
            if not following:
                return digest.hexdigest(), size
            chunk, index = following, index + 1

    def decrypt(self, source: BinaryIO, out: BinaryIO | None) -> tuple[str, int]:
        """Open a sealed stream into `out` (None: only check it); the plaintext's SHA-256
        and size. Raises BlobDamaged when any chunk fails authentication."""
        if source.read(len(MAGIC)) != MAGIC:
            raise BlobDamaged("not an encrypted MedMitra file")
        digest = hashlib.sha256()
        size = 0
        index = 0
        sealed = source.read(_SEALED_CHUNK)
        while True:
            following = source.read(_SEALED_CHUNK) if sealed else b""
            if len(sealed) < _NONCE + _TAG:
                raise BlobDamaged("cut short")
            try:
                chunk = self._aead.decrypt(sealed[:_NONCE], sealed[_NONCE:],
                                           _associated(index, not following))
            except InvalidTag as error:
                raise BlobDamaged(f"chunk {index} fails authentication") from error
            digest.update(chunk)
            size += len(chunk)
            if out is not None:
                out.write(chunk)
            if not following:
                return digest.hexdigest(), size
            sealed, index = following, index + 1
