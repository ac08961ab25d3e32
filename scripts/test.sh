#!/usr/bin/env bash
# The whole test suite from a clean checkout: .venv with the test extra, redis-server and
# Debian's Chromium when missing (as root), ruff, mypy, the frontend unit tests, then pytest;
# the browser tests again with jupyter-collaboration (scripts/collaboration.sh); last the
# JupyterHub stage (deploy/jupyterhub: the hub extra and configurable-http-proxy).
# Without redis-server or Chromium those tests skip with a reason, unless
# NOTEBOOK_SYNC_REQUIRE_REDIS=1 / NBSYNC_REQUIRE_BROWSER=1 (CI sets both) turn that into failures.
# Extra arguments go to pytest (e.g. -k merge, -m "not browser").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
EXTRAS=test
source scripts/setup.sh

command -v redis-server >/dev/null 2>&1 || apt_install redis-server || true
[ -x "${NBSYNC_CHROMIUM:-/usr/bin/chromium}" ] || apt_install chromium || true
# validates docker-compose.yml (no engine needed; Docker cannot run on CI machines)
{ docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1; } \
  || apt_install docker-compose || true

log "ruff"
"$VENV/bin/ruff" check notebook_sync_ydoc tests examples scripts deploy hatch_build.py
"$VENV/bin/ruff" format --check notebook_sync_ydoc tests examples scripts deploy hatch_build.py

log "mypy (strict) over the package"
"$VENV/bin/python" -m mypy

log "frontend: types generated from the schema, Prettier, ESLint; unit tests (node --test)"
PATH="$VENV/bin:$PATH" jlpm lint:check
PATH="$VENV/bin:$PATH" jlpm test

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ $# -gt 0 ]; then
  exec "$VENV/bin/python" -m pytest "$@"
fi
# Two processes: Playwright's sync API keeps an event loop running for its session, which
# pytest-asyncio's tests must not share.
log "pytest: servers, Redis, stores, merges"
"$VENV/bin/python" -m pytest -m "not browser"
log "pytest: browser (Chromium)"
"$VENV/bin/python" -m pytest -m browser tests/browser
source scripts/collaboration.sh
log "pytest: browser again, with jupyter-collaboration $COLLAB_VERSION (notebooks shared by tabs)"
NBSYNC_EXTRA_PREFIX="$NBSYNC_COLLAB_PREFIX" NBSYNC_EXPECT_COLLABORATION=1 \
  "$VENV/bin/python" -m pytest -m browser tests/browser
# A real JupyterHub from deploy/jupyterhub: its set-up (the hub extra, configurable-http-proxy
# from npm into .venv/chp), each part only when missing, then the hub, a server per user, Redis
# and Chromium through the hub's URL.
log "JupyterHub: set-up (deploy/jupyterhub/setup.sh)"
source deploy/jupyterhub/setup.sh
log "pytest: JupyterHub (deploy/jupyterhub)"
"$VENV/bin/python" -m pytest -m hub tests/hub
