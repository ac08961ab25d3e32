"""Browser tests: a real ``jupyter lab`` process and Debian's Chromium driven by Playwright.

Skipped (not failed) when Playwright or Chromium is missing, unless NBSYNC_REQUIRE_BROWSER=1
(set by CI) turns the skip into a failure. Chromium: ``apt-get install -y chromium``; never a
downloaded browser (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("NBSYNC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
ROOT = Path(__file__).resolve().parents[2]
# Every run saves its screenshots under test-results/; NBSYNC_UPDATE_SCREENSHOTS=1 refreshes the
# committed ones in docs/screenshots/ that the README shows.
SCREENSHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("NBSYNC_UPDATE_SCREENSHOTS") == "1"
    else ROOT / "test-results" / "screenshots"
)


def _missing_browser() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "python playwright is not installed"
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not found (apt-get install -y chromium)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _missing_browser()
    if reason is None:
        return
    if os.environ.get("NBSYNC_REQUIRE_BROWSER") == "1":
        raise pytest.UsageError(f"browser tests required but {reason}")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cell(cell_id: str, cell_type: str, source: str) -> dict[str, Any]:
    cell: dict[str, Any] = {"id": cell_id, "cell_type": cell_type, "metadata": {}, "source": source}
    if cell_type == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def write_notebook(path: Path, cells: list[dict[str, Any]]) -> None:
    nb = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb, indent=1))


TEACHER_CELLS = [
    ("t-intro", "markdown", "# Lesson 1"),
    ("t-sum", "code", "x = 1\ny = 2\nprint(x + y)"),
    ("t-func", "code", "def f(a):\n    return a\n\nf(3)"),
]


@dataclass
class LabServer:
    url: str
    token: str
    root: Path
    proc: subprocess.Popen[bytes]
    log: Path
    cmd: list[str] = field(default_factory=list)  # how it was started, for restart_lab
    env: dict[str, str] = field(default_factory=dict)

    def page_url(self, path: str) -> str:
        return f"{self.url}lab/tree/{path}?reset&token={self.token}"

    def status(self) -> dict[str, Any]:
        with urllib.request.urlopen(
            f"{self.url}notebook-sync/status?token={self.token}", timeout=5
        ) as r:
            return json.loads(r.read())

    def kill(self) -> None:
        """SIGKILL, as a crash or an out-of-memory kill would: no shutdown hook runs."""
        self.proc.kill()
        self.proc.wait(timeout=15)

    def restart(self) -> float:
        """Start the same server again (port, token, root, store file); seconds until it
        answers."""
        started = time.monotonic()
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.cmd, stdout=out, stderr=subprocess.STDOUT, env=self.env, cwd=self.root
            )
        _wait_ready(self)
        return time.monotonic() - started


def _start_lab(tmp: Path, extra_args: list[str] | None = None) -> LabServer:
    tmp.mkdir(parents=True, exist_ok=True)
    root = tmp / "root"
    root.mkdir()
    write_notebook(root / "teacher.ipynb", [_cell(*c) for c in TEACHER_CELLS])
    write_notebook(root / "student.ipynb", [_cell("s-notes", "code", "# my notes")])
    port = free_port()
    token = uuid.uuid4().hex
    home = tmp / "home"
    for sub in ("config", "data", "runtime", "settings", "workspaces"):
        (home / sub).mkdir(parents=True)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
    }
    env.pop("REDIS_URL", None)
    extra_prefix = os.environ.get("NBSYNC_EXTRA_PREFIX")
    if extra_prefix:
        # Packages installed with `pip install --prefix DIR` (e.g. jupyter-collaboration, to run
        # the suite once with the notebook's shared model on the server) without touching the venv.
        pfx = Path(extra_prefix)
        site = next(pfx.glob("lib/python3*/site-packages"))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), env.get("PYTHONPATH", "")) if p)
        env["JUPYTER_PATH"] = str(pfx / "share" / "jupyter")
        env["JUPYTER_CONFIG_PATH"] = str(pfx / "etc" / "jupyter")
    # No "get notified about Jupyter news?" toast over the pages.
    notification = home / "settings" / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    log = tmp / "jupyter-lab.log"
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent)) or "jupyter"
    cmd = [
        jupyter,
        "lab",
        "--no-browser",
        "--allow-root",
        f"--port={port}",
        "--ip=127.0.0.1",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}",
        "--ServerApp.port_retries=0",
        "--LabApp.extension_manager=readonly",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        # Explicit, so the test does not depend on where pip put the server config.
        "--ServerApp.jpserver_extensions=notebook_sync_ydoc=True",
        # This server's own store file (never the user's data directory)
        f"--NotebookSyncExtensionApp.store_path={tmp / 'store.sqlite'}",
        *(extra_args or []),
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root)
    url = f"http://127.0.0.1:{port}/"
    server = LabServer(url=url, token=token, root=root, proc=proc, log=log, cmd=cmd, env=env)
    try:
        _wait_ready(server)
    except BaseException:
        _stop_lab(server)  # a server that failed its start must not outlive the test
        raise
    return server


def _wait_ready(server: LabServer) -> None:
    proc, log = server.proc, server.log
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited early:\n{log.read_text()[-4000:]}")
        try:
            status = server.status()
            if status:
                if os.environ.get("NBSYNC_EXPECT_COLLABORATION") == "1":
                    assert "jupyter_server_ydoc | extension was successfully loaded" in (
                        log.read_text()
                    ), "jupyter-collaboration was expected but is not loaded"
                return
        except OSError:
            pass
        time.sleep(0.25)  # polling a starting process, not synchronising the test
    proc.terminate()
    raise RuntimeError(f"jupyter lab did not answer in 60 s:\n{log.read_text()[-4000:]}")


def _stop_lab(server: LabServer) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait(timeout=5)
    if os.environ.get("NBSYNC_SHOW_LAB_LOG"):
        print(server.log.read_text()[-8000:])


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabServer]:
    """A fresh ``jupyter lab`` (the default SQLite store, its file in the temporary directory;
    token auth) in a temporary root, per test."""
    server = _start_lab(tmp_path)
    try:
        yield server
    finally:
        _stop_lab(server)


@pytest.fixture
def redis_labs(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> Iterator[tuple[LabServer, LabServer]]:
    """Two ``jupyter lab`` servers (as on JupyterHub: one per user) sharing one Redis."""
    args = [
        f"--NotebookSyncExtensionApp.redis_url={redis_url}",
        f"--NotebookSyncExtensionApp.key_prefix={redis_prefix}",
    ]
    servers: list[LabServer] = []
    try:
        for name in ("teacher-server", "student-server"):
            servers.append(_start_lab(tmp_path / name, args))
        for server in servers:
            assert server.status()["store"]["kind"] == "redis", server.status()
        yield servers[0], servers[1]
    finally:
        for server in servers:
            _stop_lab(server)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()
FAILURES = Path(__file__).resolve().parents[2] / "test-results" / "browser"


@pytest.fixture
def contexts(browser: Any, request: pytest.FixtureRequest) -> Iterator[tuple[Any, Any]]:
    """Two isolated browser contexts (own localStorage): the teacher's and the student's."""
    teacher = browser.new_context(viewport={"width": 1400, "height": 900})
    student = browser.new_context(viewport={"width": 1400, "height": 900})
    for ctx in (teacher, student):
        ctx.set_default_timeout(20_000)
    try:
        yield teacher, student
    finally:
        if request.node.stash.get(_FAILED, False):
            # Keep what each person saw when the test failed (test-results/ is git-ignored).
            FAILURES.mkdir(parents=True, exist_ok=True)
            for role, ctx in (("teacher", teacher), ("student", student)):
                for n, page in enumerate(ctx.pages):
                    try:
                        page.screenshot(path=str(FAILURES / f"{request.node.name}-{role}{n}.png"))
                    except Exception as exc:
                        print(f"no screenshot of {role}: {exc}")
        teacher.close()
        student.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
