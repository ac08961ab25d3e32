"""Run a real ``jupyter server`` with the extension as a child process: for tests, benchmarks
and the classroom demo. (The pytest fixtures around it are in :mod:`.plugin`.)"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _trait_arg(name: str, value: Any) -> str:
    if isinstance(value, bool):
        text = "True" if value else "False"
    elif isinstance(value, (list, tuple)):
        text = json.dumps(list(value))
    else:
        text = str(value)
    return f"--NotebookSyncExtensionApp.{name}={text}"


class JupyterServerProcess:
    """A ``python -m jupyter_server`` child process on a free loopback port, token-protected.

    The same port, token and store file (``store_path``, default ``<workdir>/store.sqlite``)
    survive :meth:`restart` (after :meth:`kill` too), so clients can reconnect to "the same
    server" and find their sessions.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        options: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
        extra_args: list[str] | None = None,
        lab: bool = False,
    ) -> None:
        self.workdir = workdir
        self.lab = lab
        self.root_dir = workdir / "notebooks"
        self.root_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.options = dict(options or {})
        # Each server its own store file, in its own directory (never the user's data directory);
        # restart() and kill() keep it, as a real server's restart would.
        self.options.setdefault("store_path", str(workdir / "store.sqlite"))
        self.env = dict(env or {})
        self.extra_args = list(extra_args or [])
        self.log_path = workdir / f"jupyter-server-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/notebook-sync/ws"

    def command(self) -> list[str]:
        args = [
            sys.executable,
            "-m",
            "jupyter_server",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            "--ServerApp.open_browser=False",
            f"--ServerApp.root_dir={self.root_dir}",
            "--ServerApp.allow_root=True",
        ]
        args += [_trait_arg(k, v) for k, v in self.options.items()]
        return args + self.extra_args

    def write_config(self, config_dir: Path) -> None:
        """Only the extensions the server needs (faster start, quieter logs), unless a test
        asks for more with ``lab=True``."""
        config_dir.mkdir(parents=True, exist_ok=True)
        extensions = {"notebook_sync_ydoc": True}
        if not self.lab:
            extensions.update(
                jupyterlab=False,
                jupyter_lsp=False,
                jupyter_server_terminals=False,
                notebook_shim=False,
            )
        config = {"ServerApp": {"jpserver_extensions": extensions}}
        (config_dir / "jupyter_server_config.json").write_text(json.dumps(config))

    def start(self, timeout: float = START_TIMEOUT) -> JupyterServerProcess:
        env = {**os.environ, **self.env}
        env.setdefault("JUPYTER_CONFIG_DIR", str(self.workdir / "config"))
        env.setdefault("JUPYTER_RUNTIME_DIR", str(self.workdir / "runtime"))
        env.setdefault("JUPYTER_DATA_DIR", str(self.workdir / "data"))
        self.write_config(Path(env["JUPYTER_CONFIG_DIR"]))
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            self.command(),
            stdin=subprocess.DEVNULL,  # as under JupyterHub or a service manager: no terminal
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.workdir,
        )
        log.close()
        self.starts += 1
        self.wait_ready(timeout)
        return self

    def status(self, timeout: float = 5.0) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310 - loopback http only
            self.base_url + "notebook-sync/status",
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            data: dict[str, Any] = json.loads(response.read())
            return data

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"jupyter server exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            try:
                self.status(timeout=2.0)
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                time.sleep(0.05)  # polling a readiness condition with a deadline
        raise TimeoutError(f"jupyter server not ready in {timeout} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout)

    def interrupt(self, timeout: float = 15.0) -> int:
        """SIGINT, as JupyterHub stops a local single-user server; the exit status."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks run (a crashed server)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(15)

    def restart(self, timeout: float = START_TIMEOUT) -> JupyterServerProcess:
        self.stop()
        return self.start(timeout)
