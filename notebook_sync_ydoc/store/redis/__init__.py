"""The Redis store: shared state and notifications for many servers (JupyterHub).

One module per concern:

- :mod:`.keys`: key and channel names under the prefix, with the ``{CODE}`` hash tag (the key
  table is there);
- :mod:`.scripts` and ``lua/*.lua``: every write-and-notify is one Lua script (EVALSHA), each
  file documenting its ``KEYS`` and ``ARGV``; :mod:`.members` runs the session scripts with
  every key they touch in ``KEYS`` (and ``WAIT`` when configured);
- :mod:`.modes`: one Redis (the default), a Redis Cluster, or a primary behind Sentinel;
- :mod:`.connection`: the pooled client(s), timeouts without retries, errors as
  :class:`~notebook_sync_ydoc.store.base.StoreUnavailable` / ``StoreError`` without the password;
  :mod:`.cluster` (the slot layout, a client per node) and :mod:`.sentinel` behind it;
- :mod:`.subscriber`: the pub/sub connection, its reconnects, resubscriptions and dispatch;
  :mod:`.shard_subscriber` on a cluster (sharded pub/sub, one subscriber per node, following
  slot moves and failovers);
- :mod:`.presence`: the presence sorted set and this server's heartbeat;
- :mod:`.records`: records to and from hash fields;
- :mod:`.urls`: URLs with their password redacted;
- :mod:`.store`: :class:`RedisStore`, composing the above.
"""

from __future__ import annotations

from .modes import RedisMode
from .store import RedisStore
from .urls import redact_url

__all__ = ["RedisMode", "RedisStore", "redact_url"]
