"""The Lua scripts of the Redis store: ``lua/<name>.lua``, loaded from the package.

Every write-and-notify is ONE Lua script run with EVALSHA (redis-py's ``Script`` reloads it on
NOSCRIPT): it checks, writes, INCRs the seq, updates the index, refreshes the TTL of every key of
the session (``ttl.active``, or ``ttl.ended`` once ended) and PUBLISHes (SPUBLISH on a Redis
Cluster). Each ``.lua`` file starts with a comment giving its ``KEYS`` and ``ARGV``.

The session scripts get ``lua/prelude.lua`` prepended (its helpers and the ``KEYS``/``ARGV``
every session script shares); the presence scripts get ``lua/now_ms.lua`` (the Redis clock).
Every key a script touches is in its ``KEYS``, the per-cell and per-student keys of the session
included (the caller passes the ones it knows; a script given the wrong set writes nothing and
answers ``stale`` with the right one, see :mod:`.members`), so the scripts run on a Redis Cluster
with strict key checks. They all carry the session's hash tag: one slot per script.
"""

from __future__ import annotations

from importlib import resources
from typing import Literal, get_args

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

SessionScript = Literal[
    "create_session",
    "end_session",
    "touch_session",
    "write_cell",
    "set_sync_allowed",
    "remove_cell",
    "reorder_cells",
    "move_cell",
    "put_student",
    "record_pull",
    "mark_pull",
    "put_help",
    "delete_help",
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

    def get(self, name: ScriptName) -> AsyncScript:
        """One script: call it with ``keys``, ``args`` and the ``client`` to run it on
        (reloaded there on NOSCRIPT); redis-py errors propagate (the caller maps them)."""
        return self._registered[name]
