"""Helpers shared by the end-to-end tests."""

from __future__ import annotations

import base64
import os
import socket
import struct
from collections.abc import Callable
from typing import Any

from notebook_sync_ydoc.clients import StudentClient, TeacherClient
from notebook_sync_ydoc.testing import JupyterServerProcess

Connector = Callable[..., Any]


async def roster_where(
    teacher: TeacherClient, ready: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """The teacher's whole roster (deltas merged) once, after one of the next 20
    roster_updates, its students satisfy ``ready``."""
    for _ in range(20):
        await teacher.next_message("roster_update")
        assert not teacher.roster_gaps
        if ready(teacher.roster or []):
            return list(teacher.roster or [])
    raise AssertionError("no roster_update reached the expected state")


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


async def teacher_tab(
    connect: Connector, server: JupyterServerProcess, teacher: TeacherClient, code: str
) -> TeacherClient:
    """Another tab of ``teacher`` on ``server``: resumed with the teacher's key."""
    assert teacher.teacher_key is not None
    tab: TeacherClient = await connect(server, TeacherClient)
    await tab.resume_session(code, teacher.teacher_key)
    return tab


async def class_on_two_servers(
    connect: Connector, a: JupyterServerProcess, b: JupyterServerProcess
) -> tuple[TeacherClient, str, list[StudentClient], TeacherClient, list[TeacherClient]]:
    """A session started on ``a`` by a teacher, three students on b, a, b, the teacher's second
    tab on ``b``, and one more teacher connection on each server to check the views against
    (the two-server tests of the roster and progress deltas)."""
    teacher: TeacherClient = await connect(a, TeacherClient)
    code = (await teacher.create_session("redis"))["session_code"]
    assert teacher.teacher_key is not None
    students = []
    for i, server in enumerate((b, a, b)):
        student: StudentClient = await connect(server, StudentClient)
        await student.join(code, name=f"student{i}")
        students.append(student)
    tab = await teacher_tab(connect, b, teacher, code)  # the teacher's tab on the other server
    checkers = [await teacher_tab(connect, server, teacher, code) for server in (a, b)]
    return teacher, code, students, tab, checkers


class RawWebSocket:
    """A bare websocket client on a plain socket: it sends frames and never reads unless asked,
    so the server sees real TCP backpressure (tornado's client reads everything eagerly)."""

    def __init__(self, server: JupyterServerProcess) -> None:
        self.server = server
        self.sock: socket.socket | None = None

    def open(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            "GET /notebook-sync/ws HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{self.server.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: token {self.server.token}\r\n\r\n"
        )
        sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(1)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            head += chunk
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(head.decode(errors="replace"))
        self.sock = sock

    def send_text(self, text: str) -> None:
        assert self.sock is not None
        payload = text.encode()
        mask = os.urandom(4)
        header = bytearray([0x81])
        if len(payload) < 126:
            header.append(0x80 | len(payload))
        elif len(payload) < 65536:
            header.append(0x80 | 126)
            header += struct.pack("!H", len(payload))
        else:
            header.append(0x80 | 127)
            header += struct.pack("!Q", len(payload))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(bytes(header) + mask + masked)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
