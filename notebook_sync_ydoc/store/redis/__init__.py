"""The Redis store: shared state and notifications for many servers (JupyterHub).

One module per concern:

- :mod:`.keys`: key and channel names under the prefix, with the ``{CODE}`` hash tag (the key
  table is there);
- :mod:`.scripts` and ``lua/*.lua``: every write-and-notify is one Lua script (EVALSHA), each
  file documenting its ``KEYS`` and ``ARGV``;
- :mod:`.connection`: the pooled client, timeouts without retries, errors as
  :class:`~notebook_sync_ydoc.store.base.StoreUnavailable` / ``StoreError`` without the password;
- :mod:`.subscriber`: the one pub/sub connection, its reconnects, resubscriptions and dispatch;
- :mod:`.presence`: the presence sorted set and this server's heartbeat;
- :mod:`.records`: records to and from hash fields;
- :mod:`.urls`: URLs with their password redacted;
- :mod:`.store`: :class:`RedisStore`, composing the above.
"""

from __future__ import annotations

from .store import RedisStore
from .urls import redact_url

__all__ = ["RedisStore", "redact_url"]
