# Sourced by scripts/test.sh: jupyter-collaboration (real-time collaboration), installed beside
# .venv with `pip install --prefix`, never into it, so every other test runs without it. The
# browser suite runs once more with it (tests/browser/conftest.py puts the prefix on the
# servers' paths), as classes that run it in their images see the extension.
# Needs VENV and log from scripts/setup.sh.
COLLAB_VERSION=5.0.4 # the version issue 15 was reported against, with JupyterLab 4.6.6
COLLAB_PREFIX="$(cd "$VENV" && pwd)/extra/jupyter-collaboration" # absolute: servers run elsewhere
if [ "$(cat "$COLLAB_PREFIX/.installed" 2>/dev/null)" != "$COLLAB_VERSION" ]; then
  log "jupyter-collaboration $COLLAB_VERSION into $COLLAB_PREFIX: not there yet"
  rm -rf "$COLLAB_PREFIX"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --prefix "$COLLAB_PREFIX" \
    "jupyter-collaboration==$COLLAB_VERSION"
  echo "$COLLAB_VERSION" >"$COLLAB_PREFIX/.installed"
fi
export NBSYNC_COLLAB_PREFIX="$COLLAB_PREFIX"
