#!/usr/bin/env bash
# Sets up .venv for this checkout; sourced by lab.sh, test.sh and `make demo`. Safe to re-run in
# any order, any number of times: each step runs only when what it depends on changed, and says
# why it runs.
#   1. .venv: made with Python 3.11+; remade when it is broken or older than 3.11.
#   2. pip install -e ".[lab,EXTRAS]": when pyproject.toml or hatch_build.py changed, an extra is
#      asked for that is not installed yet, or .venv holds no editable install of this checkout.
#   3. the frontend: `jlpm install` when package.json or yarn.lock changed; `jlpm build` when
#      src/, style/, schema/, package.json or tsconfig.json changed, or the build is incomplete.
#   4. the development link .venv/share/jupyter/labextensions/notebook-sync-ydoc ->
#      notebook_sync_ydoc/labextension (`jupyter labextension develop`), when it is not there.
# The editable install carries no frontend files (hatch_build.py), so neither pip nor the link
# ever writes into the source tree. What each step last did is kept in .venv/.nbsync-setup/ (the
# Python side) and node_modules/.cache/nbsync-setup/ (the frontend, shared by every VENV).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV=${VENV:-.venv}
case "$VENV" in /*) ;; *) VENV="$PWD/$VENV" ;; esac
PYTHON=${PYTHON:-python3}
EXTRAS=${EXTRAS:-}
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

py_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; }

# one hash of files and folders (names and contents): "did this change since last time"
tree_hash() {
  local p
  for p in "$@"; do
    if [ -d "$p" ]; then find "$p" -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
    elif [ -f "$p" ]; then sha256sum "$p"
    fi
  done | sha256sum | cut -d' ' -f1
}

# comma- or space-separated words -> sorted, unique, comma-separated
words() { tr ', ' '\n\n' | sed '/^$/d' | LC_ALL=C sort -u | paste -sd, -; }

command -v node >/dev/null 2>&1 || apt_install nodejs npm || {
  log "Node.js is needed to build the JupyterLab frontend from a source checkout"; exit 1; }

py_ok "$PYTHON" || {
  log "$PYTHON is $("$PYTHON" -V 2>&1); notebook-sync-ydoc needs Python 3.11 or newer (PYTHON=python3.12 make ...)"
  exit 1; }

# 1. the virtual environment
if [ -e "$VENV" ] && ! py_ok "$VENV/bin/python"; then
  [ -f "$VENV/pyvenv.cfg" ] || {
    log "$VENV exists but is not a virtual environment: move it away, or set VENV=another/path"
    exit 1; }
  if [ -x "$VENV/bin/python" ]; then why="its Python is $("$VENV/bin/python" -V 2>&1); 3.11+ is needed"
  else why="its Python no longer runs"; fi
  log "remaking $VENV: $why"
  rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV with $("$PYTHON" -V 2>&1)"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
fi
STATE="$VENV/.nbsync-setup"
mkdir -p "$STATE"
LINK="$VENV/share/jupyter/labextensions/notebook-sync-ydoc"

# 2. the Python package, editable
have=""
[ -f "$STATE/extras" ] && have=$(words <"$STATE/extras")
extras=$(printf 'lab,%s,%s' "$EXTRAS" "$have" | words)  # lab: jupyterlab, whose jlpm builds
py_hash="$(tree_hash pyproject.toml hatch_build.py jupyter-config) $("$VENV/bin/python" -V 2>&1)"
installed_from=$("$VENV/bin/python" -c '
import json
from importlib.metadata import PackageNotFoundError, distribution
try:
    info = json.loads(distribution("notebook-sync-ydoc").read_text("direct_url.json") or "{}")
except PackageNotFoundError:
    info = {}
print(info.get("url", "") if info.get("dir_info", {}).get("editable") else "")
' 2>/dev/null || true)
why=""
if [ -z "$installed_from" ]; then why="not installed yet (or not as an editable install)"
elif [ "$installed_from" != "file://$PWD" ]; then why="$VENV holds an editable install of $installed_from"
elif [ ! -f "$STATE/python" ]; then why="$VENV was set up by an older version of this script"
elif [ "$(cat "$STATE/python")" != "$py_hash" ]; then why="pyproject.toml or hatch_build.py changed"
elif [ "$extras" != "$have" ]; then why="extras [$extras] asked for, [$have] installed"
fi
if [ -n "$why" ]; then
  # A link left by an older set-up must not be written through by pip, nor emptied by pip's
  # uninstall of an older install that did carry the frontend files.
  if [ -L "$LINK" ]; then rm "$LINK"; fi
  log "pip install -e \".[$extras]\" into $VENV: $why"
  "$VENV/bin/python" -m pip install -q -e ".[$extras]"
  printf '%s\n' "$py_hash" >"$STATE/python"
  printf '%s\n' "$extras" >"$STATE/extras"
else
  log "Python package: up to date in $VENV (editable, extras [$extras])"
fi

# 3. the frontend build in notebook_sync_ydoc/labextension
jl() { PATH="$VENV/bin:$PATH" "$VENV/bin/jlpm" "$@"; }
# jlpm quietly: its output (TypeScript prints its errors there) is shown only when it fails
jl_quiet() {
  local out
  out=$(mktemp)
  if jl "$@" >"$out" 2>&1; then rm -f "$out"; return 0; fi
  log "jlpm $* failed:"
  tail -n 60 "$out" >&2
  rm -f "$out"
  return 1
}
[ -x "$VENV/bin/jlpm" ] || { log "no jlpm in $VENV: is jupyterlab installed there?"; exit 1; }
FSTATE=node_modules/.cache/nbsync-setup  # lives and goes with node_modules
deps_hash=$(tree_hash package.json yarn.lock .yarnrc.yml)
if [ ! -d node_modules ]; then why="no node_modules yet"
elif [ ! -f "$FSTATE/deps" ]; then why="no record of an earlier install"
elif [ "$(cat "$FSTATE/deps")" != "$deps_hash" ]; then
  why="package.json or yarn.lock changed"
else why=""; fi
if [ -n "$why" ]; then
  log "jlpm install: $why"
  jl_quiet install
  mkdir -p "$FSTATE"
  tree_hash package.json yarn.lock .yarnrc.yml >"$FSTATE/deps"  # jlpm may touch yarn.lock
fi
build_complete() {
  "$VENV/bin/python" -c '
import json, pathlib, sys
out = pathlib.Path("notebook_sync_ydoc/labextension")
try:
    entry = json.loads((out / "package.json").read_text())["jupyterlab"]["_build"]["load"]
except (OSError, ValueError, KeyError, TypeError):
    sys.exit(1)
sys.exit(0 if (out / entry).is_file() and (out / "static/style.js").is_file() else 1)
'
}
src_hash=$(tree_hash src style schema package.json tsconfig.json)
if ! build_complete; then why="no complete build in notebook_sync_ydoc/labextension"
elif [ ! -f "$FSTATE/src" ]; then why="no record of an earlier build"
elif [ "$(cat "$FSTATE/src")" != "$src_hash" ]; then
  why="src/, style/, schema/, package.json or tsconfig.json changed since the last build"
else why=""; fi
if [ -n "$why" ]; then
  log "jlpm build (frontend): $why"
  jl_quiet build
  mkdir -p "$FSTATE"
  printf '%s\n' "$src_hash" >"$FSTATE/src"
else
  log "frontend: built, sources unchanged"
fi

# 4. the development link
if [ "$(readlink "$LINK" 2>/dev/null)" != "$PWD/notebook_sync_ydoc/labextension" ]; then
  log "linking the frontend build into $VENV (jupyter labextension develop)"
  PATH="$VENV/bin:$PATH" "$VENV/bin/jupyter" labextension develop --overwrite . >/dev/null
fi
