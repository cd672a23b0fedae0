"""Turning on encryption at rest for the open data folder, as an audited change.

The sealing itself happens at the next start (storage/encryption.py): the running app
has the database open, and SQLCipher seals a database by writing a new file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..domain.enums import AuditAction
from ..storage import encryption
from ..storage.data_key import DataKey, DataKeyStore
from . import audit
from .backup import ENTITY

if TYPE_CHECKING:
    from ..app import AppContext


def turn_on(context: AppContext, *, user_id: str) -> DataKey:
    """Make and keep the folder's key (raises EncryptionError, nothing changed, when the
    keychain cannot hold it); the recovery code is the caller's to show, once."""
    key = encryption.begin(context.paths.data_dir, DataKeyStore())
    with context.database.session() as session:
        audit.record(session, user_id=user_id, action=AuditAction.ENCRYPT, entity=ENTITY,
                     entity_id="", detail="turned on; sealed at the next start")
    return key
