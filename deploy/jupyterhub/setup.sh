#!/usr/bin/env bash
# What the demo hub needs, in the project's environment and nowhere else; sourced by run.sh
# beside this file and by scripts/test.sh's hub stage. Each step runs only when needed:
#   1. scripts/setup.sh with the `hub` extra: .venv with notebook-sync, JupyterLab and
#      JupyterHub (the version pyproject.toml pins), the frontend built.
#   2. configurable-http-proxy from npm into $VENV/chp (npm install --prefix: never global),
#      when it is missing there or another version.
set -euo pipefail
CHP_VERSION=5.3.0
EXTRAS="hub${EXTRAS:+,$EXTRAS}"
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/setup.sh"

CHP_DIR="$VENV/chp"
chp_have=$(node -p 'require(process.argv[1]).version' \
  "$CHP_DIR/node_modules/configurable-http-proxy/package.json" 2>/dev/null || true)
if [ "$chp_have" = "$CHP_VERSION" ] && [ -x "$CHP_DIR/node_modules/.bin/configurable-http-proxy" ]
then
  log "configurable-http-proxy $CHP_VERSION: installed in $CHP_DIR"
else
  log "npm install configurable-http-proxy@$CHP_VERSION into $CHP_DIR:" \
    "$([ -n "$chp_have" ] && echo "version $chp_have there" || echo "not there yet")"
  npm install --prefix "$CHP_DIR" --no-audit --no-fund --loglevel=error \
    "configurable-http-proxy@$CHP_VERSION" >/dev/null
fi
