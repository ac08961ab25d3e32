#!/usr/bin/env bash
# JupyterHub with notebook-sync on this machine: http://127.0.0.1:8000, users alice (teacher,
# group "teachers"), bob and carol (students), each with their own server, sharing one Redis.
#   bash deploy/jupyterhub/run.sh
# Sets up .venv first (setup.sh beside this file). Environment: NBSYNC_HUB_PASSWORD (the users'
# password; made up and printed when unset), REDIS_URL (default redis://127.0.0.1:6379/0), and
# the rest that jupyterhub_config.py lists. Ctrl+C stops the hub, the proxy and every server.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
HUB_DIR="$PWD/deploy/jupyterhub"

export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
if ! "$VENV/bin/python" - "$REDIS_URL" <<'EOF'
import sys

import redis

try:
    redis.Redis.from_url(sys.argv[1], socket_connect_timeout=3).ping()
except redis.RedisError as exc:
    sys.exit(f"==> no Redis at REDIS_URL ({type(exc).__name__}: {exc})")
EOF
then
  log "start one (redis-server, or: docker run -p 127.0.0.1:6379:6379 redis:7), or set REDIS_URL"
  exit 1
fi

if [ -z "${NBSYNC_HUB_PASSWORD:-}" ]; then
  NBSYNC_HUB_PASSWORD=$("$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(9))')
  export NBSYNC_HUB_PASSWORD
  log "the users' password (NBSYNC_HUB_PASSWORD): $NBSYNC_HUB_PASSWORD"
fi
state=${NBSYNC_HUB_STATE:-$HUB_DIR/state}
mkdir -p "$state"
log "JupyterHub at ${NBSYNC_HUB_BIND_URL:-http://127.0.0.1:8000}: log in as alice (teacher)," \
  "bob or carol (students); its database and the users' homes are in $state"
cd "$state"
exec "$VENV/bin/jupyterhub" -f "$HUB_DIR/jupyterhub_config.py" "$@"
