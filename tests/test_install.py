"""Set-up that just works: after `pip install`, the server extension is on with no enable step,
and its protocol schema ships inside the package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from typing import Any

from notebook_sync_ydoc.protocol import ERROR_CODES, MessageValidator


def test_server_extension_is_enabled_by_the_installed_config() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter", "server", "extension", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = proc.stdout + proc.stderr
    line = next((ln for ln in out.splitlines() if "notebook_sync_ydoc" in ln), "")
    assert "enabled" in line, out
    assert "notebook_sync_ydoc" in out and "OK" in out.split("notebook_sync_ydoc", 1)[1], out


def test_schema_ships_in_the_package_and_covers_every_message() -> None:
    text = resources.files("notebook_sync_ydoc").joinpath("schema/protocol.schema.json")
    schema = json.loads(text.read_text(encoding="utf-8"))
    assert {
        "create_session",
        "resume_session",
        "push_cell",
        "toggle_sync",
        "remove_cell",
        "end_session",
        "join_session",
        "request_sync",
        "preview",
        "leave_session",
    } <= MessageValidator(schema).types
    assert set(ERROR_CODES) == {
        "invalid_message",
        "unknown_type",
        "too_large",
        "rate_limited",
        "session_not_found",
        "session_ended",
        "not_in_session",
        "forbidden",
        "sync_not_allowed",
        "cell_not_found",
        "no_update",
        "store_unavailable",
        "internal",
    }


def test_store_class_is_configurable(nbsync_server_factory: Any) -> None:
    """``store_class`` picks the store, as jupyter-collaboration's ``ystore_class`` does: here
    the embedded store although REDIS_URL names a Redis (none listens there)."""
    server = nbsync_server_factory(
        env={"REDIS_URL": "redis://127.0.0.1:9/0"},
        store_class="notebook_sync_ydoc.store.memory.MemoryStore",
    )
    assert server.status()["store"]["kind"] == "memory"


def test_the_default_store_follows_redis_url(nbsync_server_factory: Any) -> None:
    server = nbsync_server_factory(env={"REDIS_URL": "redis://127.0.0.1:9/0"})
    store = server.status()["store"]
    assert store["kind"] == "redis" and store["ok"] is False, store


def test_the_default_store_is_a_file_in_the_data_directory(nbsync_server_factory: Any) -> None:
    """Without redis_url: SQLite, in the Jupyter data directory; a named JupyterHub server
    (sharing its user's home with the others) gets a file of its own."""
    server = nbsync_server_factory(start=False, env={"JUPYTERHUB_SERVER_NAME": "gpu/2"})
    del server.options["store_path"]  # the fixture gives each server its own; here the default
    server.start()
    data_dir = os.environ.get("JUPYTER_DATA_DIR") or str(server.workdir / "data")
    store = server.status()["store"]
    assert store["kind"] == "sqlite" and store["ok"] is True, store
    assert store["path"] == os.path.join(data_dir, "notebook_sync", "store-gpu_2.sqlite")
