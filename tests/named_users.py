"""An identity provider for tests: each test token is a named user with groups, as JupyterHub's
users are (``hub_user``), without running a hub. Loaded by the server under test through
``--ServerApp.identity_provider_class=named_users.NamedTokenUsers`` with tests/ on its path.

The server's own token still logs in jupyter_server's anonymous user (the test harness uses it
for ``status``)."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.identity import IdentityProvider, User
from tornado import web
from traitlets import Dict

__all__ = ["NamedTokenUsers", "token_arg"]


class NamedTokenUsers(IdentityProvider):
    users = Dict(
        config=True, help='token -> "name:group,group" (a user and their JupyterHub groups)'
    )

    async def get_user(self, handler: web.RequestHandler) -> User | None:
        header = handler.request.headers.get("Authorization", "")
        token = header.removeprefix("token ").strip()
        entry = self.users.get(token) if token else None
        if entry is None:
            user = super().get_user(handler)
            return await user if hasattr(user, "__await__") else user  # type: ignore[misc]
        name, _, groups = str(entry).partition(":")
        user = User(username=name, name=name, display_name=name.title())
        # the shape JupyterHub's users have in a single-user server
        user.hub_user = {"name": name, "groups": [g for g in groups.split(",") if g]}  # type: ignore[attr-defined]
        return user


def token_arg(users: dict[str, str]) -> list[str]:
    """The command-line arguments that make a test server use these users."""
    import json

    pairs: dict[str, Any] = dict(users)
    return [
        "--ServerApp.identity_provider_class=named_users.NamedTokenUsers",
        f"--NamedTokenUsers.users={json.dumps(pairs)}",
    ]
