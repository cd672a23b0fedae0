"""What can go wrong talking to the server, in words a doctor can act on.

Each error says whether trying again later may help (`transient`) and whether the
request may have reached the server although no answer came back (`maybe_delivered`):
a create whose answer was lost must be reconciled, not sent twice.
"""

from __future__ import annotations

from ..domain.errors import MedMitraError


class SyncError(MedMitraError):
    transient: bool = False
    maybe_delivered: bool = False


class ServerUnreachable(SyncError):
    """No answer: no network, DNS, refused, timed out or dropped connection."""

    transient = True

    def __init__(self, message: str, *, maybe_delivered: bool) -> None:
        super().__init__(message)
        self.maybe_delivered = maybe_delivered


class ServerBusy(SyncError):
    """The server answered 5xx or 429: its problem, probably passing. It may have done
    the work before failing, so a POST is not simply sent again."""

    transient = True
    maybe_delivered = True

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ServerRefused(SyncError):
    """A 4xx answer: the request itself is wrong; sending it again will not help."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class SignInRequired(ServerRefused):
    """401/403: the token is missing, wrong or expired."""


class RemoteNotFound(ServerRefused):
    """404: the case or file is not (or no longer) on the server."""


class UntrustedServer(SyncError):
    """TLS verification failed: not transient, and never bypassed."""


class BadResponse(SyncError):
    """The server answered, but not with what the MedMitra API promises (broken JSON,
    a web page from a proxy, missing fields). Often a proxy or captive portal: transient."""

    transient = True
    maybe_delivered = True


