"""NotebookSyncExtensionApp: configuration, store and service construction, lifecycle."""

from __future__ import annotations

import ast
import gc
import logging
import os
import signal
import uuid
from typing import TYPE_CHECKING, Any

from jupyter_core.paths import jupyter_data_dir
from jupyter_server.extension.application import ExtensionApp
from traitlets import (
    Bool,
    CaselessStrEnum,
    Float,
    Int,
    List,
    TraitError,
    Type,
    Unicode,
    default,
    validate,
)

from ._version import __version__
from .engines import CellEngine, load_engine
from .session import ServiceConfig, SyncService
from .session.limits import RateLimits
from .store import Store, StoreSettings, StoreTTL
from .transport import AUTH_RESOURCE, routes

if TYPE_CHECKING:
    from .follow.manager import FollowManager

FALSE_WORDS = frozenset({"0", "false", "no", "off"})
# Collection thresholds once the server is up: young collections rarer (a broadcast to N students
# makes a few objects per student, most freed by reference counting first), full ones rarer still.
GC_THRESHOLDS = (50_000, 20, 100)


NOT_SHARED_HINT = (
    "this server shares no store with other servers: a session started on another JupyterHub "
    "server is not known here; the hub's administrator must give every server the same Redis"
)


def names_from_config(trait: str, values: list[str]) -> list[str]:
    """User and group names as administrators write them: a list in a config file, or one
    ``--NotebookSyncExtensionApp.teacher_groups=teachers`` per name on the command line. A
    value that looks like a list (``['teachers']``, as in JupyterHub's ``Spawner.args``) is
    read as that list, or refused with how to write it; never taken as one odd name."""
    names: list[str] = []
    for value in values:
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):
            try:
                parsed = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                parsed = None
            if not isinstance(parsed, list) or not all(isinstance(n, str) for n in parsed):
                raise TraitError(
                    f"{trait}: {value!r} looks like a list but is not a list of quoted names; "
                    f"write --NotebookSyncExtensionApp.{trait}=NAME once per name, or "
                    f"c.NotebookSyncExtensionApp.{trait} = ['NAME', ...] in a config file"
                )
            names.extend(n.strip() for n in parsed)
        else:
            names.append(text)
    if any(not n for n in names):
        raise TraitError(f"{trait}: an empty name in {values!r}")
    return names


def env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip().lower() not in FALSE_WORDS


def stop_on_sigint(serverapp: Any, log: logging.Logger) -> None:
    """Stop cleanly on SIGINT when nothing else handles it. JupyterHub stops a local
    single-user server with SIGINT, and jupyter_server handles SIGINT only when it has a
    terminal: without one, SIGINT breaks out of the event loop and no extension is stopped, so
    this server's students stayed "online" on their teacher's roster. SIGINT then does what
    SIGTERM does."""
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return  # jupyter_server's own handler (a terminal), or somebody else's
    stop = getattr(serverapp, "_signal_stop", None)
    if stop is None:
        log.warning("notebook-sync: this jupyter_server has no _signal_stop: SIGINT kept")
        return
    try:
        signal.signal(signal.SIGINT, stop)
    except ValueError as exc:  # not the main thread (an embedded server)
        log.warning("notebook-sync: SIGINT left as it was: %s", exc)


class NotebookSyncExtensionApp(ExtensionApp):
    """Live classroom sync: teachers push cells, students pull and merge them when they choose."""

    name = "notebook_sync_ydoc"
    load_other_extensions = True

    redis_url = Unicode(
        help=(
            "Redis URL shared by every Jupyter server of a classroom (redis:// or rediss:// for "
            "TLS, credentials in the URL). Empty: the embedded store (SQLite, store_path), for "
            "one server. Default: the REDIS_URL environment variable, else empty."
        ),
    ).tag(config=True)

    @default("redis_url")
    def _default_redis_url(self) -> str:
        return os.environ.get("REDIS_URL", "")

    store_class = Type(
        klass=Store,
        help=(
            "The store class (a subclass of notebook_sync_ydoc.store.Store, or its import "
            "path). Default: notebook_sync_ydoc.store.redis.RedisStore when redis_url is set, "
            "else the durable embedded notebook_sync_ydoc.store.sqlite.SQLiteStore (one file, "
            "store_path). notebook_sync_ydoc.store.memory.MemoryStore keeps nothing across a "
            "restart (tests, throw-away demos)."
        ),
    ).tag(config=True)

    @default("store_class")
    def _default_store_class(self) -> type[Store]:
        if self.redis_url:
            from .store.redis import RedisStore

            return RedisStore
        from .store.sqlite import SQLiteStore

        return SQLiteStore

    store_path = Unicode(
        help=(
            "The SQLite store's file (the default store without redis_url). One file serves one "
            "server process: a second server on the same file is refused. Default: "
            "notebook_sync/store.sqlite in the Jupyter data directory (store-<name>.sqlite for a "
            "named JupyterHub server, JUPYTERHUB_SERVER_NAME, whose home it shares)."
        ),
    ).tag(config=True)

    @default("store_path")
    def _default_store_path(self) -> str:
        name = "".join(
            c if c.isalnum() or c in "-_." else "_"
            for c in os.environ.get("JUPYTERHUB_SERVER_NAME", "").strip()
        )
        filename = f"store-{name}.sqlite" if name else "store.sqlite"
        return os.path.join(jupyter_data_dir(), "notebook_sync", filename)

    store_synchronous = CaselessStrEnum(
        ["NORMAL", "FULL"],
        default_value="NORMAL",
        help=(
            "SQLite store: NORMAL, every answered write survives the server process being "
            "killed (kill -9, a crash, a restart), but the last ones may be lost if the machine "
            "loses power; FULL, they survive power loss too (each write waits for the disk, "
            "flushes shared by concurrent writes, off the event loop)."
        ),
    ).tag(config=True)

    redis_ssl_ca_certs = Unicode(
        "", help="rediss:// only: a CA bundle file to verify the Redis server's certificate."
    ).tag(config=True)

    redis_ssl_check_hostname = Bool(
        True, help="rediss:// only: check that the certificate matches the Redis host name."
    ).tag(config=True)

    redis_reconnect_delay = Float(
        0.1,
        help="Seconds before the first reconnect to Redis after the connection drops (doubling "
        "up to 5 s). After reconnecting, every subscribed session is caught up.",
    ).tag(config=True)

    presence_lifetime = Float(
        30.0,
        min=3.0,
        help="Redis: seconds a student whose Jupyter server died (crashed, killed) still shows "
        "online on the roster; each server's heartbeat runs every third of it.",
    ).tag(config=True)

    # Redis past one server (README "Redis Cluster and failover"): store/redis/modes.py
    redis_cluster = Bool(
        False, help="redis_url names a Redis Cluster: seed nodes comma-separated in its host part."
    ).tag(config=True)
    redis_cluster_nodes = List(
        Unicode(), help="More Redis Cluster seed nodes (host:port); any turns redis_cluster on."
    ).tag(config=True)
    redis_sentinels = List(
        Unicode(), help="Redis Sentinels (host:port); redis_url then gives credentials, db only."
    ).tag(config=True)
    redis_sentinel_master = Unicode("mymaster", help="The primary's name at the sentinels.").tag(
        config=True
    )
    redis_sentinel_password = Unicode("", help="The sentinels' own password, if any.").tag(
        config=True
    )
    redis_wait_replicas = Int(
        0, help="Answer a write once this many replicas have it (WAIT); 0: no wait."
    ).tag(config=True)
    redis_wait_timeout_ms = Int(
        1000, help="ms a write waits for redis_wait_replicas (below 1750) before store_unavailable."
    ).tag(config=True)

    use_ydoc = Bool(
        help=(
            "Carry cell changes as YDoc (pycrdt) per-cell documents. False, or pycrdt not "
            "importable: the JSON fallback serves the same protocol with the same merge results. "
            "Default: the NOTEBOOK_SYNC_USE_YDOC environment variable (false/0/no/off), else True."
        ),
    ).tag(config=True)

    @default("use_ydoc")
    def _default_use_ydoc(self) -> bool:
        return env_flag("NOTEBOOK_SYNC_USE_YDOC", True)

    key_prefix = Unicode("nbsync:", help="Prefix of every Redis key and channel.").tag(config=True)

    session_ttl = Int(
        7 * 24 * 3600,
        help="Seconds a session's data lives after its last activity.",
    ).tag(config=True)

    ended_session_ttl = Int(
        3600, help="Seconds an ended session's data is kept (students can still see it ended)."
    ).tag(config=True)

    max_message_bytes = Int(
        4 * 1024 * 1024,
        help="Largest websocket frame answered normally; larger ones get error too_large.",
    ).tag(config=True)

    max_source_bytes = Int(
        1024 * 1024, help="Largest cell source (UTF-8 bytes) a push or local_source may carry."
    ).tag(config=True)

    max_cells_per_session = Int(1000, help="Most cells one session may hold.").tag(config=True)

    max_output_bytes = Int(
        256 * 1024,
        help="Largest shared outputs of one cell (compact JSON, UTF-8 bytes; images and every "
        "mime bundle counted); what is over it is replaced by a placeholder.",
    ).tag(config=True)

    teacher_users = List(
        Unicode(),
        help="If set (with teacher_groups), only these Jupyter users may create sessions.",
    ).tag(config=True)

    teacher_groups = List(
        Unicode(),
        help="If set (with teacher_users), members of these JupyterHub groups may create sessions.",
    ).tag(config=True)

    @validate("teacher_users", "teacher_groups")
    def _names(self, proposal: Any) -> list[str]:
        return names_from_config(proposal["trait"].name, proposal["value"])

    join_failures_per_minute = Int(
        10,
        help="Failed joins (unknown code, wrong key) one identity may make per minute per server.",
    ).tag(config=True)

    session_code_length = Int(6, help="Symbols in a new session code (at least 6).").tag(
        config=True
    )

    send_queue_size = Int(
        512,
        help="Frames queued for one slow client before it is disconnected (it reconnects and "
        "catches up).",
    ).tag(config=True)

    rate_limit_messages = Float(
        20.0,
        help="Messages per second one connection may send, sustained (0: no limit). A frame "
        "past its budget is answered rate_limited unread; a connection that keeps on is closed "
        "(1008).",
    ).tag(config=True)

    rate_limit_burst = Int(
        200, help="Messages one connection may send at once (Pull all on 200 cells fits)."
    ).tag(config=True)

    rate_limit_bytes = Float(
        1024 * 1024,
        help="Bytes per second one connection may send, sustained (it also bounds how much one "
        "connection can make the server parse).",
    ).tag(config=True)

    rate_limit_byte_burst = Int(8 * 1024 * 1024, help="Bytes one connection may send at once.").tag(
        config=True
    )

    follow_rooms = Bool(
        True,
        help="Serve each session's live read-only follow room over the Yjs protocol at "
        "/notebook-sync/room/<CODE> (needs pycrdt-websocket; without it the route answers 404 "
        "and status says why).",
    ).tag(config=True)

    gc_tuning = Bool(
        help=(
            "At start, freeze the server's start-up objects out of Python's garbage collector and "
            "raise its thresholds, so full collections (100+ ms pauses in a big process) stay off "
            "the broadcast path. Process-wide. Default: the NOTEBOOK_SYNC_GC_TUNING environment "
            "variable (false/0/no/off), else True."
        ),
    ).tag(config=True)

    @default("gc_tuning")
    def _default_gc_tuning(self) -> bool:
        return env_flag("NOTEBOOK_SYNC_GC_TUNING", True)

    # built in initialize_settings ----------------------------------------------------------------
    store: Store | None = None
    engine: CellEngine | None = None
    service: SyncService | None = None
    mode_reason: str = ""
    warnings: tuple[str, ...] = ()  # what is wrong with this deployment's shape (status, log)
    follow: FollowManager | None = None
    follow_reason: str = ""

    def route_package_logs(self) -> None:
        """The package's own module loggers (the stores': a store file that cannot be used, a
        lost Redis) write through this app's log handlers, formatted like the server's lines."""
        package = logging.getLogger(__package__ or "notebook_sync_ydoc")
        handlers = getattr(self.log, "handlers", [])
        if package.handlers or not handlers:
            return
        for handler in handlers:
            package.addHandler(handler)
        package.setLevel(logging.DEBUG)  # the handlers keep the server's log_level
        package.propagate = False

    def build_store(self, server_id: str) -> Store:
        settings = StoreSettings(
            server_id=server_id,
            ttl=StoreTTL(active=self.session_ttl, ended=self.ended_session_ttl),
            url=self.redis_url,
            prefix=self.key_prefix,
            ssl_ca_certs=self.redis_ssl_ca_certs or None,
            ssl_check_hostname=self.redis_ssl_check_hostname,
            reconnect_min=self.redis_reconnect_delay,
            presence_lifetime=self.presence_lifetime,
            path=self.store_path,
            synchronous=str(self.store_synchronous).upper(),
            cluster=self.redis_cluster,
            cluster_nodes=tuple(self.redis_cluster_nodes),
            sentinels=tuple(self.redis_sentinels),
            sentinel_master=self.redis_sentinel_master if self.redis_sentinels else "",
            sentinel_password=self.redis_sentinel_password,
            wait_replicas=self.redis_wait_replicas,
            wait_timeout_ms=self.redis_wait_timeout_ms,
        )
        store = self.store_class.from_settings(settings)
        self.log.info("notebook-sync: %s", store.describe())
        return store

    def build_follow(self, service: SyncService) -> tuple[FollowManager | None, str]:
        """The follow-room manager, or None and the reason it is not available."""
        if not self.follow_rooms:
            return None, "follow rooms switched off (follow_rooms=False)"
        try:
            from .follow.manager import FollowManager
        except ImportError as exc:  # pycrdt / pycrdt-websocket / jupyter-ydoc missing or broken
            return None, f"follow rooms unavailable ({exc.__class__.__name__}: {exc})"
        return FollowManager(service, self.log), "follow rooms at /notebook-sync/room/<CODE> (Yjs)"

    def initialize_settings(self) -> None:
        if self.session_code_length < 6:
            raise ValueError("NotebookSyncExtensionApp.session_code_length must be at least 6")
        server_id = uuid.uuid4().hex[:12]
        self.route_package_logs()
        stop_on_sigint(self.serverapp, self.log)
        self.engine, self.mode_reason = load_engine(self.use_ydoc, self.log)
        self.log.info("notebook-sync: %s", self.mode_reason)
        self.store = self.build_store(server_id)
        self.warnings = tuple(self.shape_warnings(self.store))
        for warning in self.warnings:
            self.log.warning("notebook-sync: %s", warning)
        config = ServiceConfig(
            max_message_bytes=self.max_message_bytes,
            max_source_bytes=self.max_source_bytes,
            max_cells_per_session=self.max_cells_per_session,
            max_output_bytes=self.max_output_bytes,
            teacher_users=frozenset(self.teacher_users),
            teacher_groups=frozenset(self.teacher_groups),
            join_failures_per_minute=self.join_failures_per_minute,
            code_length=self.session_code_length,
            rate_limits=self.rate_limits(),
            not_found_hint=NOT_SHARED_HINT if self.warnings else "",
        )
        self.service = SyncService(self.store, self.engine, config, self.log)
        self.follow, self.follow_reason = self.build_follow(self.service)
        self.log.info("notebook-sync: %s", self.follow_reason)
        if self.follow is not None:
            self.follow.start()

    def initialize_handlers(self) -> None:
        assert self.service is not None
        self.handlers.extend(
            routes(self.service, self.status, self.follow, self.follow_reason, self.send_queue_size)
        )

    def shape_warnings(self, store: Store) -> list[str]:
        """What is wrong with this deployment's shape, said once at start and in status."""
        under_hub = any(os.environ.get(v) for v in ("JUPYTERHUB_API_URL", "JUPYTERHUB_USER"))
        if under_hub and not store.shared:
            return [
                f"this server runs under JupyterHub with the {store.kind} store, which no other "
                "server shares: students on their own servers cannot join its sessions, nor "
                "this server theirs. Give every single-user server the same Redis "
                "(REDIS_URL in c.Spawner.environment)."
            ]
        return []

    def rate_limits(self) -> RateLimits | None:
        if self.rate_limit_messages <= 0:
            return None
        return RateLimits(
            messages_per_second=self.rate_limit_messages,
            message_burst=self.rate_limit_burst,
            bytes_per_second=self.rate_limit_bytes,
            byte_burst=self.rate_limit_byte_burst,
        )

    def tune_gc(self) -> None:
        """Collect once, ``gc.freeze()`` what survives (modules, classes, configuration: the
        server's long-lived objects, so full collections no longer traverse them), and raise the
        collection thresholds. Runs once, from the extension's start."""
        gc.collect()
        gc.freeze()
        current = gc.get_threshold()
        gc.set_threshold(*(max(a, b) for a, b in zip(current, GC_THRESHOLDS, strict=True)))
        self.log.info(
            "notebook-sync: garbage collector tuned (%d objects frozen)", gc.get_freeze_count()
        )

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        assert self.service is not None
        await self.service.start()
        if self.gc_tuning:
            self.tune_gc()
        self.log.info(
            "notebook-sync %s ready: /notebook-sync/ws (%s mode, %s store)",
            __version__,
            self.engine.mode if self.engine else "?",
            self.store.kind if self.store else "?",
        )
        assert self.service is not None
        self.log.info("notebook-sync: %s", self.service.access.policy())

    async def stop_extension(self) -> None:
        if self.follow is not None:
            await self.follow.stop()
        if self.service is not None:
            await self.service.stop()

    def status(self) -> dict[str, Any]:
        """What ``GET /notebook-sync/status`` shows (never a secret)."""
        assert self.service is not None and self.engine is not None
        return {
            "version": __version__,
            "mode": self.engine.mode,
            "mode_reason": self.mode_reason,
            "warnings": list(self.warnings),
            "auth_resource": AUTH_RESOURCE,
            "limits": {
                "max_message_bytes": self.max_message_bytes,
                "max_source_bytes": self.max_source_bytes,
                "max_cells_per_session": self.max_cells_per_session,
                "max_output_bytes": self.max_output_bytes,
                "rate_limit_messages": self.rate_limit_messages,
                "rate_limit_burst": self.rate_limit_burst,
                "rate_limit_bytes": self.rate_limit_bytes,
                "rate_limit_byte_burst": self.rate_limit_byte_burst,
            },
            "server": self.service.local_counts(),
            "follow": {
                "available": self.follow is not None,
                "reason": self.follow_reason,
                "path": "/notebook-sync/room/<CODE>?key=<teacher or student key>",
                **(self.follow.status() if self.follow is not None else {}),
            },
            # clean YDoc merges whose CRDT text was corrected to the line merge (ydoc_engine)
            "crdt_reconciled": int(getattr(self.engine, "reconciled", 0)),
            # cell states rebuilt from their text after their history outgrew it (ydoc_engine)
            "crdt_compactions": int(getattr(self.engine, "compactions", 0)),
        }
