#!/usr/bin/env bash
# Run JupyterLab with notebook-sync-ydoc: embedded store by default, Redis when REDIS_URL is set.
# Extra arguments go to `jupyter lab` (e.g. `make lab ARGS=--port=9999`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
args=()
[ "$(id -u)" = 0 ] && args+=(--allow-root)

# The port asked for (8888 unless --port/--ServerApp.port says otherwise) may be taken, by another
# `make lab` for instance. Jupyter then moves to the next free port by itself: say so, so nobody
# opens the old server's URL.
port=8888
for a in "$@"; do
  case "$a" in --port=*|--ServerApp.port=*) port=${a#*=} ;; esac
done
if "$VENV/bin/python" -c "import socket,sys; s=socket.socket(); s.settimeout(0.5); sys.exit(s.connect_ex(('127.0.0.1', $port)) != 0)" 2>/dev/null; then
  log "port $port is already in use (another JupyterLab? \`$VENV/bin/jupyter server list\` shows them):"
  log "this one starts on the next free port: open the URL it prints below, not :$port"
fi
log "starting JupyterLab (stop it with Ctrl-C)"
exec "$VENV/bin/jupyter" lab "${args[@]}" "$@"
