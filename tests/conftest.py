"""Shared test configuration: real jupyter_server processes (one per mode, shared by the tests
of a session: every test makes its own session code, so they do not interfere), and helpers to
connect clients. Redis fixtures live in tests/redis_fixtures.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from notebook_sync_ydoc.clients import SyncConnection
from notebook_sync_ydoc.store import Store
from notebook_sync_ydoc.testing import JupyterServerProcess

pytest_plugins = ["redis_fixtures"]


def _shared(
    tmp_path_factory: pytest.TempPathFactory, name: str, **options: Any
) -> Iterator[JupyterServerProcess]:
    server = JupyterServerProcess(tmp_path_factory.mktemp(name), options=options)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def ydoc_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServerProcess]:
    yield from _shared(tmp_path_factory, "ydoc", use_ydoc=True)


@pytest.fixture(scope="session")
def json_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServerProcess]:
    yield from _shared(tmp_path_factory, "json", use_ydoc=False)


@pytest.fixture(params=["ydoc", "json"])
def server(request: pytest.FixtureRequest) -> JupyterServerProcess:
    """The protocol in both modes."""
    fixture: JupyterServerProcess = request.getfixturevalue(f"{request.param}_server")
    return fixture


Connector = Callable[..., Any]


@pytest.fixture
async def connect() -> AsyncIterator[Connector]:
    """``await connect(server, TeacherClient)``: clients closed at the end of the test."""
    opened: list[SyncConnection] = []

    async def factory(
        server: JupyterServerProcess, cls: type[SyncConnection] = SyncConnection, **kwargs: Any
    ) -> Any:
        client = await cls.connect(server.base_url, server.token, **kwargs)
        opened.append(client)
        return client

    yield factory
    for client in opened:
        if not client.closed.is_set():
            await client.close()


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Iterator[dict[str, float]]:
    """Timings and counts a test measured; printed (run with -s) and attached to the report."""
    found: dict[str, float] = {}
    yield found
    for name, value in found.items():
        request.node.user_properties.append((name, value))
        print(f"\nFIGURE {request.node.name}: {name} = {value:.3f}")


@pytest.fixture
async def stores() -> AsyncIterator[list[Store]]:
    """Stores a test makes by hand (appended to the list): each stopped at the end (stopping
    twice, or with a dead Redis, is harmless)."""
    made: list[Store] = []
    yield made
    for store in made:
        await store.stop()
