"""One running MedMitra Desktop per data folder.

Two processes running migrations or job runners over one database would corrupt each
other's work; the operating system's file lock is released even when a process is killed.
"""

from __future__ import annotations

from pathlib import Path

from filelock import FileLock, Timeout

from ..domain.errors import InstanceLockedError

LOCK_FILE_NAME = "medmitra.lock"


class InstanceLock:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        # Owner-only like everything else in the data folder (it holds no data, but a lock
        # file others can open is one more thing for an audit to flag).
        self._lock = FileLock(str(data_dir / LOCK_FILE_NAME), timeout=0, mode=0o600)

    def acquire(self) -> None:
        try:
            self._lock.acquire()
        except Timeout as error:
            raise InstanceLockedError(
                f"MedMitra Desktop is already running on the data folder {self.data_dir}. "
                f"Switch to that window, or close it and try again."
            ) from error

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()
