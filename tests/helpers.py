"""Helpers shared by the end-to-end tests."""

from __future__ import annotations

from typing import Any, Callable

from notebook_sync_ydoc.client import StudentClient, TeacherClient
from notebook_sync_ydoc.testing import JupyterServerProcess

Connector = Callable[..., Any]


async def classroom(
    connect: Connector, server: JupyterServerProcess, students: int = 1
) -> tuple[TeacherClient, str, list[StudentClient]]:
    """A teacher with a fresh session and ``students`` joined students."""
    teacher: TeacherClient = await connect(server, TeacherClient)
    code = (await teacher.create_session("test"))["session_code"]
    joined = []
    for i in range(students):
        student: StudentClient = await connect(server, StudentClient)
        await student.join(code, name=f"student{i}")
        joined.append(student)
    return teacher, code, joined
