"""A minimal asyncio websocket client (RFC 6455, stdlib only) for the load generators.

Every system under test (notebook-sync, the bare Tornado broadcast, jupyter-collaboration) is
driven through this one client, so client-side overhead is the same for all of them. It stamps
each frame with ``time.perf_counter()`` as it is parsed (CLOCK_MONOTONIC: one clock across the
processes of this machine). No extensions (no compression), no fragmentation on send.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
from collections.abc import Callable

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10

OnMessage = Callable[["WSClient", int, bytes, float], None]


def _mask(data: bytes, key: bytes) -> bytes:
    n = len(data)
    if n == 0:
        return data
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")


class WSClient(asyncio.Protocol):
    def __init__(self, on_message: OnMessage) -> None:
        self.on_message = on_message
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._handshake = True
        self._frag_op = 0
        self._frag: list[bytes] = []
        self.bytes_received = 0
        self.bytes_sent = 0
        self.close_code: int | None = None
        self.user: object = None  # whatever the load generator attaches

    # asyncio.Protocol --------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"closed before the handshake: {exc}"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        buf = self._buf
        buf += data
        if self._handshake:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end])
            del buf[: end + 4]
            status = head.split(b"\r\n", 1)[0]
            if b" 101" not in status:
                self.opened.set_exception(ConnectionError(status.decode(errors="replace")))
                assert self.transport is not None
                self.transport.close()
                return
            self._handshake = False
            self.opened.set_result(None)
        while len(buf) >= 2:
            b0, b1 = buf[0], buf[1]
            length = b1 & 0x7F
            pos = 2
            if length == 126:
                if len(buf) < 4:
                    return
                length = struct.unpack_from(">H", buf, 2)[0]
                pos = 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length = struct.unpack_from(">Q", buf, 2)[0]
                pos = 10
            if len(buf) < pos + length:
                return
            payload = bytes(buf[pos : pos + length])
            del buf[: pos + length]
            self.bytes_received += pos + length
            op, fin = b0 & 0x0F, b0 & 0x80
            if op == OP_PING:
                self._send_frame(OP_PONG, payload)
                continue
            if op == OP_PONG:
                continue
            if op == OP_CLOSE:
                self.close_code = (
                    struct.unpack_from(">H", payload)[0] if len(payload) >= 2 else None
                )
                self._send_frame(OP_CLOSE, payload[:2])
                assert self.transport is not None
                self.transport.close()
                return
            if op == OP_CONT:
                self._frag.append(payload)
                if fin:
                    payload, op = b"".join(self._frag), self._frag_op
                    self._frag = []
                else:
                    continue
            elif not fin:
                self._frag_op, self._frag = op, [payload]
                continue
            self.on_message(self, op, payload, now)

    # sending -----------------------------------------------------------------------------------
    def _send_frame(self, op: int, payload: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        n = len(payload)
        if n < 126:
            head = struct.pack(">BB", 0x80 | op, 0x80 | n)
        elif n < 65536:
            head = struct.pack(">BBH", 0x80 | op, 0x80 | 126, n)
        else:
            head = struct.pack(">BBQ", 0x80 | op, 0x80 | 127, n)
        key = os.urandom(4)
        self.bytes_sent += len(head) + 4 + n
        self.transport.write(head + key + _mask(payload, key))

    def send_text(self, text: str) -> None:
        self._send_frame(OP_TEXT, text.encode("utf-8"))

    def send_binary(self, data: bytes) -> None:
        self._send_frame(OP_BINARY, data)

    async def close(self, timeout: float = 2.0) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self._send_frame(OP_CLOSE, struct.pack(">H", 1000))
        try:
            await asyncio.wait_for(asyncio.shield(self.closed), timeout)
        except TimeoutError:
            pass
        if self.transport is not None:
            self.transport.close()


async def connect(
    host: str,
    port: int,
    path: str,
    on_message: OnMessage,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> WSClient:
    loop = asyncio.get_running_loop()
    _transport, proto = await asyncio.wait_for(
        loop.create_connection(lambda: WSClient(on_message), host, port), timeout
    )
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    assert proto.transport is not None
    proto.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await asyncio.wait_for(proto.opened, timeout)
    return proto


async def connect_many(
    count: int, factory: Callable[[int], asyncio.Future[WSClient] | object], batch: int = 50
) -> list[object]:
    """``count`` connections, at most ``batch`` handshakes at once (the listen backlog is 128)."""
    out: list[object] = []
    for start in range(0, count, batch):
        group = [factory(i) for i in range(start, min(count, start + batch))]
        out.extend(await asyncio.gather(*group))  # type: ignore[arg-type]
    return out
