"""What every handler of the extension shares: the auth resource, Jupyter's authorization and
origin rules, and who the user is (identity, display name, JupyterHub groups)."""

from __future__ import annotations

from types import TracebackType
from typing import Any, ClassVar

from jupyter_core.utils import ensure_async
from jupyter_server.auth.identity import (
    IdentityProvider,
    LegacyIdentityProvider,
    PasswordIdentityProvider,
)
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WS_PING_INTERVAL, WebSocketMixin
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import httputil, web
from tornado.websocket import WebSocketHandler

__all__ = ["AUTH_RESOURCE", "AuthorizedWebSocket", "groups_of", "named_user"]

AUTH_RESOURCE = "notebook_sync"


def groups_of(user: Any) -> frozenset[str]:
    """JupyterHub users carry their groups (``hub_user``); other identity providers may not."""
    hub_user = getattr(user, "hub_user", None)
    if isinstance(hub_user, dict):
        groups = hub_user.get("groups") or []
        return frozenset(str(g) for g in groups)
    return frozenset(str(g) for g in (getattr(user, "groups", None) or []))


# jupyter_server's own providers: one shared token or password, users generated anonymously
ANONYMOUS_PROVIDERS = (IdentityProvider, PasswordIdentityProvider, LegacyIdentityProvider)


def named_user(handler: JupyterHandler) -> bool:
    """Whether the request's user is a person (a JupyterHub user, or any identity provider's
    login) rather than jupyter_server's anonymous user of a shared token, a random id that
    changes with every browser and would mean nothing on a teacher's roster."""
    if isinstance(getattr(handler.current_user, "hub_user", None), dict):
        return True
    if type(handler.identity_provider) in ANONYMOUS_PROVIDERS:
        return False  # token or password login: its users are all generated anonymously
    return not handler.identity_provider.is_token_authenticated(handler)


class AuthorizedWebSocket(WebSocketMixin, WebSocketHandler, ExtensionHandlerMixin, JupyterHandler):
    """A websocket of the extension: Jupyter authentication (``@ws_authenticated`` on ``get``),
    Jupyter's authorizer (``auth_action`` on :data:`AUTH_RESOURCE`) and Jupyter's origin rules
    (``WebSocketMixin.check_origin``: same host, or ``allow_origin`` / ``allow_origin_pat``)."""

    auth_resource = AUTH_RESOURCE
    auth_action: ClassVar[str] = "read"

    # Keep-alive: one pinger per connection, Tornado's own (a ping every ``ws_ping_interval``,
    # the socket closed when no pong comes within the interval). WebSocketMixin's properties
    # give milliseconds, which Tornado, reading the same properties, took for seconds: every
    # connection had Tornado's pinger asleep for 8 hours (a task, a coroutine and a timer, about
    # 1 KB) beside the mixin's own PeriodicCallback.
    @property
    def ping_interval(self) -> float:
        """Seconds between keep-alive pings (``ws_ping_interval``, in ms as in Jupyter; 0: none)."""
        return float(self.settings.get("ws_ping_interval", WS_PING_INTERVAL)) / 1000

    @property
    def ping_timeout(self) -> float:
        """Seconds a pong may take (``ws_ping_timeout`` in ms; at most the interval, Tornado's
        bound)."""
        timeout = self.settings.get("ws_ping_timeout")
        interval = self.ping_interval
        return interval if timeout is None else min(float(timeout) / 1000, interval)

    def open(self, *args: Any, **kwargs: Any) -> Any:
        """Tornado's ``open`` (not WebSocketMixin's, which would start a second pinger)."""
        return WebSocketHandler.open(self, *args, **kwargs)

    def drop_handshake_state(self) -> None:
        """Once the socket is open (call it from ``open``): let go of what only the HTTP
        handshake used, for as long as the connection lives (measured by
        ``tests/benchmarks/memory_profile.py``, about 2 KB a connection in all):

        - the response headers Tornado kept, with the login cookie Jupyter set (writing is
          disabled on an open websocket), and the request's parsed cookies (a cache Tornado
          rebuilds on demand);
        - the template namespace (``ui``: what Tornado's own ``_break_cycles`` drops when a
          request ends), the URL's and ``open``'s arguments, the output transforms;
        - then the instance's attribute table is built again at its size: Tornado's
          ``_detach_stream`` adds seven attributes to it after the handshake, which grew it.
        """
        state = self.__dict__
        for name in ("_new_cookie", "path_args", "path_kwargs", "open_args", "open_kwargs"):
            state.pop(name, None)
        self.request.__dict__.pop("_cookies", None)
        self._headers = httputil.HTTPHeaders()
        self._transforms = []
        self.ui = None  # type: ignore[assignment]
        self.__dict__ = {name: value for name, value in state.items()}  # not dict(): a copy
        # of the same size

    async def pre_get(self) -> None:
        user = self.current_user
        allowed = await ensure_async(
            self.authorizer.is_authorized(self, user, self.auth_action, AUTH_RESOURCE)
        )
        if not allowed:
            raise web.HTTPError(403)

    def identity(self) -> tuple[str, str, frozenset[str]]:
        """The user's name, display name and groups."""
        user = self.current_user
        name = str(getattr(user, "username", None) or user)
        display = str(getattr(user, "display_name", None) or getattr(user, "name", "") or name)
        return name, display, groups_of(user)

    def named_user(self) -> bool:
        return named_user(self)

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Tornado's own lines carry the request URI, and with it ``?token=`` and ``?key=``:
        these name the path only."""
        if isinstance(value, web.HTTPError):
            message = value.get_message()
            if message:
                self.log.warning(
                    "%d %s %s: %s",
                    value.status_code,
                    self.request.method,
                    self.request.path,
                    message,
                )
            return
        self.log.error(
            "notebook-sync: uncaught exception on %s %s",
            self.request.method,
            self.request.path,
            exc_info=(typ, value, tb) if typ is not None and value is not None else None,
        )

    def on_close(self) -> None:
        if self.ping_callback is not None:
            self.ping_callback.stop()
