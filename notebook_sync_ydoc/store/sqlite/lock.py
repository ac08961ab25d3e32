"""One store file, one server process: an exclusive lock on ``<store file>.lock``.

Two servers writing one file through their own in-memory copies would each overwrite the other's
changes, so a second server is refused with a clear error instead (:class:`StoreInUse`). The
lock is the operating system's (``flock``; ``msvcrt.locking`` on Windows): it is released when
the process ends however it ends (``kill -9`` included), so a restarted server never finds a
stale lock. It is held on a file of its own: SQLite's locks on the store file stay SQLite's.
A local file system is assumed (network file systems may not honour the lock).
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from pathlib import Path

from .schema import StoreFileError

log = logging.getLogger(__name__)

if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


class StoreInUse(StoreFileError):
    """Another process holds the store file."""


class StoreLock:
    def __init__(self, store_path: Path) -> None:
        self.store_path = store_path
        self.path = store_path.with_name(store_path.name + ".lock")
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`StoreInUse` (naming the holder) or
        :class:`StoreFileError` (the lock file cannot be made)."""
        if self._fd is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreFileError(f"cannot make the lock file {self.path}: {exc}") from exc
        try:
            _try_lock(fd)
        except OSError as exc:
            holder = self._holder(fd)
            os.close(fd)
            raise StoreInUse(
                f"{self.store_path} is in use by another Jupyter server ({holder}); one store "
                "file serves one server process: give each server its own store_path, or set "
                "redis_url to share sessions between servers"
            ) from exc
        self._fd = fd
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
        except OSError as exc:  # the note of who holds the lock is for people; it is held
            log.debug("sqlite store: could not note the lock's holder in %s: %s", self.path, exc)

    @staticmethod
    def _holder(fd: int) -> str:
        try:
            text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
        except (OSError, AttributeError):  # no pread on Windows; a locked region cannot be read
            text = ""
        return text or "holder unknown"

    def release(self) -> None:
        """Release the lock (the lock file stays: removing it would race with a new holder)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
