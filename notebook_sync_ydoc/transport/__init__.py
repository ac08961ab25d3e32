"""Tornado only: the handlers (sync socket, follow socket, status), their shared base and the
route table. Use cases live in :mod:`..session`; handlers hand connections to it."""

from __future__ import annotations

from .base import AUTH_RESOURCE
from .routes import routes

__all__ = ["AUTH_RESOURCE", "routes"]
