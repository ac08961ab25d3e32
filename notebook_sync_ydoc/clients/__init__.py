"""Python clients of the protocol: teacher, student (a real jupyter-ydoc notebook) and follower.
Used by the tests, the demo and the benchmarks; they talk to a server over websockets only."""

from __future__ import annotations

from .sync import StudentClient, SyncConnection, SyncError, TeacherClient

__all__ = ["StudentClient", "SyncConnection", "SyncError", "TeacherClient"]
