"""Help requests and progress in a browser (issue 17): a student asks for help on a teacher
cell, the teacher's queue shows who asked and their note as text (a name and a note carrying
markup run nothing), the teacher answers with a note and a suggestion, the student previews and
pulls it (merged with an edit made meanwhile) apart from the shared updates, and the request is
resolved; the progress view and the cell bar's totals follow (behind, conflict, kept), and the
CSV download has it all.
"""

from __future__ import annotations

import asyncio
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from test_classroom import (
    Lab,
    join_session,
    pull,
    push,
    share,
    start_session,
    wait_badge,
)

from notebook_sync_ydoc.clients import StudentClient

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

PAYLOAD = '<img src=x onerror="window.__pwned=1">'
NAME = f"Eve {PAYLOAD}"
NOTE = f"Why 3? {PAYLOAD}"
ASKED = "x = 1\ny = 2\nprint(x * y)"
SUGGESTED = "x = 5\ny = 2\nprint(x * y)"
EDITED = "x = 1\ny = 2\nprint(x * y, 'done')"
MERGED = "x = 5\ny = 2\nprint(x * y, 'done')"
ANSWER = "Start from x = 5 <b>not</b> 1"
TAB_LABEL = ".lm-TabBar-tab[data-id='notebook-sync-panel'] .lm-TabBar-tabLabel"


def pwned(person: Lab) -> Any:
    return person.page.evaluate("() => window.__pwned")


def test_help_request_flow(lab: Any, contexts: tuple[Any, Any], screenshots: Path) -> None:
    teacher_ctx, student_ctx = contexts
    teacher = Lab(teacher_ctx.new_page(), lab, "teacher.ipynb").open()
    student = Lab(student_ctx.new_page(), lab, "student.ipynb").open()
    code = start_session(teacher)
    join_session(student, code, NAME)
    teacher.open_panel()
    teacher.page.locator(".jp-nbsync-help-title", has_text="Help requests (0)").wait_for()

    # the student gets the teacher's cell and changes it
    share(teacher, "t-sum")
    student.open_panel()
    student.page.locator(".jp-nbsync-pending li[data-cell-id='t-sum'] .jp-nbsync-pull").click()
    student.wait_source("t-sum", "x = 1\ny = 2\nprint(x + y)")
    student.set_source("t-sum", ASKED)

    # ... and asks for help with a note
    student.bar("t-sum").locator(".jp-nbsync-help-ask").click()
    student.dialog().locator(".jp-nbsync-help-note-input").fill(NOTE)
    student.click_dialog_button("Ask for help")
    student.bar("t-sum").locator(".jp-nbsync-help-open", has_text="Help requested").wait_for()
    student.bar("t-sum").locator(".jp-nbsync-help-withdraw").wait_for()

    # the teacher's queue: the name and note as typed, as text; nothing ran
    item = teacher.page.locator(".jp-nbsync-help-queue .jp-nbsync-help-item")
    item.wait_for()
    assert item.count() == 1
    assert item.locator(".jp-nbsync-help-name").inner_text() == NAME
    assert item.locator(".jp-nbsync-help-note").inner_text() == NOTE
    assert "code cell #2" in item.locator(".jp-nbsync-help-cell").inner_text()
    assert item.locator("img").count() == 0
    assert teacher.page.locator("#notebook-sync-panel img").count() == 0
    teacher.page.locator(TAB_LABEL, has_text="1").wait_for()
    totals = teacher.bar("t-sum").locator(".jp-nbsync-totals")
    totals.filter(has_text="1/1 up to date · 1 help").wait_for()
    cell = teacher.page.locator(
        ".jp-nbsync-progress tbody tr td[data-cell-id='t-sum'].jp-nbsync-progress-help"
    )
    cell.wait_for()
    assert cell.get_attribute("data-status") == "up_to_date"
    assert teacher.page.locator(".jp-nbsync-progress-name").inner_text() == NAME
    assert pwned(teacher) is None
    teacher.page.screenshot(path=str(screenshots / "teacher-help.png"))

    # the teacher opens it: the student's text beside the teacher's, then a suggestion
    item.locator(".jp-nbsync-help-open-request").click()
    answer = teacher.dialog().locator(".jp-nbsync-help-answer")
    answer.wait_for()
    assert answer.locator(".jp-nbsync-help-name").inner_text() == NAME
    assert answer.locator(".jp-nbsync-help-request-note").inner_text() == NOTE
    changed = answer.locator("tr.jp-nbsync-diff-changed")
    assert changed.count() == 1
    assert "x * y" in changed.first.locator(".jp-nbsync-diff-left").inner_text()
    assert "x + y" in changed.first.locator(".jp-nbsync-diff-right").inner_text()
    assert pwned(teacher) is None
    source = answer.locator(".jp-nbsync-answer-source")
    assert source.input_value() == ASKED
    source.fill(SUGGESTED)
    assert answer.locator(".jp-nbsync-answer-suggest").is_checked()
    answer.locator(".jp-nbsync-answer-note").fill(ANSWER)

    # meanwhile the student changes another line of that cell
    student.set_source("t-sum", EDITED)
    teacher.click_dialog_button("Send")
    teacher.page.locator(
        ".jp-nbsync-help-item .jp-nbsync-help-answered", has_text="suggestion not pulled"
    ).wait_for()

    # the student sees the answer and a private suggestion, not a shared update
    bar = student.bar("t-sum")
    bar.locator(".jp-nbsync-help-answer-text", has_text=ANSWER).wait_for()
    assert bar.locator(".jp-nbsync-help-answer-text").inner_text() == ANSWER
    bar.locator(".jp-nbsync-suggestion-badge").wait_for()
    assert bar.locator(".jp-nbsync-pull").count() == 0  # the shared cell has nothing new
    assert bar.locator(".jp-nbsync-uptodate").count() == 1
    assert "update" not in student.status_text()

    # after a reload (the server tells an answer once) the page still has both
    student.reload()
    student.wait_status(f"Class {code} · connected")
    bar = student.bar("t-sum")
    bar.locator(".jp-nbsync-suggestion-badge").wait_for()
    assert bar.locator(".jp-nbsync-help-answer-text").inner_text() == ANSWER
    assert bar.locator(".jp-nbsync-help-withdraw").count() == 1
    student.wait_source("t-sum", EDITED)

    # preview, then pull it: merged with the student's edit
    bar.locator(".jp-nbsync-suggestion-preview").click()
    preview = student.dialog()
    preview.locator(".jp-nbsync-suggestion-dialog").wait_for()
    preview.locator(".jp-nbsync-preview-status[data-status='merged']").wait_for()
    student.click_dialog_button("Pull")
    student.wait_source("t-sum", MERGED)
    bar.locator(".jp-nbsync-suggestion-badge").wait_for(state="detached")
    assert bar.locator(".jp-nbsync-uptodate").count() == 1
    teacher.page.wait_for_function(
        "() => { const a = document.querySelector('.jp-nbsync-help-item .jp-nbsync-help-answered');"
        " return !!a && a.textContent === 'answered'; }"
    )

    # the teacher resolves it: the queue empties; the student sees it resolved
    teacher.page.locator(".jp-nbsync-help-item .jp-nbsync-help-resolve").click()
    teacher.page.locator(".jp-nbsync-help-item").wait_for(state="detached")
    teacher.page.locator(".jp-nbsync-help-title", has_text="Help requests (0)").wait_for()
    teacher.page.wait_for_function(
        "sel => { const el = document.querySelector(sel); return !!el && el.textContent === ''; }",
        arg=TAB_LABEL,
    )
    bar.locator(".jp-nbsync-help-resolved").wait_for()
    bar.locator(".jp-nbsync-help-ask").wait_for()
    assert bar.locator(".jp-nbsync-help-answer-text").inner_text() == ANSWER
    student.wait_source("t-sum", MERGED)
    totals.filter(has_text=re.compile(r"^1/1 up to date$")).wait_for()  # no help any more

    # progress: the teacher changes the line between the student's two: behind, then conflict
    teacher.set_source("t-sum", "x = 1\ny = 3\nprint(x + y)")
    push(teacher, "t-sum")
    totals.filter(has_text="0/1 up to date · 1 behind").wait_for()
    progress = teacher.page.locator(".jp-nbsync-progress td[data-cell-id='t-sum']")
    progress.and_(teacher.page.locator("[data-status='behind']")).wait_for()
    wait_badge(student, "t-sum")
    pull(student, "t-sum")
    student.dialog().locator(".jp-nbsync-conflict").wait_for()
    assert student.dialog().locator(".jp-nbsync-suggestion-dialog").count() == 0
    student.click_dialog_button("Decide later")
    totals.filter(has_text="0/1 up to date · 1 conflict").wait_for()
    progress.and_(teacher.page.locator("[data-status='conflict']")).wait_for()
    teacher.page.screenshot(path=str(screenshots / "teacher-progress.png"))
    pull(student, "t-sum")
    student.click_dialog_button("Keep mine")
    student.wait_source("t-sum", MERGED)
    totals.filter(has_text="0/1 up to date · 1 kept their own").wait_for()
    progress.and_(teacher.page.locator("[data-status='kept_mine']")).wait_for()

    # the CSV: the name as typed (quoted), the status
    with teacher.page.expect_download() as download:
        teacher.page.locator(".jp-nbsync-progress-csv").click()
    csv = Path(download.value.path()).read_text()
    assert csv.splitlines()[0].startswith("student,user,online,code cell #2")
    assert csv.splitlines()[1] == '"Eve <img src=x onerror=""window.__pwned=1"">",,yes,kept_mine'
    assert pwned(teacher) is None
    assert pwned(student) is None


BURST = 50


class _Students:
    """Python students on an event loop of their own thread (the page's Playwright is
    synchronous): join, ask for help, leave."""

    def __init__(self, lab: Any) -> None:
        self.lab = lab
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.clients: list[StudentClient] = []

    def run(self, coro: Any, timeout: float = 120) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def join(self, code: str, n: int) -> None:
        async def one(i: int) -> StudentClient:
            client: StudentClient = await StudentClient.connect(self.lab.url, self.lab.token)
            await client.join(code, name=f"Pupil {i:02d}")
            return client

        async def all_of() -> list[StudentClient]:
            out: list[StudentClient] = []
            for start in range(0, n, 10):
                out += await asyncio.gather(*(one(i) for i in range(start, min(n, start + 10))))
            return out

        self.clients = self.run(all_of())

    def ask(self, clients: list[StudentClient], cell_id: str) -> None:
        async def all_of() -> None:
            await asyncio.gather(
                *(
                    c.request("help_request", cell_id=cell_id, local_source=ASKED, note=f"n{i}")
                    for i, c in enumerate(clients)
                )
            )

        self.run(all_of())

    def close(self) -> None:
        async def all_of() -> None:
            await asyncio.gather(*(c.close() for c in self.clients), return_exceptions=True)

        try:
            self.run(all_of(), timeout=30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)


def test_answer_draft_survives_a_burst(lab: Any, contexts: tuple[Any, Any]) -> None:
    """The teacher typing an answer keeps their text and focus while 50 more requests arrive;
    the queue's items are updated in place (the first request's item is the same node), and the
    progress table has every student."""
    teacher_ctx, _ = contexts
    teacher = Lab(teacher_ctx.new_page(), lab, "teacher.ipynb").open()
    code = start_session(teacher)
    share(teacher, "t-sum")
    teacher.open_panel()
    students = _Students(lab)
    try:
        students.join(code, BURST + 1)
        students.ask(students.clients[:1], "t-sum")
        title = teacher.page.locator(".jp-nbsync-help-title")
        title.filter(has_text="Help requests (1)").wait_for()
        item = teacher.page.locator(".jp-nbsync-help-queue .jp-nbsync-help-item")
        item.first.evaluate("li => { li.__nbsyncMark = 'first'; }")

        item.first.locator(".jp-nbsync-help-open-request").click()
        note = teacher.dialog().locator(".jp-nbsync-answer-note")
        note.fill("")
        note.focus()
        teacher.page.keyboard.type("Look at line 2")

        students.ask(students.clients[1:], "t-sum")
        title.filter(has_text=f"Help requests ({BURST + 1})").wait_for()
        teacher.page.wait_for_function(
            "n => { const t = document.querySelector('.jp-nbsync-progress');"
            " return !!t && Number(t.dataset.students) === n"
            " && t.querySelectorAll('td.jp-nbsync-progress-help').length > 0; }",
            arg=BURST + 1,
        )
        # the draft and its focus are as the teacher left them; typing goes on
        assert note.input_value() == "Look at line 2"
        assert note.evaluate("n => document.activeElement === n")
        teacher.page.keyboard.type(", then 3")
        assert note.input_value() == "Look at line 2, then 3"
        # the first item was not rebuilt; every request has one item
        assert item.count() == BURST + 1
        assert item.first.evaluate("li => li.__nbsyncMark") == "first"
        teacher.page.keyboard.press("Escape")
        teacher.dialog().wait_for(state="detached")
    finally:
        students.close()
