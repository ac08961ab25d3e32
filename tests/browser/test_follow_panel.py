"""The "Follow teacher" panel in a browser: the student follows the session's Yjs room live,
read-only, and pulls cells from it into their own notebook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_classroom import PANEL, Lab, join_session, push, share, start_session

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

FOLLOW = "#notebook-sync-follow"


def follow_cell(student: Lab, cell_id: str) -> Any:
    return student.page.locator(f"{FOLLOW} .jp-nbsync-follow-cell[data-cell-id='{cell_id}']")


def wait_follow(student: Lab, cell_id: str, status: str, source: str | None = None) -> None:
    """Wait until the panel shows the cell with this status (and this source)."""
    student.page.wait_for_function(
        """([sel, status, source]) => {
            const li = document.querySelector(sel);
            if (!li || li.dataset.status !== status) return false;
            if (source === null) return true;
            // code is a read-only editor (its lines), markdown is rendered (its text)
            const lines = Array.from(li.querySelectorAll('.cm-line'));
            const md = li.querySelector('.jp-RenderedMarkdown');
            const shown = md && md.cloneNode(true);
            shown && shown.querySelectorAll('.jp-InternalAnchorLink').forEach(a => a.remove());
            const text = lines.length
              ? lines.map(l => l.textContent).join('\\n')
              : shown ? shown.textContent.trim() : null;
            return text === source;
        }""",
        arg=[
            f"{FOLLOW} .jp-nbsync-follow-cell[data-cell-id='{cell_id}']",
            status,
            source,
        ],
    )


def test_student_follows_the_teacher(
    lab: Any, contexts: tuple[Any, Any], screenshots: Path
) -> None:
    teacher_ctx, student_ctx = contexts
    teacher = Lab(teacher_ctx.new_page(), lab, "teacher.ipynb").open()
    student = Lab(student_ctx.new_page(), lab, "student.ipynb").open()
    code = start_session(teacher)
    join_session(student, code, "Hedy")
    share(teacher, "t-intro")
    share(teacher, "t-sum")

    # the student opens the panel from the class session panel; it goes live with both cells
    student.open_panel()
    student.page.locator("#notebook-sync-panel .jp-nbsync-follow-open").click()
    student.page.wait_for_selector(FOLLOW, state="visible")
    student.page.wait_for_selector(f"{FOLLOW} .jp-nbsync-follow-state[data-state='live']")
    wait_follow(student, "t-intro", "new", "Lesson 1")  # rendered: a heading
    wait_follow(student, "t-sum", "new", "x = 1\ny = 2\nprint(x + y)")
    cells = student.page.locator(f"{FOLLOW} .jp-nbsync-follow-cell")
    assert cells.evaluate_all("els => els.map(e => e.dataset.cellId)") == ["t-intro", "t-sum"]
    assert follow_cell(student, "t-intro").get_attribute("data-cell-type") == "markdown"
    assert student.cell_ids() == ["s-notes"]  # following changes nothing in the notebook

    # the teacher pushes a change: the panel shows it live
    teacher.set_source("t-sum", "x = 10\ny = 2\nprint(x + y)")
    push(teacher, "t-sum")
    wait_follow(student, "t-sum", "new", "x = 10\ny = 2\nprint(x + y)")

    # a locked cell is a placeholder: no content, no pull button
    share(teacher, "t-func")
    wait_follow(student, "t-func", "new", "def f(a):\n    return a\n\nf(3)")
    teacher.bar("t-func").locator(".jp-nbsync-share input").uncheck()
    wait_follow(student, "t-func", "locked")
    locked = follow_cell(student, "t-func")
    locked.locator(".jp-nbsync-follow-locked").wait_for()
    assert "return a" not in locked.inner_text()
    assert locked.locator(".jp-nbsync-follow-source").count() == 0
    assert locked.locator(".jp-nbsync-follow-pull").count() == 0

    # the student pulls one cell from the panel into their notebook (the normal pull path)
    follow_cell(student, "t-sum").locator(".jp-nbsync-follow-pull").click()
    student.page.wait_for_function(
        f"() => document.querySelectorAll('{PANEL} .jp-nbsync-cellbar').length === 2"
    )
    student.wait_source("t-sum", "x = 10\ny = 2\nprint(x + y)")
    assert student.cell_ids() == ["s-notes", "t-sum"]
    wait_follow(student, "t-sum", "current")
    assert follow_cell(student, "t-sum").locator(".jp-nbsync-follow-pull").count() == 0

    # the teacher pushes again: the panel marks the student's copy as behind; the student had
    # changed the next line, so the pull asks (the same conflict dialog as from the cell badge)
    student.set_source("t-sum", "x = 10\ny = 2\nprint(x * y)")
    teacher.set_source("t-sum", "x = 10\ny = 3\nprint(x + y)")
    push(teacher, "t-sum")
    wait_follow(student, "t-sum", "behind", "x = 10\ny = 3\nprint(x + y)")
    student.page.screenshot(path=str(screenshots / "student-follow.png"))
    follow_cell(student, "t-sum").locator(".jp-nbsync-follow-pull").click()
    student.dialog().locator(".jp-nbsync-conflict").wait_for()
    student.click_dialog_button("Use teacher\u2019s")
    student.wait_source("t-sum", "x = 10\ny = 3\nprint(x + y)")
    wait_follow(student, "t-sum", "current")

    # the session ends: the panel says so
    teacher.toolbar("jp-nbsync-end").click()
    student.wait_status(f"Class {code} · ended")
    student.page.locator(f"{FOLLOW} .jp-nbsync-follow-idle", has_text="ended").wait_for()
    assert lab.status()["follow"]["available"] is True
