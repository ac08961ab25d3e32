"""Real jupyter_server processes for tests (the project's and its users'): :mod:`.server`, and
the pytest fixtures of :mod:`.plugin` (``nbsync_server``, ``nbsync_server_factory``)."""

from __future__ import annotations

from .server import JupyterServerProcess, free_port

__all__ = ["JupyterServerProcess", "free_port"]
