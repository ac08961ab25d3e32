"""A real JupyterHub for the tests (conftest.py has the fixtures): started from
deploy/jupyterhub/jupyterhub_config.py (the documented file), with configurable-http-proxy from
npm, one ``jupyterhub-singleuser`` per user and a private ``redis-server``, all on loopback ports
and in a temporary folder.

The environment variables the config file reads are the only thing changed (ports, the state
folder, Redis, the environment, the admin token). Without jupyterhub, configurable-http-proxy,
redis-server, Playwright or Chromium the tests skip with the reason, unless
NBSYNC_REQUIRE_BROWSER=1 (CI sets it) makes that a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest
from browser.conftest import CHROMIUM, TEACHER_CELLS, _cell, write_notebook
from browser.test_classroom import Lab
from redis_fixtures import RedisServer

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "jupyterhub" / "jupyterhub_config.py"
VENV = Path(sys.prefix)
PROXY = VENV / "chp" / "node_modules" / ".bin" / "configurable-http-proxy"
TEACHER, STUDENTS = "alice", ("bob", "carol")
USERS = (TEACHER, *STUDENTS)
FAILURES = ROOT / "test-results" / "hub"
HUB_READY_SECONDS = 60
SERVER_READY_SECONDS = 150


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("NBSYNC_REQUIRE_BROWSER") == "1":
        pytest.fail(f"the hub test is required but {reason} (NBSYNC_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


def missing() -> str | None:
    """Why the hub test cannot run here, or None."""
    try:
        import jupyterhub  # noqa: F401
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed (scripts/test.sh installs the hub extra)"
    if not (VENV / "bin" / "jupyterhub-singleuser").exists():
        return f"no jupyterhub-singleuser in {VENV}/bin"
    if not PROXY.exists() and shutil.which("configurable-http-proxy") is None:
        return f"configurable-http-proxy not found ({PROXY}; deploy/jupyterhub/setup.sh)"
    if shutil.which("redis-server") is None:
        return "redis-server not found"
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not found (apt-get install -y chromium)"
    return None


def _request(
    url: str, token: str, method: str = "GET", body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", f"token {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            return err.code, json.loads(raw)
        except ValueError:
            return err.code, raw.decode(errors="replace")


@dataclass
class Hub:
    """One running JupyterHub: its public URL, an admin token, its processes and files."""

    url: str
    admin_token: str
    password: str
    state: Path
    log: Path
    proc: subprocess.Popen[bytes]
    redis: RedisServer
    tokens: dict[str, str] = field(default_factory=dict)

    # -- the hub's REST API (as the nbsync-admin service of the config) -------------------------
    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        return _request(f"{self.url}hub/api/{path}", self.admin_token, method, body)

    def server(self, user: str) -> dict[str, Any] | None:
        code, model = self.api("GET", f"users/{user}")
        assert code == 200, (code, model)
        servers: dict[str, Any] = model["servers"]
        return servers.get("")

    def log_tail(self, chars: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def wait_server(self, user: str, ready: bool, timeout: float = SERVER_READY_SECONDS) -> float:
        """Poll the hub until the user's server is ready (or gone); the seconds it took."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the hub exited ({self.proc.returncode}):\n{self.log_tail()}")
            server = self.server(user)
            if (server is not None and server["ready"]) if ready else server is None:
                return time.monotonic() - start
            time.sleep(0.2)  # polling the hub's API with a deadline
        state = "ready" if ready else "stopped"
        raise RuntimeError(f"{user}'s server not {state} in {timeout} s:\n{self.log_tail()}")

    def start_server(self, user: str) -> float:
        start = time.monotonic()
        code, body = self.api("POST", f"users/{user}/server")
        # 201: started; 202: still starting; 400: already running
        assert code in (201, 202, 400), (code, body, self.log_tail())
        self.wait_server(user, ready=True)
        return time.monotonic() - start

    def stop_server(self, user: str) -> float:
        start = time.monotonic()
        code, body = self.api("DELETE", f"users/{user}/server")
        assert code in (202, 204), (code, body)
        self.wait_server(user, ready=False)
        return time.monotonic() - start

    # -- a user's own server, as that user -------------------------------------------------------
    def token(self, user: str) -> str:
        """An API token of ``user`` (made once per test run, by the admin service)."""
        if user not in self.tokens:
            code, model = self.api(
                "POST", f"users/{user}/tokens", {"note": "nbsync hub test", "expires_in": 3600}
            )
            assert code == 201, (code, model)
            self.tokens[user] = model["token"]
        return self.tokens[user]

    def user_url(self, user: str) -> str:
        return f"{self.url}user/{user}/"

    def status(self, user: str) -> dict[str, Any]:
        code, status = _request(f"{self.user_url(user)}notebook-sync/status", self.token(user))
        assert code == 200, (code, status)
        result: dict[str, Any] = status
        return result


@dataclass
class HubUser:
    """What ``browser.test_classroom.Lab`` needs of a server: the URL of a notebook page."""

    hub: Hub
    name: str

    def page_url(self, path: str) -> str:
        return f"{self.hub.user_url(self.name)}lab/tree/{path}?reset"


def prepare_homes(homes: Path) -> None:
    """The users' notebooks, and no "fetch Jupyter news?" toast over the pages."""
    for user in USERS:
        home = homes / user
        settings = home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab"
        (settings / "apputils-extension").mkdir(parents=True)
        (settings / "apputils-extension" / "notification.jupyterlab-settings").write_text(
            '{"fetchNews": "false"}'
        )
        if user == TEACHER:
            write_notebook(home / "teacher.ipynb", [_cell(*c) for c in TEACHER_CELLS])
        else:
            write_notebook(home / "student.ipynb", [_cell("s-notes", "code", "# my notes")])


def leftover_pids(state: Path) -> list[int]:
    """Processes the hub recorded and may have left (it clears them when it stops them)."""
    pids: list[int] = []
    db = state / "jupyterhub.sqlite"
    if db.exists():
        with sqlite3.connect(db) as conn:
            for (raw,) in conn.execute("SELECT state FROM spawners"):
                pid = json.loads(raw or "{}").get("pid")
                if isinstance(pid, int):
                    pids.append(pid)
    pid_file = state / "jupyterhub-proxy.pid"
    if pid_file.exists():
        text = pid_file.read_text().strip()
        if text.isdigit():
            pids.append(int(text))
    return pids


def stop_hub(hub: Hub) -> None:
    """SIGTERM: the hub stops every user's server and the proxy (cleanup_servers,
    cleanup_proxy); whatever still runs after that is killed."""
    if hub.proc.poll() is None:
        hub.proc.terminate()
        try:
            hub.proc.wait(timeout=45)
        except subprocess.TimeoutExpired:
            os.killpg(hub.proc.pid, signal.SIGKILL)
            hub.proc.wait(timeout=10)
    for pid in leftover_pids(hub.state):
        try:
            os.kill(pid, signal.SIGKILL)
            print(f"killed pid {pid}, left running by the hub")
        except ProcessLookupError:
            pass
    if os.environ.get("NBSYNC_SHOW_HUB_LOG"):
        print(hub.log_tail(20000))


def wait_hub(hub: Hub) -> None:
    """Until the hub answers through the proxy (both are up, the route is in place)."""
    deadline = time.monotonic() + HUB_READY_SECONDS
    while time.monotonic() < deadline:
        if hub.proc.poll() is not None:
            raise RuntimeError(f"jupyterhub exited ({hub.proc.returncode}):\n{hub.log_tail()}")
        try:
            code, body = hub.api("GET", "")
            if code == 200 and isinstance(body, dict) and "version" in body:
                return
        except OSError:
            pass
        time.sleep(0.2)  # polling a starting process with a deadline
    raise RuntimeError(f"jupyterhub did not answer in {HUB_READY_SECONDS} s:\n{hub.log_tail()}")


Login = Callable[[str, str], Lab]  # login(user, notebook): that user's page, notebook open
