#!/usr/bin/env bash
# Run JupyterLab with notebook-sync-ydoc: embedded store by default, Redis when REDIS_URL is set.
# Extra arguments go to `jupyter lab` (e.g. --port=9999).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
args=()
[ "$(id -u)" = 0 ] && args+=(--allow-root)
exec "$VENV/bin/jupyter" lab "${args[@]}" "$@"
