"""The floor: a bare Tornado websocket server that relays each frame it receives to every other
connection (one ``write_message`` per client), and answers each frame on ``/echo`` with a reply
of ``reply_bytes`` (a request and its answer: the herd pull's floor; ``/echo-async`` the same
from an ``async`` ``on_message``, as a handler that awaits a store must be). Loopback only.

    python tests/benchmarks/bare_server.py PORT
"""

from __future__ import annotations

import asyncio
import json
import sys

from tornado import web, websocket

CLIENTS: set[websocket.WebSocketHandler] = set()


class Broadcast(websocket.WebSocketHandler):
    def check_origin(self, origin: str) -> bool:
        return origin.startswith(("http://127.0.0.1", "http://localhost"))

    def open(self) -> None:  # type: ignore[override]
        CLIENTS.add(self)

    def on_message(self, message: str | bytes) -> None:
        for client in list(CLIENTS):
            if client is not self:
                try:
                    client.write_message(message)
                except websocket.WebSocketClosedError:
                    CLIENTS.discard(client)

    def on_close(self) -> None:
        CLIENTS.discard(self)


class Echo(websocket.WebSocketHandler):
    """Parses the request (JSON, as any server must) and answers it with a frame of the size
    the request names, carrying its ``req_id``."""

    def check_origin(self, origin: str) -> bool:
        return origin.startswith(("http://127.0.0.1", "http://localhost"))

    def on_message(self, message: str | bytes) -> None:
        self.write_message(answer(message))


class EchoAsync(Echo):
    async def on_message(self, message: str | bytes) -> None:  # type: ignore[override]
        self.write_message(answer(message))


def answer(message: str | bytes) -> str:
    request = json.loads(message)
    body = {"type": "reply", "req_id": request.get("req_id"), "text": ""}
    padding = max(0, int(request.get("reply_bytes", 200)) - len(json.dumps(body)))
    body["text"] = "x" * padding
    return json.dumps(body)


class Ready(web.RequestHandler):
    def get(self) -> None:
        self.write({"clients": len(CLIENTS)})


async def main(port: int) -> None:
    app = web.Application(
        [(r"/ws", Broadcast), (r"/echo", Echo), (r"/echo-async", EchoAsync), (r"/ready", Ready)]
    )
    app.listen(port, address="127.0.0.1")
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
