"""The JupyterHub tests (a package, so that its conftest does not take the place of
tests/browser/conftest.py as the module ``conftest`` that the browser tests import from)."""
