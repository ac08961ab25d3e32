"""The teacher deletes a shared cell in the notebook: students are told (the remove_cell path),
and nothing throws on the teacher's page. (JupyterLab 4 reports a removal with ``oldValues``
of ``undefined``; reading their ids threw, so no remove_cell was ever sent.)"""

from __future__ import annotations

from typing import Any

import pytest
from test_classroom import BAR, PANEL, Lab, join_session, push, share, start_session

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


def delete_cell(teacher: Lab, cell_id: str) -> None:
    """Select the cell and delete it the way a teacher does: Escape, then D, D."""
    teacher.cell(cell_id).locator(".jp-InputPrompt").first.click()
    teacher.page.keyboard.press("Escape")
    teacher.page.keyboard.press("d")
    teacher.page.keyboard.press("d")
    teacher.cell(cell_id).wait_for(state="detached")


def test_teacher_deletes_shared_cells(lab: Any, contexts: tuple[Any, Any]) -> None:
    teacher_ctx, student_ctx = contexts
    teacher = Lab(teacher_ctx.new_page(), lab, "teacher.ipynb").open()
    errors: list[str] = []
    teacher.page.on("pageerror", lambda exc: errors.append(str(exc)))
    student = Lab(student_ctx.new_page(), lab, "student.ipynb").open()
    code = start_session(teacher)
    join_session(student, code, "Ada")

    share(teacher, "t-sum")
    push(teacher, "t-func")
    student.open_panel()
    pending = student.page.locator(".jp-nbsync-pending li")
    pending.nth(1).wait_for()
    assert pending.evaluate_all("els => els.map(e => e.dataset.cellId)") == ["t-sum", "t-func"]

    # one shared cell deleted: the student's offer of it goes, the other stays
    delete_cell(teacher, "t-sum")
    student.page.locator(".jp-nbsync-pending li[data-cell-id='t-sum']").wait_for(state="detached")
    assert pending.evaluate_all("els => els.map(e => e.dataset.cellId)") == ["t-func"]

    # a cell the student already pulled: deleting it tells the student too
    student.page.locator(".jp-nbsync-pending li[data-cell-id='t-func'] .jp-nbsync-pull").click()
    student.page.wait_for_selector(f"{PANEL} {BAR.format('t-func')} .jp-nbsync-uptodate")
    delete_cell(teacher, "t-func")
    # the student keeps their copy; its bar no longer speaks of the teacher's cell
    student.page.wait_for_selector(
        f"{PANEL} {BAR.format('t-func')}.jp-mod-hidden", state="attached"
    )
    # a cell that was never shared is just a cell: deleting it sends nothing, throws nothing
    delete_cell(teacher, "t-intro")
    assert errors == [], errors
