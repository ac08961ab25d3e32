"""Fixtures that start a real redis-server (placeholder until the store work lands)."""

from __future__ import annotations
