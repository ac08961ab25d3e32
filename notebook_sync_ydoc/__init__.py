"""notebook-sync-ydoc: live classroom notebook sync for Jupyter."""

from __future__ import annotations

from typing import Any

from ._version import __version__

__all__ = ["__version__"]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .app import NotebookSyncExtensionApp

    return [{"module": "notebook_sync_ydoc", "app": NotebookSyncExtensionApp}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "notebook-sync-ydoc"}]
