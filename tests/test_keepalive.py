"""Keep-alive of the sync socket against a real server: one pinger per connection at
``ws_ping_interval`` (Jupyter's setting, in milliseconds), and a client that stops answering is
closed once a ping goes unanswered for an interval, while everyone else goes on. Before, the
server ran two pingers: Jupyter's mixin (which closed a silent client only after 30 s, whatever
the interval) and Tornado's own, handed the milliseconds as seconds, asleep for 8 hours on
every connection (about 1 KB each)."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import socket
import struct
import time
from typing import Any

from helpers import classroom

from notebook_sync_ydoc.testing import JupyterServerProcess

WAIT = 10.0
INTERVAL_MS = 300
PING, PONG, TEXT, CLOSE = 0x9, 0xA, 0x1, 0x8
CLOSE_WAIT_S = 5.0  # Tornado waits this long for the client's close frame before it aborts


def _server(factory: Any) -> JupyterServerProcess:
    settings = json.dumps({"ws_ping_interval": INTERVAL_MS})
    server: JupyterServerProcess = factory(extra_args=[f"--ServerApp.tornado_settings={settings}"])
    return server


def _open(server: JupyterServerProcess) -> socket.socket:
    """A raw websocket to /notebook-sync/ws after its handshake (blocking, with a timeout)."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
    sock.sendall(
        (
            f"GET /notebook-sync/ws?token={server.token} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        assert chunk, "closed during the handshake"
        head += chunk
    assert b" 101 " in head.split(b"\r\n", 1)[0], head
    return sock


def _read_exactly(sock: socket.socket, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _frame(sock: socket.socket) -> tuple[int, bytes] | None:
    """The next frame from the server (unmasked, unfragmented), or None once it closed."""
    head = _read_exactly(sock, 2)
    if head is None:
        return None
    length = head[1] & 0x7F
    if length == 126:
        raw = _read_exactly(sock, 2)
        assert raw is not None
        length = struct.unpack(">H", raw)[0]
    elif length == 127:
        raw = _read_exactly(sock, 8)
        assert raw is not None
        length = struct.unpack(">Q", raw)[0]
    payload = _read_exactly(sock, length) if length else b""
    if payload is None:
        return None
    return head[0] & 0x0F, payload


def _send(sock: socket.socket, op: int, payload: bytes) -> None:
    """A masked frame, as a client must send."""
    assert len(payload) < 126
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    sock.sendall(bytes((0x80 | op, 0x80 | len(payload))) + key + masked)


def _answering_client(server: JupyterServerProcess) -> tuple[list[float], dict[str, Any]]:
    """Answers four pings, noting when each came, then asks the server for a ``pong``."""
    sock = _open(server)
    try:
        times: list[float] = []
        while len(times) < 4:
            frame = _frame(sock)
            assert frame is not None, "the server closed a client that answered its pings"
            op, payload = frame
            if op == PING:
                times.append(time.monotonic())
                _send(sock, PONG, payload)
        _send(sock, TEXT, b'{"type":"ping","req_id":"p"}')
        while True:
            frame = _frame(sock)
            assert frame is not None
            if frame[0] == TEXT:
                return times, json.loads(frame[1])
    finally:
        sock.close()


def _silent_client(server: JupyterServerProcess) -> tuple[list[int], float]:
    """Never answers (a laptop whose lid closed, a network that dropped the connection without
    a word): the opcodes the server sent until it closed the socket, and how long that took."""
    sock = _open(server)
    started = time.monotonic()
    ops: list[int] = []
    try:
        while (frame := _frame(sock)) is not None:
            ops.append(frame[0])
    finally:
        sock.close()
    return ops, time.monotonic() - started


async def test_an_answering_client_is_pinged_at_the_interval_and_stays(
    nbsync_server_factory: Any,
) -> None:
    server = _server(nbsync_server_factory)
    times, reply = await asyncio.to_thread(_answering_client, server)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # one pinger: pings an interval apart (two pingers would send them in pairs, gaps near 0)
    assert all(gap > INTERVAL_MS / 1000 / 2 for gap in gaps), gaps
    assert reply == {"type": "pong", "req_id": "p"}  # still open and working


async def test_a_client_that_stops_answering_is_closed(
    nbsync_server_factory: Any, connect: Any
) -> None:
    server = _server(nbsync_server_factory)
    teacher, _code, students = await classroom(connect, server, 1)
    ops, took = await asyncio.to_thread(_silent_client, server)
    # pinged, then told the connection is closing (after one unanswered ping), then cut off
    assert ops[0] == PING and ops[-1] == CLOSE, ops
    assert ops.count(PING) <= 2, ops
    assert took < 2 * INTERVAL_MS / 1000 + CLOSE_WAIT_S + 2, took
    # everyone else is untouched (their clients answer the pings)
    assert (await students[0].request("ping"))["type"] == "pong"
    assert (await teacher.request("ping"))["type"] == "pong"
