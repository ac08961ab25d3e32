"""JupyterHub with notebook-sync on one machine: a teacher, two students, one Redis.

Start it with ``deploy/jupyterhub/run.sh`` (README.md beside this file). The lines marked
``# notebook-sync`` are all that an existing hub needs; the rest makes a self-contained demo.
``tests/hub`` starts the hub from this very file, changing only what the environment variables
below set (ports, state folder, Redis, password, admin token), so what is documented is tested.

Environment (all optional except the password):

- ``NBSYNC_HUB_PASSWORD``: the shared password of the demo users (8 characters or more).
- ``REDIS_URL``: the Redis every single-user server shares (default redis://127.0.0.1:6379/0).
- ``NBSYNC_HUB_STATE``: the hub's database, cookie secret, proxy pid file and the users' home
  folders (default: ``state/`` beside this file).
- ``NBSYNC_HUB_BIND_URL``: the public URL (default http://127.0.0.1:8000); ``NBSYNC_HUB_API_URL``
  the hub's own API (default http://127.0.0.1:8081); ``NBSYNC_HUB_PROXY_API_URL`` the proxy's
  REST API (default http://127.0.0.1:8001).
- ``NBSYNC_HUB_VENV``: the environment holding ``jupyterhub-singleuser`` (with notebook-sync) and
  ``chp/`` (configurable-http-proxy from npm); default: the one running the hub.
- ``NBSYNC_HUB_ADMIN_TOKEN``: if set (8 characters or more), an API token (service
  ``nbsync-admin``) that may start and stop servers, edit groups and make user tokens: for
  scripts, and for the tests.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

c = get_config()  # type: ignore[name-defined]  # noqa: F821 -- provided by JupyterHub

HERE = Path(__file__).resolve().parent
STATE = Path(os.environ.get("NBSYNC_HUB_STATE") or HERE / "state").resolve()
VENV = Path(os.environ.get("NBSYNC_HUB_VENV") or sys.prefix).resolve()
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"

TEACHERS = ["alice"]
STUDENTS = ["bob", "carol"]

# -- notebook-sync: the lines an existing hub adds ----------------------------------------------
# Every single-user server talks to the same Redis: a session made on the teacher's server is
# joinable from every student's server.
c.Spawner.environment = {"REDIS_URL": REDIS_URL}  # notebook-sync
# Only members of the hub group "teachers" may start a session. The single-user servers see the
# group through the hub's identity of the user: its whoami answer always carries the user's own
# name and groups (every token holds the identify scopes read:users:name!user and
# read:users:groups!user; checked on JupyterHub 6.1.1), so no further scope or role is needed.
# The server caches that answer for HubOAuth.cache_max_age (300 s): a group change reaches a
# running server within that time, or at once when the user's server is restarted.
c.Spawner.args = ["--NotebookSyncExtensionApp.teacher_groups=teachers"]  # notebook-sync
c.JupyterHub.load_groups = {"teachers": {"users": TEACHERS}}  # notebook-sync

# -- the demo: users, spawner, proxy, state --------------------------------------------------------
# One shared password, users allowed by name (JupyterHub 5.3's SharedPasswordAuthenticator).
# Anyone with the password can log in as any of these users: a demo on one machine only.
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = os.environ.get("NBSYNC_HUB_PASSWORD")
c.Authenticator.allowed_users = set(TEACHERS + STUDENTS)

# Every user's server is a local process of the hub's own Unix user, in its own home folder
# (no system accounts needed; no isolation between users: never for real classes, where
# DockerSpawner or KubeSpawner with the package in the image does the same job).
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = str(STATE / "homes" / "{username}")
c.Spawner.cmd = [str(VENV / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
if os.getuid() == 0:
    # The servers run as the hub's own user; Jupyter refuses root unless told (containers, CI).
    c.Spawner.args.append("--allow-root")
# A server starts JupyterLab and its extensions: allow for a busy small machine.
c.Spawner.http_timeout = 90
c.Spawner.start_timeout = 120

c.JupyterHub.bind_url = os.environ.get("NBSYNC_HUB_BIND_URL") or "http://127.0.0.1:8000"
c.JupyterHub.hub_bind_url = os.environ.get("NBSYNC_HUB_API_URL") or "http://127.0.0.1:8081"
c.ConfigurableHTTPProxy.api_url = (
    os.environ.get("NBSYNC_HUB_PROXY_API_URL") or "http://127.0.0.1:8001"
)
# configurable-http-proxy from npm, installed into the environment (run.sh), else from PATH.
_proxy = VENV / "chp" / "node_modules" / ".bin" / "configurable-http-proxy"
c.ConfigurableHTTPProxy.command = [
    str(_proxy) if _proxy.exists() else shutil.which("configurable-http-proxy") or str(_proxy)
]
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
# Stopping the hub stops the proxy and every user's server (the defaults, stated).
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

_admin_token = os.environ.get("NBSYNC_HUB_ADMIN_TOKEN")
if _admin_token:
    c.JupyterHub.services = [{"name": "nbsync-admin", "api_token": _admin_token}]
    c.JupyterHub.load_roles = [
        {
            "name": "nbsync-admin",
            "scopes": ["admin:users", "admin:servers", "admin:groups", "tokens"],
            "services": ["nbsync-admin"],
        }
    ]

STATE.mkdir(parents=True, exist_ok=True)
