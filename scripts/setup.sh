#!/usr/bin/env bash
# Creates .venv and installs this checkout into it (the frontend is built on the way: needs
# Node.js, which `jlpm` from JupyterLab drives). Sourced by lab.sh and test.sh; safe to re-run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
log() { printf '==> %s\n' "$*" >&2; }

apt_install() {  # install Debian packages when we may (root with apt-get), else say what is missing
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing $* (Debian packages)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    log "missing: $* -- install them with your package manager"
    return 1
  fi
}

command -v node >/dev/null 2>&1 || apt_install nodejs npm || {
  log "Node.js is needed to build the JupyterLab frontend from a source checkout"; exit 1; }

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  log "$PYTHON is $("$PYTHON" -V 2>&1); notebook-sync-ydoc needs Python 3.11 or newer (PYTHON=python3.12 make ...)"
  exit 1; }

if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
fi
log "installing notebook-sync-ydoc ${EXTRAS:-} into $VENV (first time: builds the frontend)"
"$VENV/bin/python" -m pip install -q -e ".${EXTRAS:-}"
