"""How a Jupyter server is stopped, as JupyterHub stops one (SIGINT, no terminal) and as a
service manager does (SIGTERM): either way the extension stops, its students go offline on
their teacher's roster (on another server, through Redis) at once, not never."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import pytest
from helpers import roster_where

from notebook_sync_ydoc.clients import StudentClient, TeacherClient

pytestmark = pytest.mark.redis


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM"])
async def test_a_stopped_students_server_takes_them_offline(
    nbsync_server_factory: Any, redis_url: str, redis_prefix: str, connect: Any, how: str
) -> None:
    shared = {"redis_url": redis_url, "key_prefix": redis_prefix}
    teacher_server = nbsync_server_factory(**shared)
    student_server = nbsync_server_factory(**shared)
    teacher: TeacherClient = await connect(teacher_server, TeacherClient)
    code = (await teacher.create_session("stops"))["session_code"]
    student: StudentClient = await connect(student_server, StudentClient)
    await student.join(code, name="Ada")
    await roster_where(teacher, lambda r: [s["online"] for s in r] == [True])

    if how == "SIGINT":
        status = student_server.interrupt()
    else:
        assert student_server.proc is not None
        student_server.proc.send_signal(signal.SIGTERM)
        status = student_server.proc.wait(15)
    log = student_server.log_path.read_text(errors="replace")
    assert f"received signal {int(getattr(signal, how))}, stopping" in log, log[-2000:]
    assert "Interrupted..." not in log  # SIGINT no longer breaks out of the loop uncleaned
    assert status == 0, log[-2000:]
    # well within the presence lifetime (30 s): the stop withdrew Ada's presence
    roster = await roster_where(teacher, lambda r: [s["online"] for s in r] == [False])
    assert [s["name"] for s in roster] == ["Ada"]


async def test_a_crashed_students_server_takes_them_offline_when_presence_runs_out(
    nbsync_server_factory: Any, redis_url: str, redis_prefix: str, connect: Any
) -> None:
    """kill -9: nothing is said at stop, so the teacher's server re-reads who is online (every
    third of the presence lifetime) and tells the roster once the dead server's presence ran
    out."""
    shared = {"redis_url": redis_url, "key_prefix": redis_prefix, "presence_lifetime": 3.0}
    teacher_server = nbsync_server_factory(**shared)
    student_server = nbsync_server_factory(**shared)
    teacher: TeacherClient = await connect(teacher_server, TeacherClient)
    code = (await teacher.create_session("crash"))["session_code"]
    student: StudentClient = await connect(student_server, StudentClient)
    await student.join(code, name="Ada")
    await roster_where(teacher, lambda r: [s["online"] for s in r] == [True])
    loop = asyncio.get_running_loop()
    killed = loop.time()
    student_server.kill()
    await roster_where(teacher, lambda r: [s["online"] for s in r] == [False])
    took = loop.time() - killed
    assert took < 3.0 + 1.0 + 2.0, took  # the lifetime, one recheck period, and some slack
    print(f"\n[figures] a killed student's server: offline on the roster after {took:.1f} s")
