"""The JSON fallback, chosen by the flag or because pycrdt cannot be imported in the server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from helpers import Connector, classroom

from notebook_sync_ydoc.testing import JupyterServerProcess


def broken_pycrdt(tmp_path: Path) -> dict[str, str]:
    """An environment whose ``import pycrdt`` raises, as with a missing or broken wheel."""
    shadow = tmp_path / "shadow" / "pycrdt"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(
        'raise ImportError("pycrdt is broken in this test environment")\n'
    )
    return {"PYTHONPATH": str(tmp_path / "shadow")}


async def run_merge_flow(server: JupyterServerProcess, connect: Connector) -> None:
    teacher, _code, (student,) = await classroom(connect, server)
    await teacher.push_cell("c", "a = 1\nb = 2\nc = 3\n")
    await student.wait_for_update("c")
    assert (await student.pull("c"))["status"] == "fast_forward"
    student.edit_cell("c", "a = 1\nb = 2\nc = 30\n")
    ack = await teacher.push_cell("c", "a = 10\nb = 2\nc = 3\n")
    await student.wait_for_update("c", ack["seq"] - 1)
    reply = await student.pull("c")
    assert reply["status"] == "merged" and "update" not in reply
    assert student.source("c") == "a = 10\nb = 2\nc = 30\n"


async def test_server_without_pycrdt_serves_the_protocol_in_json_mode(
    nbsync_server_factory: Any, connect: Connector, tmp_path: Path
) -> None:
    server = nbsync_server_factory(env=broken_pycrdt(tmp_path))
    status = await asyncio.to_thread(server.status)
    assert status["mode"] == "json"
    assert "YDoc unavailable" in status["mode_reason"]
    assert "pycrdt is broken" in status["mode_reason"]
    await run_merge_flow(server, connect)
    log = server.log_text()
    assert log.count("JSON mode: YDoc unavailable") == 1, "the log says once why"


async def test_flag_switches_ydoc_off(nbsync_server_factory: Any, connect: Connector) -> None:
    server = nbsync_server_factory(env={"NOTEBOOK_SYNC_USE_YDOC": "false"})
    status = await asyncio.to_thread(server.status)
    assert status["mode"] == "json"
    assert "switched off" in status["mode_reason"]
    await run_merge_flow(server, connect)
