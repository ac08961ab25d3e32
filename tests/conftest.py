"""Shared test configuration. Redis fixtures live in tests/redis_fixtures.py."""

from __future__ import annotations

pytest_plugins = ["redis_fixtures"]
