"""Fixtures that run a real ``redis-server`` (never a fake Redis, never mocks).

- ``redis_server``: a private server for this test (appendonly on), on a free loopback port in
  the test's tmp dir, with ``stop``/``kill``/``pause``/``restart``: for fault tests.
- ``make_redis_server``: a factory for private servers with options (appendonly, password).
- ``redis_url``: one server shared by the whole run, or ``REDIS_URL`` when set.
- ``redis_prefix``: a key prefix unique to the test.

Without a ``redis-server`` binary (and, for ``redis_url``, without ``REDIS_URL``) the tests
skip with the reason, or fail when ``NOTEBOOK_SYNC_REQUIRE_REDIS=1`` (CI sets it).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest
import redis

READY_TIMEOUT = 10.0


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("NOTEBOOK_SYNC_REQUIRE_REDIS") == "1":
        pytest.fail(f"{reason} (NOTEBOOK_SYNC_REQUIRE_REDIS=1 forbids skipping)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_certificates(d: Path) -> None:
    """A throwaway CA and a server certificate for ``localhost``/127.0.0.1 (openssl CLI)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise FileNotFoundError("openssl not found: needed for a TLS redis-server")
    d.mkdir(parents=True, exist_ok=True)
    (d / "san.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    steps = [
        "req -x509 -newkey rsa:2048 -nodes -days 2 -keyout ca.key -out ca.crt",
        "req -newkey rsa:2048 -nodes -keyout server.key -out server.csr",
        "x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt"
        " -days 2 -extfile san.cnf",
    ]
    subjects = [["-subj", "/CN=nbsync test CA"], ["-subj", "/CN=localhost"], []]
    for step, subject in zip(steps, subjects, strict=True):
        subprocess.run(
            [openssl, *step.split(), *subject],
            cwd=d,
            check=True,
            capture_output=True,
            timeout=60,
        )


class RedisServer:
    """One ``redis-server`` process on 127.0.0.1, its data and log in ``directory``."""

    def __init__(
        self,
        directory: Path,
        *,
        appendonly: bool = True,
        password: str | None = None,
        binary: str | None = None,
        port: int | None = None,
        tls: bool = False,
        extra_args: list[str] | None = None,
        certificates: Path | None = None,
    ) -> None:
        found = binary or shutil.which("redis-server")
        if found is None:
            raise FileNotFoundError("redis-server binary not found on PATH")
        self.binary = found
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.appendonly = appendonly
        self.password = password
        self.port = port or _free_port()
        self.tls = tls
        self.extra_args = list(extra_args or [])  # more redis-server options (cluster, replicaof)
        self.process: subprocess.Popen[bytes] | None = None
        # TLS: the CA and certificate in ``certificates`` (shared by a cluster's nodes), else
        # made in ``directory``
        self.cert_dir = certificates or directory
        if tls and not (self.cert_dir / "server.crt").exists():
            self._make_certificates()

    @property
    def ca_file(self) -> Path:
        return self.cert_dir / "ca.crt"

    def _make_certificates(self) -> None:
        make_certificates(self.cert_dir)

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        scheme, host = ("rediss", "localhost") if self.tls else ("redis", "127.0.0.1")
        return f"{scheme}://{auth}{host}:{self.port}/0"

    @property
    def logfile(self) -> Path:
        return self.directory / "redis.log"

    def __repr__(self) -> str:
        return f"RedisServer(port={self.port}, appendonly={self.appendonly}, tls={self.tls})"

    def client(self) -> redis.Redis:
        """A synchronous client (for inspection from tests)."""
        return redis.Redis(
            host="127.0.0.1",
            port=self.port,
            password=self.password,
            socket_timeout=2,
            socket_connect_timeout=2,
            ssl=self.tls,
            ssl_ca_certs=str(self.ca_file) if self.tls else None,
            ssl_check_hostname=False,
        )

    def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("already running")
        ports = (
            ["--port", "0", "--tls-port", str(self.port)]
            if self.tls
            else ["--port", str(self.port)]
        )
        args = [
            self.binary,
            *ports,
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.directory),
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--daemonize",
            "no",
            "--logfile",
            str(self.logfile),
        ]
        if self.password:
            args += ["--requirepass", self.password]
        if self.tls:
            d = self.cert_dir
            args += ["--tls-cert-file", str(d / "server.crt"), "--tls-key-file"]
            args += [str(d / "server.key"), "--tls-ca-cert-file", str(self.ca_file)]
            args += ["--tls-auth-clients", "no"]
        args += self.extra_args
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_ready()

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> float:
        """Poll PING until it answers; the seconds it took."""
        start = time.monotonic()
        last: Exception | None = None
        while time.monotonic() - start < timeout:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited early:\n{self._log_tail()}")
            try:
                with self.client() as c:
                    if c.ping():
                        return time.monotonic() - start
            except redis.RedisError as exc:
                last = exc
            time.sleep(0.02)  # poll interval of a bounded readiness loop
        raise RuntimeError(
            f"redis-server not ready after {timeout} s ({last}):\n{self._log_tail()}"
        )

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return "(no log)"

    def _wait_exit(self, timeout: float = 10.0) -> None:
        assert self.process is not None
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout)
        self.process = None

    def stop(self) -> None:
        """Graceful shutdown (SIGTERM: redis fsyncs the AOF and exits)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.resume()
            self.process.terminate()
        self._wait_exit()

    def kill(self) -> None:
        """SIGKILL: no shutdown work at all."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
        self._wait_exit()

    def pause(self) -> None:
        """SIGSTOP: the port stays open but nothing answers (a hung server)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)

    def restart(self, *, kill: bool = False) -> None:
        """Stop (or kill) and start again on the same port and data directory."""
        if kill:
            self.kill()
        else:
            self.stop()
        self.start()


MakeRedisServer = Callable[..., RedisServer]


@pytest.fixture
def make_redis_server(tmp_path: Path) -> Iterator[MakeRedisServer]:
    """Factory of private servers: ``make_redis_server(appendonly=..., password=...)``."""
    if shutil.which("redis-server") is None:
        _unavailable("redis-server binary not found: fault tests need their own server")
    servers: list[RedisServer] = []

    def make(**kwargs: object) -> RedisServer:
        server = RedisServer(tmp_path / f"redis-{len(servers)}", **kwargs)  # type: ignore[arg-type]
        servers.append(server)
        server.start()
        return server

    yield make
    for server in servers:
        server.kill()


@pytest.fixture
def redis_server(make_redis_server: MakeRedisServer) -> RedisServer:
    """A private redis-server for this test (appendonly on)."""
    return make_redis_server(appendonly=True)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a Redis shared by the whole run: ``REDIS_URL`` if set, else our own."""
    env = os.environ.get("REDIS_URL")
    if env:
        yield env
        return
    if shutil.which("redis-server") is None:
        _unavailable("no redis-server binary and no REDIS_URL")
    server = RedisServer(tmp_path_factory.mktemp("redis-shared"), appendonly=False)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix of this test alone."""
    return f"nbsync-test-{uuid.uuid4().hex[:12]}:"
