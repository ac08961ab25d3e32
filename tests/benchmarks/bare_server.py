"""The floor: a bare Tornado websocket server that relays each frame it receives to every other
connection (one ``write_message`` per client). Loopback only.

    python tests/benchmarks/bare_server.py PORT
"""

from __future__ import annotations

import asyncio
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


class Ready(web.RequestHandler):
    def get(self) -> None:
        self.write({"clients": len(CLIENTS)})


async def main(port: int) -> None:
    app = web.Application([(r"/ws", Broadcast), (r"/ready", Ready)])
    app.listen(port, address="127.0.0.1")
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
