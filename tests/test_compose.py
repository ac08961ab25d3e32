"""docker-compose.yml (Redis plus a teacher's and a student's Jupyter server) is a valid Compose
file. Docker cannot run here, but `docker compose config` / `docker-compose config` validate it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def compose_command() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, check=False, timeout=30
        )
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_compose_file_is_valid() -> None:
    command = compose_command()
    if command is None:
        pytest.skip("no docker compose / docker-compose client to validate with")
    env = {**os.environ, "JUPYTER_TOKEN": "validation-only"}
    proc = subprocess.run(
        [*command, "-f", str(ROOT / "docker-compose.yml"), "config"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    for service in ("redis:", "teacher:", "student:"):
        assert service in proc.stdout
    assert "REDIS_URL: redis://redis:6379/0" in proc.stdout


def test_compose_refuses_to_start_without_a_token() -> None:
    command = compose_command()
    if command is None:
        pytest.skip("no docker compose / docker-compose client to validate with")
    env = {k: v for k, v in os.environ.items() if k != "JUPYTER_TOKEN"}
    proc = subprocess.run(
        [*command, "-f", str(ROOT / "docker-compose.yml"), "config"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "JUPYTER_TOKEN" in proc.stderr
