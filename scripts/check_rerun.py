"""The README's commands, run again and again on one checkout, as a user would (issue 9).

    python3 scripts/check_rerun.py [STEP ...]

Steps: `test` (make test), `test-again` (make test with a few quick pytest files: the whole
set-up, ruff, mypy and the frontend checks run as in `make test`, then pytest on those files; what
it shows on a used checkout is that nothing is set up again and the tree stays clean, without the
suite's twenty minutes a second time), `old-venv` (make demo with VENV naming an environment whose
Python is 3.9), `lab` (make lab until JupyterLab serves the extension, then stop it),
`lab-busy` (make lab with its port taken), `demo` (make demo), `wheel` (pip wheel .). The
default sequence is the one a new user goes through twice: test lab lab-busy demo wheel, then
all of it again. Every `lab` but a first step must start without reinstalling anything. After
every step the source tree must hold nothing the set-up wrote into it (git status, and no
`install.json` in the frontend build folder). Prints each step's time; exits non-zero on the
first failure.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("VENV", ".venv"))
TOKEN = "check-rerun-token"  # noqa: S105 -- a loopback server that lives for seconds
DEFAULT = ["test", "lab", "lab-busy", "demo", "wheel"] * 2
LAB_READY_SECONDS = 300
QUICK_TESTS = "tests/test_install.py tests/test_architecture.py"
REINSTALL = re.compile(r"^==> (pip install|jlpm install|jlpm build|creating|remaking|linking)")


class StepFailed(Exception):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(cmd: list[str], timeout: float) -> tuple[float, str]:
    start = time.monotonic()
    proc = subprocess.run(
        cmd,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    took = time.monotonic() - start
    if proc.returncode != 0:
        raise StepFailed(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout[-6000:]}")
    return took, proc.stdout


def get(url: str) -> tuple[int, str]:
    req = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, ""
    except OSError:
        return 0, ""


def lab(busy: bool) -> tuple[float, list[str]]:
    """`make lab` until it serves the extension; returns the time and its set-up lines."""
    port = free_port()
    blocker = None
    if busy:
        blocker = socket.socket()
        blocker.bind(("127.0.0.1", port))
        blocker.listen(1)
    root_dir = tempfile.mkdtemp(prefix="nbsync-rerun-")
    args = (
        f"--port={port} --no-browser --ServerApp.token={TOKEN} --ServerApp.root_dir={root_dir}"
        " --LabApp.extension_manager=readonly --LabApp.news_url=None"
    )
    log_path = Path(root_dir) / "lab.log"
    start = time.monotonic()
    with log_path.open("w") as out:
        proc = subprocess.Popen(
            ["make", "lab", f"ARGS={args}"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = None
        while time.monotonic() - start < LAB_READY_SECONDS:
            text = log_path.read_text(errors="replace")
            if proc.poll() is not None:
                raise StepFailed(f"make lab exited {proc.returncode}:\n{text[-6000:]}")
            m = re.search(r"http://(?:127\.0\.0\.1|localhost):(\d+)/lab", text)
            if m:
                url = f"http://127.0.0.1:{m.group(1)}"
                status, page = get(f"{url}/lab")
                code, body = get(f"{url}/notebook-sync/status")
                if status == 200 and code == 200:
                    if "notebook-sync-ydoc" not in page:
                        raise StepFailed(f"/lab does not load the frontend extension:\n{text}")
                    json.loads(body)
                    break
            time.sleep(0.2)
        else:
            raise StepFailed(f"make lab not serving after {LAB_READY_SECONDS} s:\n{text[-6000:]}")
        took = time.monotonic() - start
        text = log_path.read_text(errors="replace")
        if busy:
            if "already in use" not in text:
                raise StepFailed(f"no message about the busy port {port}:\n{text}")
            if url == f"http://127.0.0.1:{port}":
                raise StepFailed("make lab claims the busy port")
        return took, [ln for ln in text.splitlines() if ln.startswith("==> ")]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if blocker is not None:
            blocker.close()


def old_venv() -> tuple[float, str]:
    """`make demo` with VENV naming a virtual environment whose Python is too old."""
    with tempfile.TemporaryDirectory() as tmp:
        venv = Path(tmp) / "venv"
        (venv / "bin").mkdir(parents=True)
        (venv / "pyvenv.cfg").write_text("version = 3.9.18\n")
        fake = venv / "bin/python"
        fake.write_text('#!/bin/sh\n[ "$1" = -V ] && echo "Python 3.9.18"\nexit 1\n')
        fake.chmod(0o755)
        env = {**os.environ, "VENV": str(venv)}
        start = time.monotonic()
        proc = subprocess.run(
            ["make", "demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
        )
        took = time.monotonic() - start
        out = proc.stdout + proc.stderr
        if proc.returncode != 0 or "remaking" not in out or "3.9.18" not in out:
            raise StepFailed(f"make demo with an old VENV exited {proc.returncode}:\n{out[-6000:]}")
        return took, out


def git_status() -> str:
    cmd = ["git", "status", "--porcelain"]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True).stdout


def tree_clean(before: str) -> None:
    status = git_status()
    if status != before:
        raise StepFailed(f"the set-up changed the source tree (git status):\n{status}")
    stray = ROOT / "notebook_sync_ydoc/labextension/install.json"
    if stray.exists():
        raise StepFailed(f"{stray} was written into the source tree")


def main(steps: list[str]) -> int:
    before = git_status()
    figures: list[str] = []
    for i, step in enumerate(steps, 1):
        try:
            if step == "test":
                took, out = run(["make", "test"], timeout=3600)
                counts = re.findall(r"=+ (\d+ passed[^=]*?) in [\d.]+s", out)
                detail = " (pytest: " + "; ".join(counts) + ")"
            elif step == "test-again":
                took, out = run(["make", "test", f"ARGS={QUICK_TESTS}"], timeout=1200)
                again = [ln for ln in out.splitlines() if REINSTALL.match(ln)]
                if again:
                    raise StepFailed("make test set things up again:\n" + "\n".join(again))
                counts = re.findall(r"=+ (\d+ passed[^=]*?) in [\d.]+s", out)
                if not counts:
                    raise StepFailed(f"make test ran no test:\n{out[-4000:]}")
                detail = " (pytest: " + "; ".join(counts) + ")"
            elif step in ("lab", "lab-busy"):
                took, lines = lab(busy=step == "lab-busy")
                again = [ln for ln in lines if REINSTALL.match(ln)]
                if i > 1 and again:
                    raise StepFailed("make lab set things up again:\n" + "\n".join(again))
                detail = " (" + ("; ".join(ln[4:] for ln in lines) or "no set-up output") + ")"
            elif step == "demo":
                took, out = run(["make", "demo"], timeout=600)
                detail = ""
                if "conflict" not in out:
                    raise StepFailed(f"the demo's transcript lacks its conflict:\n{out[-4000:]}")
            elif step == "old-venv":
                took, out = old_venv()
                detail = ""
            elif step == "wheel":
                with tempfile.TemporaryDirectory() as dist:
                    took, _ = run(
                        [
                            str(VENV / "bin/python"),
                            "-m",
                            "pip",
                            "wheel",
                            "-q",
                            "--no-deps",
                            "-w",
                            dist,
                            ".",
                        ],
                        timeout=900,
                    )
                    wheels = list(Path(dist).glob("*.whl"))
                    if len(wheels) != 1:
                        raise StepFailed(f"pip wheel made {wheels}")
                detail = ""
            else:
                raise StepFailed(f"unknown step {step!r}")
            tree_clean(before)
        except (StepFailed, subprocess.TimeoutExpired) as err:
            print(f"FAILED at step {i} ({step}): {err}", flush=True)
            return 1
        figures.append(f"{i:2d}. {step:8s} {took:7.1f} s{detail}")
        print(figures[-1], flush=True)
    print(f"check_rerun: {len(steps)} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or DEFAULT))
