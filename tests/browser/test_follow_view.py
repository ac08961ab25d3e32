"""The follow view as a notebook, in a browser: rendered markdown (a heading, math, a link; no
script), highlighted read-only code, raw text, locked cells as placeholders; the teacher's view of
their own session; and the render time of a 200-cell session (a figure, not an assertion)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import platform
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, write_notebook
from test_classroom import Lab, join_session, push, share, start_session

from notebook_sync_ydoc.clients import TeacherClient

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

FOLLOW = "#notebook-sync-follow"
FOLLOW_TAB = ".jp-SideBar.jp-mod-right .lm-TabBar-tab[data-id='notebook-sync-follow']"
FIGURES = (
    ROOT / "docs" / "performance"
    if os.environ.get("NBSYNC_UPDATE_SCREENSHOTS") == "1"
    else ROOT / "test-results" / "performance"
)

MARKDOWN = (
    "# Lesson 1\n\nThe area of a circle is $\\pi r^2$; see [the notes](https://example.org/notes)."
    "\n\n<script>window.__nbsyncInjected = true</script>"
)
CODE = "def area(r):\n    return 3.14 * r ** 2"
RAW = "raw *text*, not markdown"
SECRET = "secret = 42"


def _cell(cell_id: str, cell_type: str, source: str) -> dict[str, Any]:
    cell: dict[str, Any] = {"id": cell_id, "cell_type": cell_type, "metadata": {}, "source": source}
    if cell_type == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def follow_cell(person: Lab, cell_id: str) -> Any:
    return person.page.locator(f"{FOLLOW} .jp-nbsync-follow-cell[data-cell-id='{cell_id}']")


def open_follow(person: Lab) -> None:
    person.page.locator(FOLLOW_TAB).click()
    person.page.wait_for_selector(FOLLOW, state="visible")
    person.page.wait_for_selector(f"{FOLLOW} .jp-nbsync-follow-state[data-state='live']")


def editor_text(person: Lab, cell_id: str) -> str:
    return follow_cell(person, cell_id).evaluate(
        "li => Array.from(li.querySelectorAll('.cm-line')).map(l => l.textContent).join('\\n')"
    )


def wait_editor_text(person: Lab, cell_id: str, text: str) -> None:
    person.page.wait_for_function(
        """([sel, text]) => {
            const li = document.querySelector(sel);
            const lines = li ? Array.from(li.querySelectorAll('.cm-line')) : [];
            return lines.length > 0 && lines.map(l => l.textContent).join('\\n') === text;
        }""",
        arg=[f"{FOLLOW} .jp-nbsync-follow-cell[data-cell-id='{cell_id}']", text],
    )


def wait_highlighted(person: Lab, cell_id: str, token: str) -> None:
    """Wait until ``token`` is a highlighted span: its colour is not the line's own."""
    person.page.wait_for_function(
        """([sel, token]) => {
            const li = document.querySelector(sel);
            if (!li) return false;
            for (const line of li.querySelectorAll('.cm-line')) {
                for (const span of line.querySelectorAll('span')) {
                    if (span.textContent === token &&
                        getComputedStyle(span).color !== getComputedStyle(line).color) {
                        return true;
                    }
                }
            }
            return false;
        }""",
        arg=[f"{FOLLOW} .jp-nbsync-follow-cell[data-cell-id='{cell_id}']", token],
    )


def test_follow_view_is_a_notebook(lab: Any, contexts: tuple[Any, Any], screenshots: Path) -> None:
    write_notebook(
        lab.root / "lesson.ipynb",
        [
            _cell("m-intro", "markdown", MARKDOWN),
            _cell("c-area", "code", CODE),
            _cell("r-note", "raw", RAW),
            _cell("c-secret", "code", SECRET),
        ],
    )
    teacher_ctx, student_ctx = contexts
    teacher = Lab(teacher_ctx.new_page(), lab, "lesson.ipynb").open()
    student = Lab(student_ctx.new_page(), lab, "student.ipynb").open()
    code = start_session(teacher)
    join_session(student, code, "Grace")
    for cell_id in ("m-intro", "c-area", "r-note", "c-secret"):
        share(teacher, cell_id)
    teacher.bar("c-secret").locator(".jp-nbsync-share input").uncheck()

    open_follow(student)
    # markdown through the rendermime registry: a heading, typeset math, a link; untrusted, so
    # the script is gone and never ran
    intro = follow_cell(student, "m-intro")
    intro.locator(".jp-RenderedMarkdown h1", has_text="Lesson 1").wait_for()
    intro.locator(".jp-RenderedMarkdown mjx-container").first.wait_for()
    assert intro.locator("a[href='https://example.org/notes']").inner_text() == "the notes"
    assert "$" not in intro.locator(".jp-RenderedMarkdown").inner_text()
    assert intro.locator("script").count() == 0
    assert student.page.evaluate("() => window.__nbsyncInjected === undefined")

    # code in a read-only CodeMirror editor with the notebook's highlighting
    wait_editor_text(student, "c-area", CODE)
    wait_highlighted(student, "c-area", "def")
    area = follow_cell(student, "c-area")
    # read-only, as JupyterLab's own read-only cells: typing changes nothing
    assert "jp-mod-readOnly" in (area.locator(".cm-editor").get_attribute("class") or "")
    area.locator(".cm-line").first.click()
    student.page.keyboard.type("zz")
    assert editor_text(student, "c-area") == CODE
    # raw: text as it is; locked: a placeholder, no content
    raw = follow_cell(student, "r-note")
    assert raw.locator("pre.jp-nbsync-follow-raw").inner_text() == RAW
    follow_cell(student, "c-secret").locator(".jp-nbsync-follow-locked").wait_for()
    assert follow_cell(student, "c-secret").get_attribute("data-status") == "locked"
    assert "42" not in follow_cell(student, "c-secret").inner_text()
    student.page.screenshot(path=str(screenshots / "student-follow-view.png"))

    # a push updates the same editor in place (nothing else is redrawn)
    area.locator(".cm-editor").evaluate("el => { el.dataset.nbsyncMark = 'kept'; }")
    intro.locator(".jp-RenderedMarkdown").evaluate("el => { el.dataset.nbsyncMark = 'kept'; }")
    teacher.set_source("c-area", "def area(r):\n    return 3.14159 * r ** 2")
    push(teacher, "c-area")
    wait_editor_text(student, "c-area", "def area(r):\n    return 3.14159 * r ** 2")
    assert area.locator(".cm-editor").get_attribute("data-nbsync-mark") == "kept"
    assert intro.locator(".jp-RenderedMarkdown").get_attribute("data-nbsync-mark") == "kept"

    # the teacher's own view of the session: what students see, locked cells marked
    open_follow(teacher)
    teacher.page.locator(f"{FOLLOW} h2", has_text="What your students see").wait_for()
    follow_cell(teacher, "m-intro").locator(".jp-RenderedMarkdown h1").wait_for()
    wait_highlighted(teacher, "c-area", "def")
    locked = follow_cell(teacher, "c-secret")
    locked.locator(".jp-nbsync-follow-locked", has_text="students see only").wait_for()
    assert "42" not in locked.inner_text()
    statuses = teacher.page.locator(f"{FOLLOW} .jp-nbsync-follow-cell").evaluate_all(
        "els => els.map(e => [e.dataset.cellId, e.dataset.status])"
    )
    assert statuses == [
        ["m-intro", "shared"],
        ["c-area", "shared"],
        ["r-note", "shared"],
        ["c-secret", "locked"],
    ]
    assert teacher.page.locator(f"{FOLLOW} .jp-nbsync-follow-pull").count() == 0
    teacher.page.screenshot(path=str(screenshots / "teacher-follow.png"))

    # unlocking shows the cell to both views, drawn as code
    teacher.bar("c-secret").locator(".jp-nbsync-share input").check()
    wait_editor_text(teacher, "c-secret", SECRET)
    wait_editor_text(student, "c-secret", SECRET)


async def _share_many(lab: Any, cells: int) -> str:
    """A session with ``cells`` shared cells, pushed over the wire (two connections, so that no
    connection's message budget is the limit)."""
    teacher = await TeacherClient.connect(lab.url, lab.token)
    try:
        code = str((await teacher.create_session("Long lesson"))["session_code"])
        key = str(teacher.teacher_key)
        half = cells // 2
        for i in range(half):
            await _push_long(teacher, i)
    finally:
        await teacher.close()
    again = await TeacherClient.connect(lab.url, lab.token)
    try:
        await again.resume_session(code, key)
        for i in range(half, cells):
            await _push_long(again, i)
    finally:
        await again.close()
    return code


async def _push_long(teacher: TeacherClient, i: int) -> None:
    """Cell ``i`` of the long lesson: every third one markdown with math, the others code."""
    if i % 3 == 0:
        source, cell_type = f"## Part {i}\n\nWith math $x_{{{i}}}^2$ and *emphasis*.", "markdown"
    else:
        source, cell_type = f"def f{i}(x):\n    y = x * {i}\n    return y + 1\n\nf{i}(2)", "code"
    await teacher.push_cell(f"cell{i}", source, cell_type=cell_type, index=i)


def test_follow_view_of_200_cells(lab: Any, contexts: tuple[Any, Any]) -> None:
    cells = 200
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # not in Playwright's thread
        code = pool.submit(asyncio.run, _share_many(lab, cells)).result(timeout=120)
    _, student_ctx = contexts
    student = Lab(student_ctx.new_page(), lab, "student.ipynb").open()
    join_session(student, code, "Alan")

    student.page.evaluate("() => { window.__nbsyncT0 = performance.now(); }")
    student.page.locator(FOLLOW_TAB).click()
    shown = student.page.wait_for_function(
        """([n]) => {
            const now = performance.now() - window.__nbsyncT0;
            if (document.querySelector("#notebook-sync-follow [data-state='live']")) {
                window.__nbsyncLive ??= now;  // the room connected and synced
            }
            const items = document.querySelectorAll('#notebook-sync-follow .jp-nbsync-follow-cell');
            if (items.length !== n) return false;
            window.__nbsyncListed ??= now;  // every cell listed (bodies not drawn yet)
            const first = items[0].querySelector('.jp-RenderedMarkdown h2');
            const second = items[1].querySelector('.cm-line');
            return first && second ? now : false;
        }""",
        arg=[cells],
        polling="raf",
    ).json_value()
    live, listed = student.page.evaluate("() => [window.__nbsyncLive, window.__nbsyncListed]")
    drawn = student.page.locator(
        f"{FOLLOW} .jp-nbsync-follow-body:not([data-kind='placeholder'])"
    ).count()
    assert drawn < cells  # only the cells near the visible part are drawn

    # scroll to the end: the last cell is drawn when it comes into view
    scrolled = student.page.evaluate(
        """() => new Promise(resolve => {
            const panel = document.querySelector('#notebook-sync-follow');
            const t0 = performance.now();
            panel.scrollTop = panel.scrollHeight;
            const check = () => {
                const items = panel.querySelectorAll('.jp-nbsync-follow-cell');
                const last = items[items.length - 1];
                if (last.querySelector('.cm-line')) resolve(performance.now() - t0);
                else requestAnimationFrame(check);
            };
            check();
        })"""
    )
    figures = {
        "cells": cells,
        "open_to_room_live_ms": round(live, 1),
        "open_to_all_cells_listed_ms": round(listed, 1),
        "open_to_visible_cells_drawn_ms": round(shown, 1),
        "cells_drawn_at_open": drawn,
        "scroll_to_end_drawn_ms": round(scrolled, 1),
        "machine": platform.machine(),
        "collaboration": os.environ.get("NBSYNC_EXPECT_COLLABORATION") == "1",
    }
    print(
        f"\n[figures] follow view, {cells} cells, after opening the panel: room live "
        f"{live:.0f} ms, all cells listed {listed:.0f} ms, visible cells drawn {shown:.0f} ms "
        f"({drawn} of {cells} drawn); scroll to the end drawn in {scrolled:.0f} ms"
    )
    FIGURES.mkdir(parents=True, exist_ok=True)
    (FIGURES / "follow_view.json").write_text(json.dumps(figures, indent=1) + "\n")
