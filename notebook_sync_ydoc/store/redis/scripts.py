"""The Lua scripts of the Redis store: ``lua/<name>.lua``, loaded from the package.

Every write-and-notify is ONE Lua script run with EVALSHA (redis-py's ``Script`` reloads it on
NOSCRIPT): it checks, writes, INCRs the seq, updates the index, refreshes the TTL of every key of
the session (``ttl.active``, or ``ttl.ended`` once ended) and PUBLISHes. Each ``.lua`` file starts
with a comment giving its ``KEYS`` and ``ARGV``.

The session scripts get ``lua/prelude.lua`` prepended (its helpers and the ``KEYS``/``ARGV``
every session script shares); the presence scripts get ``lua/now_ms.lua`` (the Redis clock).
The session scripts build the per-cell and per-student key names from the index (keys not passed
in ``KEYS``): they share the session's hash tag, so this works on Redis Cluster too, the one
deviation from the strict "declare every key" rule.
"""

from __future__ import annotations

from importlib import resources
from typing import Any, Literal, get_args

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

SessionScript = Literal[
    "create_session",
    "end_session",
    "touch_session",
    "write_cell",
    "set_sync_allowed",
    "remove_cell",
    "put_student",
    "record_pull",
]
PresenceScript = Literal["set_presence", "heartbeat", "online"]
ScriptName = Literal[SessionScript, PresenceScript]

_PACKAGE = __name__.rpartition(".")[0]
SESSION_PRELUDE = "prelude"
PRESENCE_PRELUDE = "now_ms"


def lua_source(name: str) -> str:
    """The text of ``lua/<name>.lua`` (a script or a prelude) as shipped in the package."""
    path = resources.files(_PACKAGE).joinpath("lua", f"{name}.lua")
    return path.read_text(encoding="utf-8")


def script_source(name: ScriptName) -> str:
    """The full text sent to Redis for a script: its prelude, then its body."""
    prelude = SESSION_PRELUDE if name in get_args(SessionScript) else PRESENCE_PRELUDE
    return lua_source(prelude) + "\n" + lua_source(name)


class Scripts:
    """Every script registered on one client (EVALSHA, reloaded on NOSCRIPT)."""

    def __init__(self, client: aioredis.Redis) -> None:
        names: tuple[ScriptName, ...] = (*get_args(SessionScript), *get_args(PresenceScript))
        self._registered: dict[ScriptName, AsyncScript] = {
            name: client.register_script(script_source(name)) for name in names
        }

    async def run(self, name: ScriptName, keys: list[str], args: list[Any]) -> Any:
        """Run one script; redis-py errors propagate (the caller maps them)."""
        return await self._registered[name](keys=keys, args=args)
