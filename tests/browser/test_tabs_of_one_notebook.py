"""Two tabs of one notebook, as students and teachers really open them.

With jupyter-collaboration (the pass of scripts/test.sh that installs it), every tab of a
notebook holds one shared document: two tabs of a student pulling at the same instant show the
pull exactly once (the server serializes a student's pulls of one cell; the tab that comes
second is told there is nothing new and its badge goes), a new cell appears once, a reload
shows one copy, and the teacher's second tab neither calls text the server has "changed" nor
pushes another tab's edits by itself. Without collaboration the tabs are two copies: the second
tab says so instead of silently holding an older copy."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
from conftest import _cell, write_notebook
from test_classroom import (
    CELL_BAR,
    Lab,
    join_session,
    push,
    put_settings,
    share,
    start_session,
    wait_badge,
    wait_no_badge,
)
from test_order_outputs_page import messages, record_frames, select

pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]

COLLABORATIVE = os.environ.get("NBSYNC_EXPECT_COLLABORATION") == "1"
needs_collaboration = pytest.mark.skipif(
    not COLLABORATIVE, reason="runs in the jupyter-collaboration pass (scripts/test.sh)"
)
without_collaboration = pytest.mark.skipif(
    COLLABORATIVE, reason="two separate copies only exist without jupyter-collaboration"
)
MOVE_WINDOW_MS = 1500  # src/model/teacherSession.ts: a cut cell not pasted by then is removed
UPDATE_ROUNDS = 8  # the duplicated pull showed in 1 of 5 rounds before the server serialized
NEW_CELL_ROUNDS = 4
LESSON = [("m-intro", "markdown", "# Lesson")] + [
    (f"m-{k}", "code", f"a{k} = {k}") for k in range(NEW_CELL_ROUNDS + 1)
]


def click_together(tabs: list[Lab], selector: str) -> None:
    """Click ``selector`` in every tab at the same instant (one browser, one clock)."""
    at = tabs[0].page.evaluate("Date.now()") + 400
    for tab in tabs:
        tab.page.evaluate(
            """([sel, at]) => setTimeout(() => {
                const b = document.querySelector(sel);
                if (b) b.click();
            }, at - Date.now())""",
            [selector, at],
        )


def copies(tab: Lab, cell_id: str) -> int:
    return tab.page.locator(CELL_BAR.format(cell_id)).count()


def open_tabs(context: Any, lab: Any, path: str, n: int = 2) -> list[Lab]:
    return [Lab(context.new_page(), lab, path).open() for _ in range(n)]


@needs_collaboration
def test_two_student_tabs_pull_at_the_same_instant(lab: Any, contexts: tuple[Any, Any]) -> None:
    write_notebook(lab.root / "lesson.ipynb", [_cell(*c) for c in LESSON])
    teacher_ctx, student_ctx = contexts
    teacher = Lab(teacher_ctx.new_page(), lab, "lesson.ipynb").open()
    code = start_session(teacher)
    first = Lab(student_ctx.new_page(), lab, "student.ipynb").open()
    join_session(first, code, "Ada")
    second = Lab(student_ctx.new_page(), lab, "student.ipynb").open()  # rejoins with the key
    second.wait_status(f"Class {code} · connected")
    tabs = [first, second]
    for tab in tabs:
        tab.open_panel()

    # new cells: both tabs add the same teacher cell at once; it appears once
    for k in range(NEW_CELL_ROUNDS):
        cell_id = f"m-{k}"
        share(teacher, cell_id)
        item = f".jp-nbsync-pending li[data-cell-id='{cell_id}'] .jp-nbsync-pull"
        for tab in tabs:
            tab.page.locator(item).wait_for()
        click_together(tabs, item)
        for tab in tabs:
            tab.wait_source(cell_id, f"a{k} = {k}")
            tab.page.locator(item).wait_for(state="detached")
        assert [copies(tab, cell_id) for tab in tabs] == [1, 1], f"round {k}"

    # updates of a pulled cell: the change is applied once ("a0 = 20", never "a0 = 220")
    for k in range(UPDATE_ROUNDS):
        text = f"a0 = {20 + k}"
        teacher.set_source("m-0", text)
        push(teacher, "m-0")
        for tab in tabs:
            wait_badge(tab, "m-0")
        click_together(tabs, f"{CELL_BAR.format('m-0')} .jp-nbsync-pull")
        for tab in tabs:
            tab.wait_source("m-0", text)
            wait_no_badge(tab, "m-0")
        assert [copies(tab, "m-0") for tab in tabs] == [1, 1], f"round {k}"
        assert [tab.source("m-0") for tab in tabs] == [text, text], f"round {k}"
    for tab in tabs:  # nothing left pending, in any tab
        assert tab.page.locator(".jp-nbsync-pending li").count() == 0
        assert tab.page.locator(".jp-nbsync-other-tab").count() == 0  # one shared document

    # a reload shows one copy of every pulled cell
    second.reload()
    second.wait_status(f"Class {code} · connected")
    for k in range(NEW_CELL_ROUNDS):
        assert copies(second, f"m-{k}") == 1
    assert second.source("m-0") == f"a0 = {20 + UPDATE_ROUNDS - 1}"
    wait_no_badge(second, "m-0")


@needs_collaboration
def test_two_teacher_tabs_with_auto_push(lab: Any, contexts: tuple[Any, Any]) -> None:
    """The tab that was typed in pushes; the other follows what the server has and pushes
    nothing by itself."""
    put_settings(lab, {"autoPush": "pause", "autoPushDelayMs": 500})
    teacher_ctx, student_ctx = contexts
    first = Lab(teacher_ctx.new_page(), lab, "teacher.ipynb").open()
    code = start_session(first)
    share(first, "t-sum")
    second = Lab(teacher_ctx.new_page(), lab, "teacher.ipynb").open()  # resumes with the key
    second.wait_status(f"Teaching {code} · connected")
    student = Lab(student_ctx.new_page(), lab, "student.ipynb").open()
    join_session(student, code, "Ada")
    pushes = lab.status()["server"]["pushes"]

    text = "x = 7\ny = 2\nprint(x + y)"
    first.set_source("t-sum", text)
    second.wait_source("t-sum", text)  # through the shared document
    first.page.wait_for_selector(f"{CELL_BAR.format('t-sum')}.jp-nbsync-pushed")
    # the other tab is told what the server now holds: not "changed since push"
    second.page.wait_for_function(
        "sel => { const b = document.querySelector(sel);"
        " return !!b && b.classList.contains('jp-nbsync-pushed')"
        " && !b.classList.contains('jp-nbsync-dirty'); }",
        arg=CELL_BAR.format("t-sum"),
    )
    # No push can be seen to be absent except over time: three pause delays.
    second.page.wait_for_timeout(1500)
    assert lab.status()["server"]["pushes"] == pushes + 1
    student.open_panel()  # the student has no copy yet: the cell is offered as new
    student.page.locator(".jp-nbsync-pending li[data-cell-id='t-sum']").wait_for()
    assert second.page.locator(".jp-nbsync-other-tab").count() == 0


@without_collaboration
def test_a_second_copy_says_so(lab: Any, contexts: tuple[Any, Any]) -> None:
    """Without collaboration a second tab of a notebook is a separate copy: when the other tab
    pulls (or, for a teacher, pushes), it says so rather than looking up to date."""
    teacher_ctx, student_ctx = contexts
    teacher = Lab(teacher_ctx.new_page(), lab, "teacher.ipynb").open()
    code = start_session(teacher)
    share(teacher, "t-sum")
    first = Lab(student_ctx.new_page(), lab, "student.ipynb").open()
    join_session(first, code, "Ada")
    second = Lab(student_ctx.new_page(), lab, "student.ipynb").open()
    second.wait_status(f"Class {code} · connected")
    second.open_panel()
    pending = ".jp-nbsync-pending li[data-cell-id='t-sum']"
    second.page.locator(pending).wait_for()
    first.open_panel()
    first.page.locator(f"{pending} .jp-nbsync-pull").click()
    first.wait_source("t-sum", "x = 1\ny = 2\nprint(x + y)")
    warning = second.page.locator("#notebook-sync-panel .jp-nbsync-other-tab")
    warning.wait_for()
    assert "separate copy" in warning.inner_text()
    # this copy no longer offers it as new: as a teacher cell it does not hold, to add
    offered = ".jp-nbsync-pending:not(.jp-nbsync-missing) li[data-cell-id='t-sum']"
    second.page.locator(offered).wait_for(state="detached")
    second.page.locator(".jp-nbsync-missing li[data-cell-id='t-sum']").wait_for()
    assert first.page.locator(".jp-nbsync-other-tab").count() == 0

    # the teacher's second tab: another tab's push it does not hold is said, not pushed over
    other = Lab(teacher_ctx.new_page(), lab, "teacher.ipynb").open()
    other.wait_status(f"Teaching {code} · connected")
    teacher.set_source("t-sum", "x = 9\ny = 2\nprint(x + y)")
    push(teacher, "t-sum")
    other.open_panel()
    other.page.locator("#notebook-sync-panel .jp-nbsync-other-tab").wait_for()


@needs_collaboration
def test_a_move_and_a_deletion_in_one_of_two_teacher_tabs_reach_the_server_once(
    lab: Any, contexts: tuple[Any, Any]
) -> None:
    """Both tabs see each change of the shared document at the same instant. A cut and paste
    keeps the cell's id in a collaborative notebook (in a notebook of one's own it gets a new
    id, a move: test_order_outputs_page.py): one reorder, never a removal or a move. A deleted
    cell: one removal. The student's pulled copy stays theirs; no tab is refused anything or
    pushes anything."""
    write_notebook(lab.root / "lesson.ipynb", [_cell(*c) for c in LESSON])
    teacher_ctx, student_ctx = contexts
    sent: list[str] = []
    received: list[str] = []
    pages = [teacher_ctx.new_page(), teacher_ctx.new_page()]
    errors: list[str] = []
    for page in pages:
        record_frames(page, received, sent)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
    first = Lab(pages[0], lab, "lesson.ipynb").open()
    code = start_session(first)
    for cell_id in ("m-0", "m-1"):
        share(first, cell_id)
    second = Lab(pages[1], lab, "lesson.ipynb").open()  # resumes with the key
    second.wait_status(f"Teaching {code} · connected")
    student_page = student_ctx.new_page()
    student_in: list[str] = []
    record_frames(student_page, student_in, [])
    student = Lab(student_page, lab, "student.ipynb").open()
    join_session(student, code, "Ada")
    student.open_panel()
    student.page.locator(".jp-nbsync-pending li[data-cell-id='m-1'] .jp-nbsync-pull").click()
    student.wait_source("m-1", "a1 = 1")
    pushes = lab.status()["server"]["pushes"]

    # cut m-1 in the first tab, paste it above m-0: the same id, a new order
    select(first, "m-1")
    first.page.keyboard.press("x")
    for tab in (first, second):
        tab.cell("m-1").wait_for(state="detached")
    select(first, "m-intro")
    first.page.keyboard.press("v")
    for tab in (first, second):
        tab.cell("m-1").wait_for()
    order = ["m-1", "m-0"]
    wait_sent(first, sent, "reorder_cells", order)
    # Nothing more can be seen to be absent except over time: two move windows.
    first.page.wait_for_timeout(2 * MOVE_WINDOW_MS)
    assert [m["order"][:2] for m in messages(sent, "reorder_cells")] == [order]
    assert not messages(sent, "move_cell") and not messages(sent, "remove_cell")
    assert not messages(received, "error")
    assert [m["order"][:2] for m in messages(student_in, "cells_reordered")] == [order]
    student.bar("m-1").locator(".jp-nbsync-uptodate").wait_for()

    # the first tab deletes m-0: both tabs see it go; the server is told once
    select(first, "m-0")
    first.page.keyboard.press("d")
    first.page.keyboard.press("d")
    for tab in (first, second):
        tab.cell("m-0").wait_for(state="detached")
    wait_sent(first, sent, "remove_cell")
    first.page.wait_for_timeout(2 * MOVE_WINDOW_MS)
    # Each tab may say so (they see the deletion at the same instant): the server removes the
    # cell once, and answers a second tab cell_not_found, which that tab takes as done.
    assert {m["cell_id"] for m in messages(sent, "remove_cell")} == {"m-0"}
    assert [m["cell_id"] for m in messages(student_in, "cell_removed")] == ["m-0"]
    assert not messages(sent, "move_cell")
    assert {m["code"] for m in messages(received, "error")} <= {"cell_not_found"}
    for tab in (first, second):  # no tab shows an error (it did: "no cell m-0 in session")
        tab.open_panel()
        tab.page.locator("#notebook-sync-panel .jp-nbsync-panel-main").wait_for()
        assert tab.page.locator(".jp-nbsync-error").count() == 0
    student.bar("m-1").locator(".jp-nbsync-uptodate").wait_for()  # the pulled copy is untouched
    assert lab.status()["server"]["pushes"] == pushes
    assert errors == [], errors


def wait_sent(
    tab: Lab, sent: list[str], mtype: str, order: list[str] | None = None, timeout: float = 20.0
) -> None:
    """Until a ``mtype`` frame was sent (a ``reorder_cells`` starting with ``order``, if given).
    The frames are recorded by the pages' listeners, which Playwright runs only while it waits:
    hence its own wait between looks, not a sleep."""
    deadline = time.monotonic() + timeout
    while not any(
        order is None or m["order"][: len(order)] == order for m in messages(sent, mtype)
    ):
        assert time.monotonic() < deadline, f"no {mtype} {order or ''} sent"
        tab.page.wait_for_timeout(50)
