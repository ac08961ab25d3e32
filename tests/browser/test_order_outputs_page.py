"""Shared outputs and live order, in a browser: a teacher shares a cell's text and image outputs
and the student's follow view renders them (untrusted), an oversized output arrives as the
server's placeholder, a locked cell's outputs never travel; moving a shared cell reorders the
follow view without a push, and a cut and paste (a new cell id) is a move that keeps the
student's pulled state."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from conftest import write_notebook
from test_classroom import CELL_BAR, Lab, join_session, share, start_session
from test_follow_view import FOLLOW, follow_cell, open_follow

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

HELLO = "hello outputs"
SECRET = "TOPSECRET-OUTPUT-7781"
BIG = 400 * 1024


def png(width: int = 96, height: int = 32) -> str:
    """A small red PNG, base64 (as nbformat stores image outputs)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    raw = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    return base64.b64encode(raw).decode()


def code_cell(cell_id: str, source: str, outputs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": cell_id,
        "cell_type": "code",
        "metadata": {},
        "source": source,
        "execution_count": 1 if outputs else None,
        "outputs": outputs,
    }


def stream(text: str) -> dict[str, Any]:
    return {"output_type": "stream", "name": "stdout", "text": text}


def lesson(root: Path) -> None:
    """The teacher's saved notebook: cells that already have outputs."""
    write_notebook(
        root / "lesson.ipynb",
        [
            code_cell(
                "c-out",
                "print('hello outputs')\ndisplay(image)",
                [
                    stream(HELLO + "\n"),
                    {
                        "output_type": "display_data",
                        "data": {"image/png": png(), "text/plain": ["<Figure 96x32>"]},
                        "metadata": {},
                    },
                ],
            ),
            code_cell("c-big", "print('x' * 409600)", [stream("x" * BIG)]),
            code_cell("c-secret", "print(secret)", [stream(SECRET + "\n")]),
            code_cell("c-order", "z = 3", []),
            {"id": "m-move", "cell_type": "markdown", "metadata": {}, "source": "## Moving cell"},
        ],
    )


def record_frames(page: Any, received: list[str], sent: list[str]) -> None:
    """Every websocket text frame the page receives and sends (all its sockets)."""

    def on_socket(ws: Any) -> None:
        ws.on("framereceived", lambda payload: received.append(str(payload)))
        ws.on("framesent", lambda payload: sent.append(str(payload)))

    page.on("websocket", on_socket)


def messages(frames: list[str], mtype: str) -> list[dict[str, Any]]:
    out = []
    for frame in frames:
        if f'"{mtype}"' not in frame:
            continue
        try:
            value = json.loads(frame)
        except ValueError:
            continue
        if isinstance(value, dict) and value.get("type") == mtype:
            out.append(value)
    return out


def follow_order(person: Lab) -> list[str]:
    return person.page.locator(f"{FOLLOW} .jp-nbsync-follow-cell").evaluate_all(
        "els => els.map(e => e.dataset.cellId)"
    )


def wait_follow_order(person: Lab, order: list[str]) -> None:
    person.page.wait_for_function(
        """([sel, order]) => {
            const ids = Array.from(document.querySelectorAll(sel)).map(e => e.dataset.cellId);
            return JSON.stringify(ids) === JSON.stringify(order);
        }""",
        arg=[f"{FOLLOW} .jp-nbsync-follow-cell", order],
    )


def select(teacher: Lab, cell_id: str) -> None:
    """Select a cell in command mode (as a teacher does before a keyboard command)."""
    teacher.cell(cell_id).locator(".jp-InputPrompt").first.click()
    teacher.page.keyboard.press("Escape")


def share_outputs(teacher: Lab, cell_id: str) -> None:
    teacher.bar(cell_id).locator(".jp-nbsync-share-outputs input").check()


def test_outputs_and_live_order(lab: Any, contexts: tuple[Any, Any], screenshots: Path) -> None:
    lesson(lab.root)
    teacher_ctx, student_ctx = contexts
    teacher_in: list[str] = []
    teacher_out: list[str] = []
    student_in: list[str] = []
    student_out: list[str] = []
    teacher_page = teacher_ctx.new_page()
    record_frames(teacher_page, teacher_in, teacher_out)
    student_page = student_ctx.new_page()
    record_frames(student_page, student_in, student_out)
    errors: list[str] = []
    teacher_page.on("pageerror", lambda exc: errors.append(str(exc)))
    student_page.on("pageerror", lambda exc: errors.append(str(exc)))
    teacher = Lab(teacher_page, lab, "lesson.ipynb").open()
    student = Lab(student_page, lab, "student.ipynb").open()
    code = start_session(teacher)
    join_session(student, code, "Ada")

    # "Share outputs" on, then shared: the pushes carry the outputs
    for cell_id in ("c-out", "c-big"):
        share_outputs(teacher, cell_id)
        share(teacher, cell_id)
    # a locked cell: shared without outputs, locked, then "Share outputs" turned on: nothing
    share(teacher, "c-secret")
    teacher.bar("c-secret").locator(".jp-nbsync-share input").uncheck()
    teacher.page.wait_for_selector(f"{teacher_bar('c-secret')}.jp-nbsync-locked")
    share_outputs(teacher, "c-secret")
    share(teacher, "c-order")
    share(teacher, "m-move")
    pushes = {m["cell_id"]: m for m in messages(teacher_out, "push_cell")}
    assert [o["output_type"] for o in pushes["c-out"]["content"]["outputs"]] == [
        "stream",
        "display_data",
    ]
    assert "outputs" not in pushes["c-order"]["content"]

    # the student's follow view renders them as JupyterLab does: text, an <img>
    open_follow(student)
    out = follow_cell(student, "c-out")
    out.locator(".jp-nbsync-follow-outputs", has_text=HELLO).wait_for()
    img = out.locator(".jp-nbsync-follow-outputs img")
    img.wait_for()
    assert (img.get_attribute("src") or "").startswith("data:image/png;base64,")
    # over the bound: the server's placeholder, never the 400 KB
    big = follow_cell(student, "c-big")
    big.locator(".jp-nbsync-follow-outputs", has_text="output too large to share").wait_for()
    assert "x" * 1000 not in big.inner_text()
    assert all("x" * 300_000 not in frame for frame in student_in)
    # locked: a placeholder, and its outputs never reached the student (nor left the teacher)
    follow_cell(student, "c-secret").locator(".jp-nbsync-follow-locked").wait_for()
    student.page.evaluate("() => document.querySelector('#notebook-sync-follow').scrollTop = 0")
    student.page.screenshot(path=str(screenshots / "student-follow-outputs.png"))

    # "Pull with outputs": the cell and the teacher's outputs go into the student's notebook
    student.page.locator(f"{FOLLOW} .jp-nbsync-follow-pull-outputs[data-cell-id='c-out']").click()
    pulled = student.cell("c-out")
    pulled.locator(".jp-OutputArea-output", has_text=HELLO).wait_for()
    pulled.locator(".jp-OutputArea-output img").wait_for()
    request = messages(student_out, "request_sync")[-1]
    assert request["cell_id"] == "c-out" and request["with_outputs"] is True
    # cells without shared outputs have no such button
    assert follow_cell(student, "c-order").locator(".jp-nbsync-follow-pull-outputs").count() == 0

    # "Share outputs" turned off: share_outputs false, the follow view drops them
    teacher.bar("c-out").locator(".jp-nbsync-share-outputs input").uncheck()
    out.locator(".jp-nbsync-follow-output").first.wait_for(state="detached")
    off = messages(teacher_out, "push_cell")[-1]
    assert off["cell_id"] == "c-out" and off["share_outputs"] is False
    assert "outputs" not in off["content"]

    # live order: the teacher moves a cell up; the follow view follows with no push
    wait_follow_order(student, ["c-out", "c-big", "c-secret", "c-order", "m-move"])
    pushed_before = len(messages(teacher_out, "push_cell"))
    reorders_before = len(messages(teacher_out, "reorder_cells"))
    select(teacher, "c-order")
    teacher.page.keyboard.press("Control+Shift+ArrowUp")
    wait_follow_order(student, ["c-out", "c-big", "c-order", "c-secret", "m-move"])
    assert len(messages(teacher_out, "push_cell")) == pushed_before
    sent = messages(teacher_out, "reorder_cells")
    assert len(sent) == reorders_before + 1
    assert sent[-1]["order"] == ["c-out", "c-big", "c-order", "c-secret", "m-move"]
    assert messages(student_in, "cells_reordered")[-1]["order"][:5] == sent[-1]["order"]

    # the student pulls the markdown cell (from the follow view), then the teacher cuts it and
    # pastes it under the first cell: JupyterLab gives it a new id; it is a move
    student.page.locator(f"{FOLLOW} .jp-nbsync-follow-pull[data-cell-id='m-move']").click()
    follow_cell(student, "m-move").wait_for()
    student.page.wait_for_selector(
        f"{FOLLOW} .jp-nbsync-follow-cell[data-cell-id='m-move'][data-status='current']"
    )
    select(teacher, "m-move")
    teacher.page.keyboard.press("x")
    teacher.cell("m-move").wait_for(state="detached")
    select(teacher, "c-out")
    teacher.page.keyboard.press("v")
    # the student's copy takes the new id (its bar says so once cell_moved is handled)
    new_id = student.page.wait_for_function(
        """() => {
            const bars = document.querySelectorAll(
                '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell .jp-nbsync-cellbar');
            const ids = Array.from(bars).map(b => b.dataset.cellId);
            const known = ['s-notes', 'c-out', 'm-move'];
            return ids.length === 3 && ids.find(id => !known.includes(id));
        }"""
    ).json_value()
    moved = messages(student_in, "cell_moved")[-1]
    assert moved["from_id"] == "m-move" and moved["to_id"] == new_id
    wait_follow_order(student, ["c-out", new_id, "c-big", "c-order", "c-secret"])
    assert not messages(teacher_out, "remove_cell")
    assert not messages(student_in, "cell_removed")
    # the student's copy is still theirs, tracked under the new id: up to date, nothing to pull
    student.page.wait_for_selector(
        f"{FOLLOW} .jp-nbsync-follow-cell[data-cell-id='{new_id}'][data-status='current']"
    )
    student.bar(new_id).locator(".jp-nbsync-uptodate").wait_for()
    assert student.bar("m-move").count() == 0

    # the locked cell's outputs never travelled, in any frame of either page
    assert all(SECRET not in frame for frame in student_in)
    assert all(SECRET not in frame for frame in teacher_out)
    assert errors == [], errors


def teacher_bar(cell_id: str) -> str:
    return f".jp-NotebookPanel:not(.lm-mod-hidden) .jp-nbsync-cellbar[data-cell-id='{cell_id}']"


def test_a_run_pushes_its_outputs(lab: Any, contexts: tuple[Any, Any]) -> None:
    """With "Share outputs" on by default and auto-push on run, running a shared cell sends its
    new outputs (a real kernel)."""
    settings = lab.root.parent / "home" / "settings" / "notebook-sync-ydoc"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "plugin.jupyterlab-settings").write_text(
        json.dumps({"autoPush": "run", "shareOutputs": True})
    )
    write_notebook(lab.root / "run.ipynb", [code_cell("c-run", "print(6 * 7)", [])])
    teacher_ctx, student_ctx = contexts
    teacher_out: list[str] = []
    teacher_page = teacher_ctx.new_page()
    record_frames(teacher_page, [], teacher_out)
    teacher = Lab(teacher_page, lab, "run.ipynb").open()
    student = Lab(student_ctx.new_page(), lab, "student.ipynb").open()
    code = start_session(teacher)
    join_session(student, code, "Ada")
    # the default: the cell's "Share outputs" is on
    assert teacher.bar("c-run").locator(".jp-nbsync-share-outputs input").is_checked()
    share(teacher, "c-run")
    open_follow(student)
    follow_cell(student, "c-run").locator(".cm-line").first.wait_for()
    teacher.cell("c-run").locator(".cm-content").click()
    teacher.page.keyboard.press("Control+Enter")
    teacher.cell("c-run").locator(".jp-OutputArea-output", has_text="42").wait_for(timeout=60_000)
    follow_cell(student, "c-run").locator(".jp-nbsync-follow-outputs", has_text="42").wait_for()
    last = messages(teacher_out, "push_cell")[-1]
    assert last["content"]["outputs"][0]["text"] == "42\n"
    # the teacher turns "Share outputs" off for this cell, then reloads: the choice stays
    toggle = teacher.bar("c-run").locator(".jp-nbsync-share-outputs input")
    toggle.uncheck()
    shown = follow_cell(student, "c-run").locator(".jp-nbsync-follow-outputs:not([data-count='0'])")
    shown.wait_for(state="detached")
    teacher.reload()
    teacher.wait_status(f"Teaching {code} · connected")
    teacher.page.wait_for_selector(f"{CELL_BAR.format('c-run')}.jp-nbsync-pushed")
    assert not teacher.bar("c-run").locator(".jp-nbsync-share-outputs input").is_checked()
    assert teacher.bar("c-run").locator(".jp-nbsync-share-outputs input").is_enabled()
    assert shown.count() == 0
