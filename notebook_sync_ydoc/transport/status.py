"""``GET /notebook-sync/status``: version, mode, store kind and health, counts; never a secret."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

from ..session import SyncService
from .base import AUTH_RESOURCE, groups_of, named_user

__all__ = ["StatusHandler"]


class StatusHandler(ExtensionHandlerMixin, APIHandler):
    """``GET /notebook-sync/status``: version, mode, store kind and health, counts."""

    auth_resource = AUTH_RESOURCE

    def initialize(
        self, name: str, service: SyncService, status: Callable[[], dict[str, Any]]
    ) -> None:
        super().initialize(name)
        self.service = service
        self.status = status

    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.service.ensure_started()
        status = self.status()
        user = self.current_user
        name = str(getattr(user, "username", None) or user)
        groups = groups_of(user)
        access = self.service.access
        status["teaching"] = {
            "policy": access.policy(),
            "teacher_users": sorted(access.teacher_users),
            "teacher_groups": sorted(access.teacher_groups),
            "you": {
                "user": name,
                # False: jupyter_server's anonymous user of a shared token (no JupyterHub)
                "named": named_user(self),
                "groups": sorted(groups),
                "may_teach": access.may_teach_identity(name, groups),
            },
        }
        health = await self.service.store_health()
        status["store"] = health
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(status))
