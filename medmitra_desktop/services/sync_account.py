"""Signing in to a MedMitra server, signing out, and building the sync engine for the
account that is signed in. The server address and doctor's user id are settings; the
token lives only in the OS keychain (sync/credentials.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy import func, select

from ..domain.errors import FieldError, KeychainUnavailable, ValidationError
from ..storage.database import Database
from ..storage.filestore import FileStore
from ..storage.orm import Case, OutboxEntry
from ..sync.client import MedMitraClient
from ..sync.credentials import CredentialStore
from ..sync.errors import SignInRequired
from .cases import CaseService
from .settings import SettingsService, check_settings
from .sync_engine import SyncEngine

log = logging.getLogger(__name__)

ClientFactory = Callable[[str, str], MedMitraClient]


@dataclass(frozen=True)
class SyncStatus:
    configured: bool        # a server address and user id are set
    signed_in: bool         # a token for them is in the keychain
    server_url: str
    user_id: str
    problem: str | None = None   # e.g. the keychain is locked

    @property
    def summary(self) -> str:
        if not self.configured:
            return "Sync not set up"
        if self.problem:
            return self.problem
        return f"Signed in as {self.user_id}" if self.signed_in else "Signed out"


class SyncAccount:
    def __init__(self, database: Database, files: FileStore, cases: CaseService,
                 settings: SettingsService, credentials: CredentialStore | None = None,
                 client_factory: ClientFactory = MedMitraClient) -> None:
        self._db = database
        self._files = files
        self._cases = cases
        self._settings = settings
        self._credentials = credentials or CredentialStore()
        self._client_factory = client_factory

    def status(self) -> SyncStatus:
        current = self._settings.load()
        configured = bool(current.server_url and current.user_id)
        if not configured:
            return SyncStatus(False, False, current.server_url, current.user_id)
        try:
            token = self._credentials.load(current.server_url, current.user_id)
        except KeychainUnavailable as error:
            return SyncStatus(True, False, current.server_url, current.user_id, str(error))
        return SyncStatus(True, token is not None, current.server_url, current.user_id)

    def sign_in(self, server_url: str, user_id: str, token: str) -> SyncStatus:
        """Check the token against the server, then keep it in the keychain and the
        address and user id in settings. Network: call off the GUI thread."""
        token = token.strip()
        errors = []
        if not token:
            errors.append(FieldError("token", "paste the access token from your MedMitra "
                                              "account"))
        if not user_id.strip():
            errors.append(FieldError("user_id", "is required to sign in"))
        if not server_url.strip():
            errors.append(FieldError("server_url", "is required to sign in"))
        if errors:
            raise ValidationError(errors)
        # Validates the address (https only, except this computer) before any request.
        candidate = replace(self._settings.load(), server_url=server_url, user_id=user_id)
        check_settings(candidate)
        with self._client_factory(candidate.server_url.strip(), token) as client:
            try:
                client.list_cases(candidate.user_id.strip())
            except SignInRequired as error:
                raise SignInRequired(
                    "The server did not accept this access token for this user id. Check "
                    "both and try again.", error.status) from error
        self._credentials.save(candidate.server_url.strip(), candidate.user_id.strip(), token)
        self._settings.save(candidate)
        log.info("Signed in to the sync server")
        return self.status()

    def sign_out(self) -> SyncStatus:
        """Forget the token (the keychain entry); cases and the outbox stay."""
        current = self._settings.load()
        if current.server_url and current.user_id:
            self._credentials.delete(current.server_url, current.user_id)
        log.info("Signed out of the sync server")
        return self.status()

    def pending_changes(self) -> int:
        """Outbox rows still to send (what "N changes waiting" counts)."""
        with self._db.read_session() as session:
            return session.execute(select(func.count()).select_from(OutboxEntry)).scalar_one()

    def state_counts(self) -> dict[str, int]:
        """Live cases per sync state."""
        with self._db.read_session() as session:
            rows = session.execute(
                select(Case.sync_state, func.count()).where(Case.deleted_at.is_(None))
                .group_by(Case.sync_state))
            return {state: count for state, count in rows}

    def engine(self) -> SyncEngine | None:
        """The engine for the signed-in account, or None while sync is off. The caller
        closes it (engine.close()) when done."""
        current = self._settings.load()
        if not (current.server_url and current.user_id):
            return None
        token = self._credentials.load(current.server_url, current.user_id)
        if token is None:
            return None
        client = self._client_factory(current.server_url, token)
        return SyncEngine(self._db, self._files, self._cases, client, current.user_id)
