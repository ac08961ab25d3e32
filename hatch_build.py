"""Build hook: how the JupyterLab extension gets into a wheel.

A standard wheel carries a production build of the current sources, built here when the build
in `notebook_sync_ydoc/labextension` is missing, a development build, or older than `src/`,
`style/`, `schema/` or `package.json`. Its files go to `share/jupyter/labextensions/...`,
`install.json` from the top of the checkout (never a copy that happens to sit in the build
folder).

An editable wheel carries no labextension files at all. A development checkout links the
build folder into the environment instead (`jupyter labextension develop`, done by
`scripts/setup.sh`); were the editable wheel to carry the files too, pip would write them
through that link into the source tree, and uninstalling it would delete them there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

LABEXTENSION = "notebook_sync_ydoc/labextension"
TARGET = "share/jupyter/labextensions/notebook-sync-ydoc"
SOURCES = ("src", "style", "schema", "package.json", "tsconfig.json", "yarn.lock")


def _newest_mtime(root: Path, names: tuple[str, ...]) -> float:
    newest = 0.0
    for name in names:
        path = root / name
        if path.is_file():
            newest = max(newest, path.stat().st_mtime)
        elif path.is_dir():
            for sub in path.rglob("*"):
                if sub.is_file():
                    newest = max(newest, sub.stat().st_mtime)
    return newest


def _build_problem(root: Path) -> str | None:
    """Why the labextension build in the tree is not fit for a wheel, or None."""
    out = root / LABEXTENSION
    meta = out / "package.json"
    if not meta.is_file():
        return "no frontend build yet"
    load = json.loads(meta.read_text(encoding="utf-8")).get("jupyterlab", {}).get("_build", {})
    entry = load.get("load")
    if not entry or not (out / entry).is_file():
        return "the frontend build is incomplete"
    log = out / "build_log.json"
    if log.is_file() and '"mode": "development"' in log.read_text(encoding="utf-8"):
        return "the frontend build is a development build"
    if (root / "src").is_dir() and _newest_mtime(root, SOURCES) > meta.stat().st_mtime:
        return "the frontend sources changed since the last build"
    return None


class LabExtensionHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        root = Path(self.root)
        problem = _build_problem(root)
        if problem is not None:
            if not (root / "src").is_dir():
                raise RuntimeError(f"cannot build the wheel: {problem}, and no sources to build")
            jlpm = shutil.which("jlpm")
            if jlpm is None:
                raise RuntimeError(
                    f"{problem}; building it needs `jlpm` (from jupyterlab) and Node.js on PATH"
                )
            self.app.display_info(f"notebook-sync-ydoc: {problem}: `jlpm build:prod`")
            env = {**os.environ, "YARN_ENABLE_PROGRESS_BARS": "0"}
            subprocess.run([jlpm, "install"], cwd=root, check=True, env=env)  # noqa: S603
            subprocess.run([jlpm, "build:prod"], cwd=root, check=True, env=env)  # noqa: S603
            still = _build_problem(root)
            if still is not None:
                raise RuntimeError(f"`jlpm build:prod` left a bad build: {still}")
        shared = build_data["shared_data"]
        out = root / LABEXTENSION
        for path in sorted(out.rglob("*")):
            rel = path.relative_to(out).as_posix()
            if path.is_file() and rel != "install.json":
                shared[f"{LABEXTENSION}/{rel}"] = f"{TARGET}/{rel}"
        shared["install.json"] = f"{TARGET}/install.json"
