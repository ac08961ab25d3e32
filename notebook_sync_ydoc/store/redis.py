"""The Redis store: shared state and notifications for many servers (JupyterHub).

Keys (``P`` is the prefix, default ``nbsync:``; ``{CODE}`` is the session code in literal braces,
the Redis Cluster hash tag, so every key of a session lives in one slot):

=====================================  ==========  ============================================
key                                    type        holds
=====================================  ==========  ============================================
``P session:{CODE}``                   hash        code, teacher_identity, teacher_key_hash,
                                                   title, mode, status, created, updated
``P session:{CODE}:seq``               string      the session's last seq (INCR)
``P session:{CODE}:cells``             hash        the index: cell id -> JSON
                                                   ``{"seq", "index", "a" (sync_allowed),
                                                   "t" (cell_type)}``; sorted by (index, seq)
                                                   when read (a hash, not a sorted set, because
                                                   the entry carries more than one number)
``P pending_update:{CODE}:<cell_id>``  hash        source, cell_type, metadata (JSON),
                                                   crdt_state (raw bytes; absent = None),
                                                   sync_allowed ("1"/"0"), index, seq, updated
``P session:{CODE}:students``          sorted set  student id, scored by join time
``P student:{CODE}:<student_id>``      hash        ``i`` identity, ``n`` name, ``j`` joined;
                                                   per pulled cell ``p:<cell_id>`` JSON
                                                   ``{"seq", "src"}`` and ``s:<cell_id>`` the
                                                   raw base state bytes (absent = None)
``P session:{CODE}:presence``          sorted set  JSON ``[student_id, server_id, conn_id]``
                                                   scored by expiry (ms, Redis ``TIME``)
``P sessions``                         sorted set  codes of created sessions (for
                                                   ``count_sessions``; cleaned when read)
=====================================  ==========  ============================================

Pub/sub channel of a session: ``P sync_session_{CODE}`` (braces included, e.g.
``nbsync:sync_session_{ABC234}``), carrying ``json(StoreEvent.to_dict())``. Every server also
subscribes its own control channel ``P server:<server_id>`` so its subscriber connection is
always in subscribed mode (liveness PINGs work even with no session).

Every write-and-notify is ONE Lua script run with EVALSHA (redis-py's ``Script`` reloads it on
NOSCRIPT): it checks, writes, INCRs the seq, updates the index, refreshes the TTL of every key of
the session (``ttl.active``, or ``ttl.ended`` once ended) and PUBLISHes. The scripts build the
per-cell and per-student key names from the index (keys not passed in ``KEYS``): they share the
session's hash tag, so this works on Redis Cluster too, the one deviation from the strict
"declare every key" rule.

Binary data (``crdt_state``, base states) is stored as raw bytes: the client runs without
``decode_responses`` and this module decodes text fields itself.

Presence: each ``set_presence(online=True)`` adds a member scored ``now + presence_lifetime``
(Redis server time, so server clocks do not matter); a heartbeat task re-scores this server's
connections every ``presence_interval``. A killed server stops heartbeating and its students go
offline after at most ``presence_lifetime``. ``stop()`` removes this server's members at once.

Failures: every command has ``socket_connect_timeout``/``socket_timeout`` (2 s by default) and no
automatic retry (a retried script could run twice), so a call while Redis is down fails within
seconds with :class:`StoreUnavailable`, whose message never contains the password. Pooled
connections reconnect on their next use, so nothing needs restarting when Redis comes back.
The subscriber reconnects by itself with bounded exponential backoff, re-subscribes every code,
then calls the resync handler for each.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from typing import Any, NoReturn
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

try:  # redis-py >= 7: "auto" maintenance notifications skip the stale-connection check
    from redis.maint_notifications import MaintNotificationsConfig
except ImportError:  # pragma: no cover - older redis-py checks stale connections anyway
    MaintNotificationsConfig = None  # type: ignore[assignment,misc]

from .base import (
    CellIndexEntry,
    CellRecord,
    CellWrite,
    PulledCell,
    SeqConflict,
    SessionGone,
    SessionRecord,
    Store,
    StoreError,
    StoreEvent,
    StoreTTL,
    StoreUnavailable,
    StudentRecord,
)

log = logging.getLogger(__name__)


def redact_url(url: str) -> str:
    """``url`` with its password (userinfo or ``?password=``) replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, sep, _password = userinfo.partition(":")
        netloc = f"{user}:***@{hostport}" if sep else f"{user}@{hostport}"
        if not sep and user:
            # redis://secret@host: redis-py takes a lone userinfo as the password
            netloc = f"***@{hostport}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, "***" if k.lower() == "password" else v) for k, v in pairs], safe="*"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _secrets_of(url: str) -> list[str]:
    """The password of ``url`` in every spelling it could appear in a message."""
    out: list[str] = []
    try:
        parts = urlsplit(url)
    except ValueError:
        return out
    for value in (parts.password, parts.username if parts.password is None else None):
        if value:
            out.append(value)
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        if k.lower() == "password" and v:
            out.append(v)
    more = []
    for s in out:
        more.append(quote(s, safe=""))
        more.append(unquote(s))
    return sorted({s for s in out + more if s}, key=len, reverse=True)


# ---------------------------------------------------------------------------------------------
# Lua. Every session script gets the same first KEYS and ARGV:
#   KEYS[1] session hash, KEYS[2] seq, KEYS[3] cells index, KEYS[4] students, KEYS[5] presence,
#   KEYS[6] the cell's or student's key (when the script has one)
#   ARGV[1] active ttl ms, ARGV[2] ended ttl ms, ARGV[3] pending_update key prefix (with code),
#   ARGV[4] student key prefix (with code), ARGV[5] channel, ARGV[6] origin server id
# ---------------------------------------------------------------------------------------------

_PRELUDE = r"""
local function ttl_ms()
  if redis.call('HGET', KEYS[1], 'status') == 'ended' then return tonumber(ARGV[2]) end
  return tonumber(ARGV[1])
end

local function refresh(ms)
  for i = 1, 5 do redis.call('PEXPIRE', KEYS[i], ms) end
  for _, c in ipairs(redis.call('HKEYS', KEYS[3])) do
    redis.call('PEXPIRE', ARGV[3] .. c, ms)
  end
  for _, s in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do
    redis.call('PEXPIRE', ARGV[4] .. s, ms)
  end
end

local function publish(ev)
  ev['origin'] = ARGV[6]
  redis.call('PUBLISH', ARGV[5], cjson.encode(ev))
end

local function writable()
  if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
  if redis.call('HGET', KEYS[1], 'status') == 'ended' then return 'ended' end
  return nil
end
"""

_CREATE = r"""
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
for i = 7, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('SET', KEYS[2], 0)
refresh(tonumber(ARGV[1]))
return 1
"""

_END = r"""
if redis.call('EXISTS', KEYS[1]) == 0 then return {'gone'} end
if redis.call('HGET', KEYS[1], 'status') ~= 'ended' then
  redis.call('HSET', KEYS[1], 'status', 'ended', 'updated', ARGV[7])
  refresh(tonumber(ARGV[2]))
  publish({type = 'ended', seq = tonumber(redis.call('GET', KEYS[2]) or '0')})
end
return {'ok', redis.call('HGETALL', KEYS[1])}
"""

_TOUCH = r"""
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'updated', ARGV[7])
refresh(ttl_ms())
return 1
"""

# ARGV[7] cell id, [8] expect seq or '', [9] source, [10] cell type, [11] metadata JSON,
# [12] crdt state, [13] '1' if there is a state, [14] sync_allowed '1'/'0'/'' (keep),
# [15] index or '' (keep), [16] updated
_WRITE_CELL = r"""
local bad = writable()
if bad then return {bad} end
local raw = redis.call('HGET', KEYS[3], ARGV[7])
local entry = nil
if raw then entry = cjson.decode(raw) end
local current = 0
if entry then current = entry['seq'] end
if ARGV[8] ~= '' and tonumber(ARGV[8]) ~= current then return {'conflict', current} end
local index
if ARGV[15] ~= '' then
  index = tonumber(ARGV[15])
elseif entry then
  index = entry['index']
else
  index = -1
  for _, v in ipairs(redis.call('HVALS', KEYS[3])) do
    local i = cjson.decode(v)['index']
    if i > index then index = i end
  end
  index = index + 1
end
local allowed = true
if ARGV[14] ~= '' then allowed = (ARGV[14] == '1') elseif entry then allowed = entry['a'] end
local seq = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[6], 'source', ARGV[9], 'cell_type', ARGV[10], 'metadata', ARGV[11],
  'sync_allowed', allowed and '1' or '0', 'index', string.format('%d', index),
  'seq', seq, 'updated', ARGV[16])
if ARGV[13] == '1' then
  redis.call('HSET', KEYS[6], 'crdt_state', ARGV[12])
else
  redis.call('HDEL', KEYS[6], 'crdt_state')
end
redis.call('HSET', KEYS[3], ARGV[7],
  cjson.encode({seq = seq, index = index, a = allowed, t = ARGV[10]}))
refresh(tonumber(ARGV[1]))
publish({type = 'cell', cell_id = ARGV[7], seq = seq, sync_allowed = allowed,
  index = index, cell_type = ARGV[10]})
return {'ok', seq, string.format('%d', index), allowed and 1 or 0}
"""

# ARGV[7] cell id, [8] '1'/'0'
_SET_ALLOWED = r"""
local bad = writable()
if bad == 'gone' then return {'absent'} end
if bad then return {bad} end
local raw = redis.call('HGET', KEYS[3], ARGV[7])
if not raw then return {'absent'} end
local entry = cjson.decode(raw)
local allowed = (ARGV[8] == '1')
entry['a'] = allowed
redis.call('HSET', KEYS[3], ARGV[7], cjson.encode(entry))
redis.call('HSET', KEYS[6], 'sync_allowed', ARGV[8])
refresh(tonumber(ARGV[1]))
publish({type = 'sync', cell_id = ARGV[7], seq = entry['seq'], sync_allowed = allowed,
  index = entry['index'], cell_type = entry['t']})
return {'ok', redis.call('HGETALL', KEYS[6])}
"""

# ARGV[7] cell id
_REMOVE = r"""
local bad = writable()
if bad == 'gone' then return {'absent'} end
if bad then return {bad} end
if redis.call('HEXISTS', KEYS[3], ARGV[7]) == 0 then return {'absent'} end
redis.call('HDEL', KEYS[3], ARGV[7])
redis.call('DEL', KEYS[6])
local seq = redis.call('INCR', KEYS[2])
refresh(tonumber(ARGV[1]))
publish({type = 'removed', cell_id = ARGV[7], seq = seq})
return {'ok', seq}
"""

# ARGV[7] student id, [8] identity, [9] name, [10] joined, [11..] field/value pairs written
# only when the student is new (its initial pulled state)
_PUT_STUDENT = r"""
if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
local new = redis.call('EXISTS', KEYS[6]) == 0
redis.call('HSET', KEYS[6], 'i', ARGV[8], 'n', ARGV[9], 'j', ARGV[10])
if new then
  for i = 11, #ARGV, 2 do redis.call('HSET', KEYS[6], ARGV[i], ARGV[i + 1]) end
end
redis.call('ZADD', KEYS[4], ARGV[10], ARGV[7])
refresh(ttl_ms())
return 'ok'
"""

# ARGV[7] student id, [8] cell id, [9] pulled JSON, [10] state, [11] '1' if there is a state
_RECORD_PULL = r"""
if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
if not redis.call('ZSCORE', KEYS[4], ARGV[7]) or redis.call('EXISTS', KEYS[6]) == 0 then
  return 'unknown'
end
redis.call('HSET', KEYS[6], 'p:' .. ARGV[8], ARGV[9])
if ARGV[11] == '1' then
  redis.call('HSET', KEYS[6], 's:' .. ARGV[8], ARGV[10])
else
  redis.call('HDEL', KEYS[6], 's:' .. ARGV[8])
end
refresh(ttl_ms())
return 'ok'
"""

_NOW_MS = r"""
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""

# KEYS[1] session, KEYS[2] presence; ARGV[1] member, ARGV[2] '1' online / '0' offline,
# ARGV[3] lifetime ms
_PRESENCE = r"""
if ARGV[2] == '0' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 'ok'
end
if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('%.0f', now))
redis.call('ZADD', KEYS[2], string.format('%.0f', now + tonumber(ARGV[3])), ARGV[1])
local pttl = redis.call('PTTL', KEYS[1])
if pttl > 0 then redis.call('PEXPIRE', KEYS[2], pttl) end
return 'ok'
"""

# heartbeat of one session: KEYS[1] session, KEYS[2] presence; ARGV[1] lifetime ms, ARGV[2..]
# members. Returns the number re-scored (0 if the session is gone).
_HEARTBEAT = r"""
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local score = string.format('%.0f', now_ms() + tonumber(ARGV[1]))
for i = 2, #ARGV do redis.call('ZADD', KEYS[2], score, ARGV[i]) end
local pttl = redis.call('PTTL', KEYS[1])
if pttl > 0 then redis.call('PEXPIRE', KEYS[2], pttl) end
return #ARGV - 1
"""

# KEYS[1] presence: the members still alive
_ONLINE = r"""
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. string.format('%.0f', now_ms()), '+inf')
"""


def _s(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode("utf-8") if isinstance(value, bytes) else value


class RedisStore(Store):
    """The Redis store (kind ``"redis"``); see the module docstring."""

    kind = "redis"

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "nbsync:",
        server_id: str | None = None,
        ttl: StoreTTL | None = None,
        ssl_ca_certs: str | None = None,
        ssl_check_hostname: bool = True,
        socket_timeout: float = 2.0,
        socket_connect_timeout: float = 2.0,
        presence_interval: float = 10.0,
        presence_lifetime: float = 30.0,
        reconnect_min: float = 0.1,
        reconnect_max: float = 5.0,
        ping_interval: float = 5.0,
    ) -> None:
        super().__init__(server_id=server_id or f"server-{uuid.uuid4().hex[:12]}", ttl=ttl)
        if presence_lifetime <= presence_interval:
            raise ValueError("presence_lifetime must be longer than presence_interval")
        self.url = url
        self.redacted_url = redact_url(url)
        self._secrets = _secrets_of(url)
        self.prefix = prefix
        self.socket_timeout = socket_timeout
        self.presence_interval = presence_interval
        self.presence_lifetime = presence_lifetime
        self.reconnect_min = reconnect_min
        self.reconnect_max = reconnect_max
        self.ping_interval = ping_interval
        kwargs: dict[str, Any] = {
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": socket_connect_timeout,
            "retry": Retry(NoBackoff(), 0),
            "decode_responses": False,
            "client_name": f"nbsync-{self.server_id}"[:64].replace(" ", "_"),
        }
        if MaintNotificationsConfig is not None:
            # with notifications on "auto", a pooled connection that Redis closed (restart) is
            # handed out unchecked and the next command fails; off, the pool reconnects it
            kwargs["maint_notifications_config"] = MaintNotificationsConfig(enabled=False)
        if urlsplit(url).scheme == "rediss":
            kwargs["ssl_check_hostname"] = ssl_check_hostname
            if ssl_ca_certs:
                kwargs["ssl_ca_certs"] = ssl_ca_certs
        try:
            self._client: aioredis.Redis = aioredis.Redis.from_url(url, **kwargs)
        except ValueError as exc:
            raise StoreError(f"invalid redis url {self.redacted_url}: {self._clean(exc)}") from None
        self._scripts: dict[str, AsyncScript] = {}
        for name, body in (
            ("create", _CREATE),
            ("end", _END),
            ("touch", _TOUCH),
            ("write_cell", _WRITE_CELL),
            ("set_allowed", _SET_ALLOWED),
            ("remove", _REMOVE),
            ("put_student", _PUT_STUDENT),
            ("record_pull", _RECORD_PULL),
        ):
            self._scripts[name] = self._client.register_script(_PRELUDE + body)
        for name, body in (("presence", _PRESENCE), ("heartbeat", _HEARTBEAT), ("online", _ONLINE)):
            self._scripts[name] = self._client.register_script(_NOW_MS + body)
        # subscriber state
        self._codes: set[str] = set()  # codes we want to receive
        self._confirmed: set[str] = set()  # channels whose SUBSCRIBE is confirmed (names)
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._pubsub: PubSub | None = None
        self._sub_connected = False
        self._sub_error: str | None = None
        self._reader: asyncio.Task[None] | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._events: asyncio.Queue[tuple[str, Any] | None] | None = None
        self._local_presence: dict[str, set[str]] = {}  # code -> members on this server
        self.reconnects = 0  # how many times the subscriber reconnected (for tests, status)
        self._sub_ever_connected = False
        self._sub_ready_once = False
        self._sub_ready: asyncio.Event | None = None  # set while subscribed (made in start())

    def __repr__(self) -> str:
        return (
            f"RedisStore(url={self.redacted_url!r}, prefix={self.prefix!r}, "
            f"server_id={self.server_id!r})"
        )

    # keys ------------------------------------------------------------------------------------
    def _session_key(self, code: str) -> str:
        return f"{self.prefix}session:{{{code}}}"

    def _pending_prefix(self, code: str) -> str:
        return f"{self.prefix}pending_update:{{{code}}}:"

    def _student_prefix(self, code: str) -> str:
        return f"{self.prefix}student:{{{code}}}:"

    def channel(self, code: str) -> str:
        """The pub/sub channel of a session."""
        return f"{self.prefix}sync_session_{{{code}}}"

    @property
    def _control_channel(self) -> str:
        return f"{self.prefix}server:{self.server_id}"

    @property
    def _registry_key(self) -> str:
        return f"{self.prefix}sessions"

    def _session_keys(self, code: str, extra: str | None = None) -> list[str]:
        s = self._session_key(code)
        keys = [s, f"{s}:seq", f"{s}:cells", f"{s}:students", f"{s}:presence"]
        if extra is not None:
            keys.append(extra)
        return keys

    def _common_args(self, code: str) -> list[Any]:
        return [
            max(1, int(self.ttl.active * 1000)),
            max(1, int(self.ttl.ended * 1000)),
            self._pending_prefix(code),
            self._student_prefix(code),
            self.channel(code),
            self.server_id,
        ]

    # errors ----------------------------------------------------------------------------------
    def _clean(self, exc: BaseException | str) -> str:
        text = str(exc)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _raise(self, exc: BaseException) -> NoReturn:
        detail = f"{type(exc).__name__}: {self._clean(exc)}"
        unavailable = (RedisConnectionError, RedisTimeoutError, OSError, asyncio.TimeoutError)
        if isinstance(exc, unavailable):
            raise StoreUnavailable(f"redis unavailable at {self.redacted_url}: {detail}") from None
        raise StoreError(f"redis error at {self.redacted_url}: {detail}") from None

    async def _run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        try:
            return await self._scripts[name](keys=keys, args=args)
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            self._raise(exc)

    async def _call(self, coro: Any) -> Any:
        try:
            return await coro
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            self._raise(exc)

    # lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._reader is not None:
            return
        self._events = asyncio.Queue()
        ready = self._sub_ready = asyncio.Event()
        self._dispatcher = asyncio.create_task(self._dispatch(), name="nbsync-redis-dispatch")
        self._reader = asyncio.create_task(self._read_loop(), name="nbsync-redis-subscriber")
        self._heartbeat = asyncio.create_task(self._heartbeat_loop(), name="nbsync-redis-presence")
        # wait (bounded) for the subscriber, so health() is right from the start; a Redis that
        # is down at start-up does not stop the server: the reader keeps reconnecting
        try:
            await asyncio.wait_for(ready.wait(), timeout=self.socket_timeout * 2)
        except asyncio.TimeoutError:
            log.warning(
                "redis store: no pub/sub connection to %s yet (%s); retrying in the background",
                self.redacted_url,
                self._sub_error or "timeout",
            )

    async def stop(self) -> None:
        for task in (self._heartbeat, self._reader):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._heartbeat = self._reader = None
        if self._dispatcher is not None and self._events is not None:
            self._events.put_nowait(None)
            try:
                await asyncio.wait_for(asyncio.shield(self._dispatcher), timeout=5.0)
            except asyncio.TimeoutError:
                log.warning("redis store: event dispatcher did not drain in 5 s; cancelling")
                self._dispatcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._dispatcher
        self._dispatcher = None
        await self._close_pubsub()
        for waiters in self._waiters.values():
            for fut in waiters:
                if not fut.done():
                    fut.set_exception(StoreUnavailable("redis store stopped"))
        self._waiters.clear()
        # this server's students go offline now rather than after the presence lifetime
        for code, members in list(self._local_presence.items()):
            if not members:
                continue
            try:
                await self._client.zrem(f"{self._session_key(code)}:presence", *members)
            except (RedisError, OSError) as exc:
                log.warning(
                    "redis store: could not clear presence of %s at stop: %s",
                    code,
                    self._clean(exc),
                )
        self._local_presence.clear()
        try:
            await self._client.aclose()
        except (RedisError, OSError) as exc:
            log.warning("redis store: closing the client failed: %s", self._clean(exc))

    async def health(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": False,
            "kind": self.kind,
            "url": self.redacted_url,
            "latency_ms": None,
            "subscriber_connected": self._sub_connected,
            "error": None,
        }
        start = time.perf_counter()
        try:
            await self._call(self._client.ping())
        except StoreError as exc:
            out["error"] = str(exc)
            return out
        out["latency_ms"] = round((time.perf_counter() - start) * 1000, 3)
        if self._reader is not None and not self._sub_connected:
            out["error"] = self._sub_error or "subscriber not connected"
        else:
            out["ok"] = True
        return out

    # subscriber ------------------------------------------------------------------------------
    async def _close_pubsub(self) -> None:
        ps, self._pubsub = self._pubsub, None
        self._sub_connected = False
        if self._sub_ready is not None:
            self._sub_ready.clear()
        self._confirmed.clear()
        if ps is None:
            return
        try:
            await ps.aclose()
        except (RedisError, OSError) as exc:
            log.debug("redis store: closing the pub/sub connection: %s", self._clean(exc))

    async def _read_loop(self) -> None:
        delay = self.reconnect_min
        while True:
            self._sub_ready_once = False
            try:
                await self._subscriber_session()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, asyncio.TimeoutError) as exc:
                self._sub_error = f"{type(exc).__name__}: {self._clean(exc)}"
            except Exception as exc:
                self._sub_error = f"unexpected {type(exc).__name__}"
                log.exception("redis store: unexpected error in the pub/sub reader")
            await self._close_pubsub()
            if self._sub_ready_once:
                delay = self.reconnect_min  # it was up: start the backoff again
            log.warning(
                "redis store: pub/sub connection to %s lost (%s); reconnecting in %.2f s",
                self.redacted_url,
                self._sub_error,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.reconnect_max)

    async def _subscriber_session(self) -> None:
        ps = self._client.pubsub()
        self._pubsub = ps
        codes = set(self._codes)
        channels = [self._control_channel, *(self.channel(c) for c in sorted(codes))]
        await asyncio.wait_for(ps.subscribe(*channels), timeout=self.socket_timeout)
        waiting = set(channels)
        ready = False
        last_rx = time.monotonic()
        ping_sent: float | None = None
        poll = min(0.5, self.ping_interval / 2)
        while True:
            msg = await ps.get_message(ignore_subscribe_messages=False, timeout=poll)
            now = time.monotonic()
            if msg is None:
                if not ready and now - last_rx > self.socket_timeout * 2:
                    raise RedisTimeoutError("SUBSCRIBE was not confirmed")
                if ping_sent is not None and now - ping_sent > self.socket_timeout * 2:
                    raise RedisTimeoutError("no reply to PING on the pub/sub connection")
                if ready and ping_sent is None and now - last_rx > self.ping_interval:
                    await asyncio.wait_for(ps.ping(), timeout=self.socket_timeout)
                    ping_sent = now
                continue
            last_rx = now
            ping_sent = None
            kind = _s(msg.get("type"))
            channel = _s(msg.get("channel"))
            if kind == "subscribe":
                self._confirmed.add(channel)
                for fut in self._waiters.pop(channel, []):
                    if not fut.done():
                        fut.set_result(None)
                waiting.discard(channel)
                if not ready and not waiting:
                    ready = True
                    self._sub_connected = True
                    self._sub_error = None
                    if self._sub_ever_connected:
                        self.reconnects += 1
                    self._sub_ever_connected = True
                    self._sub_ready_once = True
                    if self._sub_ready is not None:
                        self._sub_ready.set()
                    # codes subscribed while the batch was in flight
                    missing = [self.channel(c) for c in self._codes - codes]
                    if missing:
                        await ps.subscribe(*missing)
                    # every code of the batch may have missed events while it was not
                    # subscribed (on the first connection the batch is normally empty)
                    if codes:
                        log.info(
                            "redis store: re-subscribed %s session(s) at %s; resyncing",
                            len(codes),
                            self.redacted_url,
                        )
                        assert self._events is not None
                        for code in sorted(codes & self._codes):
                            self._events.put_nowait(("resync", code))
            elif kind == "unsubscribe":
                if not any(self.channel(c) == channel for c in self._codes):
                    # a confirmation of SUBSCRIBE may have arrived after unsubscribe()
                    self._confirmed.discard(channel)
            elif kind == "message":
                self._on_message(channel, msg.get("data"))

    def _on_message(self, channel: str, data: Any) -> None:
        head = f"{self.prefix}sync_session_{{"
        if not (channel.startswith(head) and channel.endswith("}")):
            return  # the control channel, or a stray
        code = channel[len(head) : -1]
        if code not in self._codes:
            return
        try:
            event = StoreEvent.from_dict(code, json.loads(_s(data)))
        except (ValueError, KeyError, TypeError):
            log.warning("redis store: ignoring a malformed event on %s", channel)
            return
        assert self._events is not None
        self._events.put_nowait(("event", event))

    async def _dispatch(self) -> None:
        assert self._events is not None
        queue = self._events
        while True:
            item = await queue.get()
            if item is None:
                return
            what, payload = item
            try:
                if what == "event":
                    if self._event_handler is not None and payload.code in self._codes:
                        await self._event_handler(payload)
                elif self._resync_handler is not None and payload in self._codes:
                    await self._resync_handler(payload)
            except Exception:
                log.exception("redis store: %s handler failed for %s", what, payload)

    async def subscribe(self, code: str) -> None:
        channel = self.channel(code)
        self._codes.add(code)
        if channel in self._confirmed:
            return
        if self._reader is None:
            raise StoreError("redis store not started")
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(channel, []).append(fut)
        ps = self._pubsub
        if ps is not None and self._sub_connected:
            try:
                await ps.subscribe(channel)
            except (RedisError, OSError) as exc:
                # the reader notices the broken connection and re-subscribes every code
                log.warning("redis store: SUBSCRIBE %s failed: %s", code, self._clean(exc))
        try:
            await asyncio.wait_for(asyncio.shield(fut), timeout=self.socket_timeout * 2)
        except asyncio.TimeoutError:
            waiters = self._waiters.get(channel, [])
            if fut in waiters:
                waiters.remove(fut)
            raise StoreUnavailable(
                f"redis unavailable at {self.redacted_url}: SUBSCRIBE not confirmed"
            ) from None

    async def unsubscribe(self, code: str) -> None:
        channel = self.channel(code)
        self._codes.discard(code)
        self._confirmed.discard(channel)
        ps = self._pubsub
        if ps is not None and self._sub_connected:
            try:
                await ps.unsubscribe(channel)
            except (RedisError, OSError) as exc:
                log.warning("redis store: UNSUBSCRIBE %s failed: %s", code, self._clean(exc))

    async def publish(self, event: StoreEvent) -> None:
        data = json.dumps(event.to_dict(), separators=(",", ":"))
        await self._call(self._client.publish(self.channel(event.code), data))

    # sessions --------------------------------------------------------------------------------
    @staticmethod
    def _session_from(h: dict[bytes, bytes]) -> SessionRecord:
        status = _s(h.get(b"status")) or "active"
        return SessionRecord(
            code=_s(h.get(b"code")),
            teacher_identity=_s(h.get(b"teacher_identity")),
            teacher_key_hash=_s(h.get(b"teacher_key_hash")),
            title=_s(h.get(b"title")),
            mode=_s(h.get(b"mode")),
            status="ended" if status == "ended" else "active",
            created=float(h.get(b"created") or 0.0),
            updated=float(h.get(b"updated") or 0.0),
        )

    async def create_session(self, session: SessionRecord) -> bool:
        code = session.code
        fields = [
            "code",
            code,
            "teacher_identity",
            session.teacher_identity,
            "teacher_key_hash",
            session.teacher_key_hash,
            "title",
            session.title,
            "mode",
            session.mode,
            "status",
            session.status,
            "created",
            repr(float(session.created)),
            "updated",
            repr(float(session.updated)),
        ]
        created = await self._run(
            "create", self._session_keys(code), [*self._common_args(code), *fields]
        )
        if not created:
            return False
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.zadd(self._registry_key, {code: time.time()})
                pipe.pexpire(self._registry_key, max(1, int(self.ttl.active * 1000)))
                await pipe.execute()
        except (RedisError, OSError) as exc:
            # the session exists; only the approximate count misses it
            log.warning("redis store: session registry update failed: %s", self._clean(exc))
        return True

    async def get_session(self, code: str) -> SessionRecord | None:
        h = await self._call(self._client.hgetall(self._session_key(code)))
        return self._session_from(h) if h else None

    async def end_session(self, code: str, now: float) -> SessionRecord | None:
        res = await self._run(
            "end", self._session_keys(code), [*self._common_args(code), repr(float(now))]
        )
        if _s(res[0]) != "ok":
            return None
        flat = res[1]
        return self._session_from(dict(zip(flat[::2], flat[1::2])))

    async def touch_session(self, code: str, now: float) -> None:
        await self._run(
            "touch", self._session_keys(code), [*self._common_args(code), repr(float(now))]
        )

    # cells -----------------------------------------------------------------------------------
    @staticmethod
    def _cell_from(cell_id: str, h: dict[bytes, bytes]) -> CellRecord:
        return CellRecord(
            cell_id=cell_id,
            seq=int(h[b"seq"]),
            source=_s(h.get(b"source")),
            cell_type=_s(h.get(b"cell_type")) or "code",
            metadata=json.loads(_s(h.get(b"metadata")) or "{}"),
            crdt_state=h.get(b"crdt_state"),
            sync_allowed=h.get(b"sync_allowed") == b"1",
            index=int(h.get(b"index") or 0),
            updated=float(h.get(b"updated") or 0.0),
        )

    async def write_cell(self, code: str, cell: CellWrite, expect_seq: int | None) -> CellRecord:
        updated = time.time()
        metadata = json.dumps(cell.metadata, separators=(",", ":"), ensure_ascii=False)
        args = [
            *self._common_args(code),
            cell.cell_id,
            "" if expect_seq is None else str(int(expect_seq)),
            cell.source,
            cell.cell_type,
            metadata,
            cell.crdt_state if cell.crdt_state is not None else b"",
            "1" if cell.crdt_state is not None else "0",
            "" if cell.sync_allowed is None else ("1" if cell.sync_allowed else "0"),
            "" if cell.index is None else str(int(cell.index)),
            repr(updated),
        ]
        keys = self._session_keys(code, self._pending_prefix(code) + cell.cell_id)
        res = await self._run("write_cell", keys, args)
        status = _s(res[0])
        if status == "gone":
            raise SessionGone(f"session {code} does not exist")
        if status == "ended":
            raise SessionGone(f"session {code} has ended")
        if status == "conflict":
            raise SeqConflict(
                f"cell {cell.cell_id}: expected seq {expect_seq}, found {int(res[1])}"
            )
        return CellRecord(
            cell_id=cell.cell_id,
            seq=int(res[1]),
            source=cell.source,
            cell_type=cell.cell_type,
            metadata=json.loads(metadata),
            crdt_state=cell.crdt_state,
            sync_allowed=int(res[3]) == 1,
            index=int(res[2]),
            updated=updated,
        )

    async def set_sync_allowed(self, code: str, cell_id: str, allowed: bool) -> CellRecord | None:
        keys = self._session_keys(code, self._pending_prefix(code) + cell_id)
        res = await self._run(
            "set_allowed", keys, [*self._common_args(code), cell_id, "1" if allowed else "0"]
        )
        status = _s(res[0])
        if status == "ended":
            raise SessionGone(f"session {code} has ended")
        if status != "ok":
            return None
        flat = res[1]
        return self._cell_from(cell_id, dict(zip(flat[::2], flat[1::2])))

    async def remove_cell(self, code: str, cell_id: str) -> int | None:
        keys = self._session_keys(code, self._pending_prefix(code) + cell_id)
        res = await self._run("remove", keys, [*self._common_args(code), cell_id])
        status = _s(res[0])
        if status == "ended":
            raise SessionGone(f"session {code} has ended")
        if status != "ok":
            return None
        return int(res[1])

    async def get_cell(self, code: str, cell_id: str) -> CellRecord | None:
        h = await self._call(self._client.hgetall(self._pending_prefix(code) + cell_id))
        return self._cell_from(cell_id, h) if h else None

    async def list_cells(self, code: str) -> list[CellIndexEntry]:
        raw = await self._call(self._client.hgetall(f"{self._session_key(code)}:cells"))
        entries = []
        for cid, value in raw.items():
            e = json.loads(_s(value))
            entries.append(
                CellIndexEntry(
                    cell_id=_s(cid),
                    seq=int(e["seq"]),
                    index=int(e["index"]),
                    sync_allowed=bool(e["a"]),
                    cell_type=str(e["t"]),
                )
            )
        entries.sort(key=lambda e: (e.index, e.seq))
        return entries

    async def cell_count(self, code: str) -> int:
        return int(await self._call(self._client.hlen(f"{self._session_key(code)}:cells")))

    # students --------------------------------------------------------------------------------
    @staticmethod
    def _pulled_fields(cell_id: str, pulled: PulledCell) -> list[Any]:
        return [
            f"p:{cell_id}",
            json.dumps({"seq": pulled.seq, "src": pulled.base_source}, ensure_ascii=False),
        ]

    @staticmethod
    def _student_from(student_id: str, h: dict[bytes, bytes], online: bool) -> StudentRecord:
        pulled: dict[str, PulledCell] = {}
        for field_name, value in h.items():
            if field_name.startswith(b"p:"):
                cell_id = _s(field_name[2:])
                p = json.loads(_s(value))
                pulled[cell_id] = PulledCell(
                    seq=int(p["seq"]),
                    base_source=str(p["src"]),
                    base_state=h.get(b"s:" + field_name[2:]),
                )
        return StudentRecord(
            student_id=student_id,
            identity=_s(h.get(b"i")),
            name=_s(h.get(b"n")),
            joined=float(h.get(b"j") or 0.0),
            online=online,
            pulled=pulled,
        )

    async def put_student(self, code: str, student: StudentRecord) -> None:
        sid = student.student_id
        initial: list[Any] = []
        for cell_id, pulled in student.pulled.items():
            initial += self._pulled_fields(cell_id, pulled)
            if pulled.base_state is not None:
                initial += [f"s:{cell_id}", pulled.base_state]
        keys = self._session_keys(code, self._student_prefix(code) + sid)
        args = [
            *self._common_args(code),
            sid,
            student.identity,
            student.name,
            repr(float(student.joined)),
            *initial,
        ]
        if _s(await self._run("put_student", keys, args)) == "gone":
            raise SessionGone(f"session {code} does not exist")

    async def record_pull(
        self, code: str, student_id: str, cell_id: str, pulled: PulledCell
    ) -> None:
        keys = self._session_keys(code, self._student_prefix(code) + student_id)
        args = [
            *self._common_args(code),
            student_id,
            cell_id,
            self._pulled_fields(cell_id, pulled)[1],
            pulled.base_state if pulled.base_state is not None else b"",
            "1" if pulled.base_state is not None else "0",
        ]
        status = _s(await self._run("record_pull", keys, args))
        if status == "gone":
            raise SessionGone(f"session {code} does not exist")
        if status == "unknown":
            raise StoreError(f"unknown student in session {code}")

    async def _online(self, code: str) -> set[str]:
        members = await self._run("online", [f"{self._session_key(code)}:presence"], [])
        out = set()
        for m in members:
            try:
                out.add(str(json.loads(_s(m))[0]))
            except (ValueError, IndexError, TypeError):
                log.warning("redis store: ignoring a malformed presence member in %s", code)
        return out

    async def get_student(self, code: str, student_id: str) -> StudentRecord | None:
        h = await self._call(self._client.hgetall(self._student_prefix(code) + student_id))
        if not h:
            return None
        online = student_id in await self._online(code)
        return self._student_from(student_id, h, online)

    async def list_students(self, code: str) -> list[StudentRecord]:
        ids = await self._call(
            self._client.zrange(f"{self._session_key(code)}:students", 0, -1, withscores=True)
        )
        if not ids:
            return []
        online = await self._online(code)
        sp = self._student_prefix(code)
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for sid, _score in ids:
                    pipe.hgetall(sp + _s(sid))
                hashes = await pipe.execute()
        except (RedisError, OSError) as exc:
            self._raise(exc)
        out = []
        for (sid, _score), h in zip(ids, hashes):
            if h:
                out.append(self._student_from(_s(sid), h, _s(sid) in online))
        out.sort(key=lambda st: (st.joined, st.student_id))
        return out

    def _member(self, student_id: str, conn_id: str) -> str:
        return json.dumps([student_id, self.server_id, conn_id], separators=(",", ":"))

    async def set_presence(self, code: str, student_id: str, conn_id: str, online: bool) -> None:
        member = self._member(student_id, conn_id)
        keys = [self._session_key(code), f"{self._session_key(code)}:presence"]
        lifetime_ms = int(self.presence_lifetime * 1000)
        status = _s(
            await self._run("presence", keys, [member, "1" if online else "0", lifetime_ms])
        )
        if status == "gone":
            raise SessionGone(f"session {code} does not exist")
        local = self._local_presence.setdefault(code, set())
        if online:
            local.add(member)
        else:
            local.discard(member)
            if not local:
                del self._local_presence[code]

    async def heartbeat(self) -> None:
        """Re-score this server's presence members (the heartbeat task calls this)."""
        lifetime_ms = int(self.presence_lifetime * 1000)
        for code, members in list(self._local_presence.items()):
            if not members:
                continue
            keys = [self._session_key(code), f"{self._session_key(code)}:presence"]
            n = await self._run("heartbeat", keys, [lifetime_ms, *sorted(members)])
            if int(n) == 0:
                # the session is gone: nothing to keep online
                self._local_presence.pop(code, None)

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.presence_interval)
            try:
                await self.heartbeat()
            except StoreError as exc:
                log.warning("redis store: presence heartbeat failed: %s", exc)
            except Exception:
                log.exception("redis store: unexpected error in the presence heartbeat")

    async def count_sessions(self) -> int:
        codes = await self._call(self._client.zrange(self._registry_key, 0, 9999))
        if not codes:
            return 0
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for c in codes:
                    pipe.hget(self._session_key(_s(c)), "status")
                statuses = await pipe.execute()
            gone = [c for c, st in zip(codes, statuses) if st is None]
            if gone:
                await self._client.zrem(self._registry_key, *gone)
        except (RedisError, OSError) as exc:
            self._raise(exc)
        return sum(1 for st in statuses if st == b"active")
