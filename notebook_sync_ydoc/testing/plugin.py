"""pytest fixtures: real ``jupyter server`` processes with the extension, for this project's tests
and for users who test their own classroom tooling against it.

Fixtures:

- ``nbsync_server_factory``: ``factory(**options) -> JupyterServerProcess`` (started); every
  server it made is stopped at the end of the test.
- ``nbsync_server``: one started server with the embedded store.

Options are ``NotebookSyncExtensionApp`` traits (``use_ydoc=False``, ``redis_url=...``), plus
``env`` (extra environment), ``extra_args`` (more command-line arguments) and ``start``.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .server import JupyterServerProcess

ServerFactory = Callable[..., JupyterServerProcess]


@pytest.fixture
def nbsync_server_factory() -> Iterator[ServerFactory]:
    servers: list[JupyterServerProcess] = []
    with tempfile.TemporaryDirectory(prefix="nbsync-") as tmp:

        def factory(
            *,
            env: dict[str, str] | None = None,
            extra_args: list[str] | None = None,
            start: bool = True,
            **options: Any,
        ) -> JupyterServerProcess:
            workdir = Path(tmp) / f"server{len(servers)}"
            workdir.mkdir()
            server = JupyterServerProcess(workdir, options=options, env=env, extra_args=extra_args)
            servers.append(server)
            return server.start() if start else server

        try:
            yield factory
        finally:
            for server in servers:
                try:
                    server.stop()
                except Exception as exc:  # teardown goes on for the other servers
                    warnings.warn(f"stopping {server.base_url} failed: {exc}", stacklevel=1)


@pytest.fixture
def nbsync_server(nbsync_server_factory: ServerFactory) -> JupyterServerProcess:
    return nbsync_server_factory()


__all__ = ["JupyterServerProcess", "ServerFactory", "nbsync_server", "nbsync_server_factory"]
