"""The classroom in a browser: a teacher and a student, each in their own Chromium context,
against one real ``jupyter lab`` with the embedded store."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

# The notebook in view (a page may hold other, hidden notebooks with the same cell ids).
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
BAR = ".jp-nbsync-cellbar[data-cell-id='{}']"
CELL_BAR = PANEL + " " + BAR


class Lab:
    """One person's JupyterLab page with one notebook open."""

    def __init__(self, page: Any, lab: Any, path: str) -> None:
        self.page = page
        self.lab = lab
        self.path = path

    # -- navigation ---------------------------------------------------------------------------
    def open(self) -> Lab:
        self.page.goto(self.lab.page_url(self.path))
        self.wait_loaded()
        return self

    def save(self) -> None:
        self.page.locator(PANEL + " .jp-Notebook").first.click(position={"x": 5, "y": 5})
        self.page.keyboard.press("Control+s")
        self.page.wait_for_selector(".jp-mod-current.jp-mod-dirty", state="detached")
        self.page.wait_for_function(
            "() => !document.querySelector('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty')"
        )

    def reload(self) -> None:
        self.save()
        # A full reload of the app, opening this notebook again (with a clean layout).
        self.page.goto(self.lab.page_url(self.path))
        self.wait_loaded()

    def wait_loaded(self) -> None:
        self.page.wait_for_selector(PANEL + " .jp-nbsync-toolbar button", timeout=60_000)
        self.page.wait_for_selector(PANEL + " .jp-Cell .jp-nbsync-cellbar", state="attached")

    # -- cells ----------------------------------------------------------------------------------
    def cell(self, cell_id: str) -> Any:
        return self.page.locator(f"{PANEL} .jp-Cell:has({BAR.format(cell_id)})")

    def bar(self, cell_id: str) -> Any:
        return self.page.locator(CELL_BAR.format(cell_id))

    def cell_ids(self) -> list[str]:
        return self.page.eval_on_selector_all(
            PANEL + " .jp-Cell .jp-nbsync-cellbar", "els => els.map(e => e.dataset.cellId)"
        )

    def source(self, cell_id: str) -> str:
        return (
            self.cell(cell_id)
            .locator(".cm-content")
            .evaluate(
                "el => Array.from(el.querySelectorAll('.cm-line'))"
                ".map(l => l.textContent).join('\\n')"
            )
        )

    def wait_source(self, cell_id: str, expected: str) -> None:
        self.page.wait_for_function(
            """([sel, expected]) => {
                const bar = document.querySelector(sel);
                const cell = bar && bar.closest('.jp-Cell');
                const content = cell && cell.querySelector('.cm-content');
                if (!content) return false;
                const text = Array.from(content.querySelectorAll('.cm-line'))
                  .map(l => l.textContent).join('\\n');
                return text === expected;
            }""",
            arg=[CELL_BAR.format(cell_id), expected],
        )

    def set_source(self, cell_id: str, text: str) -> None:
        editor = self.cell(cell_id).locator(".cm-content")
        editor.click()
        self.page.keyboard.press("Control+a")
        self.page.keyboard.insert_text(text)
        self.wait_source(cell_id, text)
        self.page.keyboard.press("Escape")

    # -- dialogs, panel, status --------------------------------------------------------------
    def dialog(self) -> Any:
        return self.page.locator(".jp-Dialog")

    def click_dialog_button(self, name: str) -> None:
        handle = self.dialog().element_handle()
        self.dialog().get_by_role("button", name=name, exact=True).click()
        # this dialog closes (another one may open right after it)
        handle.wait_for_element_state("hidden")

    def open_panel(self) -> None:
        self.page.locator(".jp-nbsync-status").click()
        self.page.wait_for_selector("#notebook-sync-panel", state="visible")

    def status_text(self) -> str:
        return self.page.locator(".jp-nbsync-status").inner_text()

    def wait_status(self, pattern: str) -> None:
        self.page.wait_for_function(
            "re => { const el = document.querySelector('.jp-nbsync-status');"
            " return !!el && new RegExp(re).test(el.textContent); }",
            arg=pattern,
        )

    def toolbar(self, cls: str) -> Any:
        # The toolbar may also hold a copy in its overflow popup: take the visible one.
        return self.page.locator(f"{PANEL} .jp-nbsync-toolbar .{cls}:visible").first


# -- flows ---------------------------------------------------------------------------------------


def start_session(teacher: Lab, title: str = "Lesson 1") -> str:
    teacher.toolbar("jp-nbsync-start").click()
    teacher.dialog().locator("input").fill(title)
    teacher.click_dialog_button("Start")
    code_el = teacher.dialog().locator(".jp-nbsync-code")
    code_el.wait_for()
    code = code_el.inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9]{6,}", code), code
    teacher.dialog().locator(".jp-nbsync-copy").wait_for()
    teacher.click_dialog_button("OK")
    teacher.wait_status(f"Teaching {code} · connected")
    return code


def join_session(student: Lab, code: str, name: str) -> None:
    student.toolbar("jp-nbsync-join").click()
    student.dialog().locator(".jp-nbsync-join-code").fill(code.lower())
    student.dialog().locator(".jp-nbsync-join-name").fill(name)
    student.click_dialog_button("Join")
    student.wait_status(f"Class {code} · connected")


def share(teacher: Lab, cell_id: str) -> None:
    teacher.bar(cell_id).locator(".jp-nbsync-share input").check()
    teacher.page.wait_for_selector(f"{CELL_BAR.format(cell_id)}.jp-nbsync-pushed")


def push(teacher: Lab, cell_id: str) -> None:
    teacher.bar(cell_id).locator(".jp-nbsync-push").click()
    teacher.page.wait_for_selector(f"{CELL_BAR.format(cell_id)}.jp-nbsync-pushed")


def pull(student: Lab, cell_id: str) -> None:
    student.bar(cell_id).locator(".jp-nbsync-pull").click()


def roster_row(teacher: Lab, name: str) -> Any:
    return teacher.page.locator(".jp-nbsync-roster tbody tr", has_text=name)


def wait_badge(student: Lab, cell_id: str) -> None:
    student.bar(cell_id).locator(".jp-nbsync-badge").wait_for()


def wait_no_badge(student: Lab, cell_id: str) -> None:
    student.bar(cell_id).locator(".jp-nbsync-badge").wait_for(state="detached")


@pytest.fixture
def classroom(lab: Any, contexts: tuple[Any, Any]) -> tuple[Lab, Lab]:
    teacher_ctx, student_ctx = contexts
    teacher = Lab(teacher_ctx.new_page(), lab, "teacher.ipynb").open()
    student = Lab(student_ctx.new_page(), lab, "student.ipynb").open()
    return teacher, student


def test_classroom_flow(classroom: tuple[Lab, Lab], lab: Any, screenshots: Path) -> None:
    teacher, student = classroom

    # start and join; the teacher's roster shows the student online
    code = start_session(teacher)
    join_session(student, code, "Ada")
    teacher.open_panel()
    roster_row(teacher, "Ada").locator(".jp-mod-online").wait_for()
    assert teacher.page.locator("#notebook-sync-panel .jp-nbsync-code").inner_text() == code

    # share two cells: the student is offered both new cells, in the teacher's order
    share(teacher, "t-sum")  # shared first, but it is second in the teacher's notebook
    push(teacher, "t-intro")
    student.open_panel()
    items = student.page.locator(".jp-nbsync-pending li")
    items.nth(1).wait_for()
    assert items.evaluate_all("els => els.map(e => e.dataset.cellId)") == ["t-intro", "t-sum"]
    assert "2 updates" in student.status_text()
    assert student.cell_ids() == ["s-notes"]  # nothing changes until the student pulls

    # Pull all: the teacher's cells arrive with the teacher's ids, in order, after the student's
    student.page.locator(".jp-nbsync-panel .jp-nbsync-pull-all").click()
    student.page.wait_for_function(
        f"() => document.querySelectorAll('{PANEL} .jp-nbsync-cellbar').length === 3"
    )
    assert student.cell_ids() == ["s-notes", "t-intro", "t-sum"]
    student.wait_source("t-sum", "x = 1\ny = 2\nprint(x + y)")
    student.bar("t-sum").locator(".jp-nbsync-uptodate").wait_for()
    # a third cell shared later lands after t-sum
    share(teacher, "t-func")
    student.page.locator(".jp-nbsync-pending li[data-cell-id='t-func'] .jp-nbsync-pull").click()
    student.page.wait_for_function(
        f"() => document.querySelectorAll('{PANEL} .jp-nbsync-cellbar').length === 4"
    )
    assert student.cell_ids() == ["s-notes", "t-intro", "t-sum", "t-func"]
    student.wait_source("t-func", "def f(a):\n    return a\n\nf(3)")
    teacher.page.locator(".jp-nbsync-roster .jp-nbsync-pulled", has_text="3/3").wait_for()

    # a clean merge: the student changed line 3, the teacher line 1
    student.set_source("t-sum", "x = 1\ny = 2\nprint(x * y)")
    teacher.set_source("t-sum", "x = 10\ny = 2\nprint(x + y)")
    teacher.page.wait_for_selector(f"{CELL_BAR.format('t-sum')}.jp-nbsync-dirty")
    push(teacher, "t-sum")
    wait_badge(student, "t-sum")
    student.bar("t-sum").locator(".jp-nbsync-preview-button").click()
    preview = student.dialog()
    preview.locator(".jp-nbsync-preview-status[data-status='merged']").wait_for()
    changed = preview.locator("tr.jp-nbsync-diff-changed")
    assert changed.count() == 2  # line 1 (teacher) and line 3 (mine) differ
    assert "x = 10" in changed.first.locator(".jp-nbsync-diff-right").inner_text()
    student.page.screenshot(path=str(screenshots / "student-preview.png"))
    student.click_dialog_button("Pull")
    student.wait_source("t-sum", "x = 10\ny = 2\nprint(x * y)")
    wait_no_badge(student, "t-sum")

    # a conflict, kept mine
    student.set_source("t-func", "def f(a):\n    return 2 * a\n\nf(3)")
    teacher.set_source("t-func", "def f(a):\n    return a + 1\n\nf(3)")
    push(teacher, "t-func")
    wait_badge(student, "t-func")
    pull(student, "t-func")
    conflict = student.dialog().locator(".jp-nbsync-conflict")
    conflict.wait_for()
    assert "return a + 1" in conflict.locator(".jp-nbsync-diff-right").all_inner_texts()[1]
    student.page.screenshot(path=str(screenshots / "student-conflict.png"))
    student.click_dialog_button("Keep mine")
    wait_no_badge(student, "t-func")
    assert student.source("t-func") == "def f(a):\n    return 2 * a\n\nf(3)"

    # the same line changed again by the teacher: conflict again, take the teacher's
    teacher.set_source("t-func", "def f(a):\n    return a + 2\n\nf(3)")
    push(teacher, "t-func")
    wait_badge(student, "t-func")
    pull(student, "t-func")
    student.dialog().locator(".jp-nbsync-conflict").wait_for()
    student.click_dialog_button("Use teacher\u2019s")
    student.wait_source("t-func", "def f(a):\n    return a + 2\n\nf(3)")
    wait_no_badge(student, "t-func")
    # "replaced" offers an undo of the student's text
    student.page.locator(".jp-toast-button", has_text="Undo").first.wait_for()

    # a teacher cell the student deleted is offered again, and comes back in its place
    student.cell("t-intro").locator(".jp-InputPrompt").click()
    student.page.keyboard.press("Escape")
    student.page.keyboard.press("d")
    student.page.keyboard.press("d")
    student.page.wait_for_function(
        f"() => document.querySelectorAll('{PANEL} .jp-nbsync-cellbar').length === 3"
    )
    student.open_panel()
    student.page.locator(".jp-nbsync-missing li[data-cell-id='t-intro'] .jp-nbsync-restore").click()
    student.page.wait_for_function(
        f"() => document.querySelectorAll('{PANEL} .jp-nbsync-cellbar').length === 4"
    )
    assert student.cell_ids() == ["s-notes", "t-intro", "t-sum", "t-func"]
    student.page.locator(".jp-nbsync-missing").wait_for(state="detached")

    # a locked cell: the student sees it locked and the server refuses a pull
    teacher.set_source("t-sum", "x = 100\ny = 2\nprint(x + y)")
    push(teacher, "t-sum")
    wait_badge(student, "t-sum")
    teacher.bar("t-sum").locator(".jp-nbsync-share input").uncheck()
    teacher.page.wait_for_selector(f"{CELL_BAR.format('t-sum')}.jp-nbsync-locked")
    student.bar("t-sum").locator(".jp-nbsync-locked-badge").wait_for()
    assert student.bar("t-sum").locator(".jp-nbsync-pull").count() == 0
    refused = student.page.evaluate(
        """async ([code]) => {
            const key = JSON.parse(localStorage.getItem('notebook-sync-ydoc:student:' + code));
            const base = location.origin.replace(/^http/, 'ws');
            const ws = new WebSocket(base + '/notebook-sync/ws?token='
              + encodeURIComponent(new URL(location.href).searchParams.get('token') || ''));
            const replies = {};
            await new Promise((res, rej) => { ws.onopen = res; ws.onerror = rej; });
            const ask = (msg) => new Promise(res => {
              replies[msg.req_id] = res;
              ws.send(JSON.stringify(msg));
            });
            ws.onmessage = ev => {
              const m = JSON.parse(ev.data);
              if (m.req_id && replies[m.req_id]) replies[m.req_id](m);
            };
            const joined = await ask({type: 'join_session', session_code: code,
              student_key: key.student_key, req_id: 'j'});
            const pull = await ask({type: 'request_sync', cell_id: 't-sum',
              local_source: 'x', req_id: 'p'});
            ws.close();
            return {joined: joined.type, pull};
        }""",
        [code],
    )
    assert refused["joined"] == "session_joined", refused
    assert refused["pull"]["type"] == "error", refused
    assert refused["pull"]["code"] == "sync_not_allowed", refused
    student.wait_source("t-sum", "x = 10\ny = 2\nprint(x * y)")  # unchanged

    # screenshots of both views mid-lesson
    teacher.page.screenshot(path=str(screenshots / "teacher.png"))
    student.page.screenshot(path=str(screenshots / "student.png"))

    # the teacher turns a cell into a raw cell: the student's copy follows, same id and place
    teacher.cell("t-intro").locator(".jp-InputPrompt").click()
    teacher.page.keyboard.press("Escape")
    teacher.page.keyboard.press("r")
    teacher.page.locator(f"{PANEL} .jp-RawCell:has({BAR.format('t-intro')})").wait_for()
    push(teacher, "t-intro")
    wait_badge(student, "t-intro")
    pull(student, "t-intro")
    student.page.locator(f"{PANEL} .jp-RawCell:has({BAR.format('t-intro')})").wait_for()
    assert student.cell_ids() == ["s-notes", "t-intro", "t-sum", "t-func"]
    assert student.source("t-intro") == "# Lesson 1"

    # reload both pages: the teacher resumes, the student re-joins with the same identity
    teacher.reload()
    teacher.wait_status(f"Teaching {code} · connected")
    teacher.page.wait_for_selector(f"{CELL_BAR.format('t-func')}.jp-nbsync-pushed")
    assert not teacher.bar("t-sum").locator(".jp-nbsync-share input").is_checked()
    student.reload()
    student.wait_status(f"Class {code} · connected")
    student.bar("t-sum").locator(".jp-nbsync-locked-badge").wait_for()
    student.bar("t-func").locator(".jp-nbsync-uptodate").wait_for()
    teacher.open_panel()
    rows = teacher.page.locator(".jp-nbsync-roster tbody tr")
    rows.first.locator(".jp-mod-online").wait_for()
    assert rows.count() == 1  # the same student, not a second one

    # unlock: the pending change reaches the student after the reload
    teacher.bar("t-sum").locator(".jp-nbsync-share input").check()
    wait_badge(student, "t-sum")
    pull(student, "t-sum")
    student.wait_source("t-sum", "x = 100\ny = 2\nprint(x * y)")

    # end of session: everyone is told
    teacher.toolbar("jp-nbsync-end").click()
    teacher.toolbar("jp-nbsync-start").wait_for()
    student.wait_status(f"Class {code} · ended")
    student.toolbar("jp-nbsync-join").wait_for()
    assert lab.status()["store"]["ok"] is True


def test_student_reconnects_and_catches_up(lab: Any, contexts: tuple[Any, Any]) -> None:
    """The student's connection drops; what the teacher pushed meanwhile arrives on reconnect."""
    teacher_ctx, student_ctx = contexts
    # Route the student's sync socket through Playwright so the test can cut it.
    routes: list[tuple[Any, Any]] = []
    blocked = {"on": False}

    def route(ws: Any) -> None:
        if blocked["on"]:
            ws.close()  # the network is "down": the reconnect attempt fails
            return
        routes.append((ws, ws.connect_to_server()))

    # Before the page loads: JupyterLab keeps the WebSocket constructor it found at start-up.
    student_ctx.route_web_socket(re.compile(r"notebook-sync/ws"), route)
    teacher = Lab(teacher_ctx.new_page(), lab, "teacher.ipynb").open()
    student = Lab(student_ctx.new_page(), lab, "student.ipynb").open()
    code = start_session(teacher)
    join_session(student, code, "Grace")
    share(teacher, "t-intro")
    student.open_panel()
    student.page.locator(".jp-nbsync-pending li[data-cell-id='t-intro']").wait_for()

    blocked["on"] = True
    page_side, server_side = routes[-1]
    server_side.close()
    page_side.close()
    student.wait_status(f"Class {code} · (reconnecting|connecting)")
    teacher.open_panel()
    roster_row(teacher, "Grace").locator(".jp-mod-offline").wait_for()
    share(teacher, "t-sum")  # pushed while the student is away
    blocked["on"] = False
    student.wait_status(f"Class {code} · connected")
    student.page.locator(".jp-nbsync-pending li[data-cell-id='t-sum']").wait_for()
    items = student.page.locator(".jp-nbsync-pending li")
    assert items.evaluate_all("els => els.map(e => e.dataset.cellId)") == ["t-intro", "t-sum"]
    # the same student came back (no duplicate in the roster)
    roster_row(teacher, "Grace").locator(".jp-mod-online").wait_for()
    assert teacher.page.locator(".jp-nbsync-roster tbody tr").count() == 1


def put_settings(lab: Any, settings: dict[str, Any]) -> None:
    """Write the extension's user settings through JupyterLab's settings API."""
    import json
    import urllib.request

    req = urllib.request.Request(
        f"{lab.url}lab/api/settings/notebook-sync-ydoc:plugin?token={lab.token}",
        data=json.dumps({"raw": json.dumps(settings)}).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 204


def test_auto_push_when_run(lab: Any, contexts: tuple[Any, Any]) -> None:
    """With autoPush = "run", running a shared cell pushes it."""
    put_settings(lab, {"autoPush": "run"})
    teacher_ctx, student_ctx = contexts
    teacher = Lab(teacher_ctx.new_page(), lab, "teacher.ipynb").open()
    student = Lab(student_ctx.new_page(), lab, "student.ipynb").open()
    code = start_session(teacher)
    join_session(student, code, "Barbara")
    share(teacher, "t-sum")
    student.open_panel()
    student.page.locator(".jp-nbsync-pending li[data-cell-id='t-sum'] .jp-nbsync-pull").click()
    student.wait_source("t-sum", "x = 1\ny = 2\nprint(x + y)")
    teacher.set_source("t-sum", "x = 3\ny = 2\nprint(x + y)")
    teacher.page.wait_for_selector(f"{CELL_BAR.format('t-sum')}.jp-nbsync-dirty")
    teacher.cell("t-sum").locator(".cm-content").click()
    teacher.page.keyboard.press("Shift+Enter")
    teacher.cell("t-sum").locator(".jp-OutputArea-output", has_text="5").wait_for(timeout=60_000)
    teacher.page.wait_for_selector(f"{CELL_BAR.format('t-sum')}.jp-nbsync-pushed")
    wait_badge(student, "t-sum")
    pull(student, "t-sum")
    student.wait_source("t-sum", "x = 3\ny = 2\nprint(x + y)")


def test_auto_push_after_an_edit_pause(lab: Any, contexts: tuple[Any, Any]) -> None:
    """With the setting autoPush = "pause", a shared cell reaches students without Push."""
    put_settings(lab, {"autoPush": "pause", "autoPushDelayMs": 500})
    teacher_ctx, student_ctx = contexts
    teacher = Lab(teacher_ctx.new_page(), lab, "teacher.ipynb").open()
    student = Lab(student_ctx.new_page(), lab, "student.ipynb").open()
    code = start_session(teacher)
    join_session(student, code, "Alan")
    share(teacher, "t-sum")
    student.open_panel()
    student.page.locator(".jp-nbsync-pending li[data-cell-id='t-sum'] .jp-nbsync-pull").click()
    student.wait_source("t-sum", "x = 1\ny = 2\nprint(x + y)")
    # the teacher edits and does not press Push: the pause pushes it
    teacher.set_source("t-sum", "x = 5\ny = 2\nprint(x + y)")
    teacher.page.wait_for_selector(f"{CELL_BAR.format('t-sum')}.jp-nbsync-pushed")
    wait_badge(student, "t-sum")
    pull(student, "t-sum")
    student.wait_source("t-sum", "x = 5\ny = 2\nprint(x + y)")
    # an unshared cell is never pushed automatically
    teacher.set_source("t-func", "def f(a):\n    return -a\n\nf(3)")
    teacher.bar("t-func").locator(".jp-nbsync-info", has_text="not shared").wait_for()
    assert student.page.locator(".jp-nbsync-pending li[data-cell-id='t-func']").count() == 0


@pytest.mark.redis
def test_two_servers_sharing_redis(redis_labs: tuple[Any, Any], contexts: tuple[Any, Any]) -> None:
    """Teacher and student on different Jupyter servers (as on JupyterHub), one Redis."""
    teacher_lab, student_lab = redis_labs
    teacher_ctx, student_ctx = contexts
    teacher = Lab(teacher_ctx.new_page(), teacher_lab, "teacher.ipynb").open()
    student = Lab(student_ctx.new_page(), student_lab, "student.ipynb").open()
    code = start_session(teacher)
    join_session(student, code, "Edsger")
    teacher.open_panel()
    roster_row(teacher, "Edsger").locator(".jp-mod-online").wait_for()

    share(teacher, "t-sum")
    student.open_panel()
    student.page.locator(".jp-nbsync-pending li[data-cell-id='t-sum'] .jp-nbsync-pull").click()
    student.wait_source("t-sum", "x = 1\ny = 2\nprint(x + y)")
    # a clean merge across servers
    student.set_source("t-sum", "x = 1\ny = 2\nprint(x * y)")
    teacher.set_source("t-sum", "x = 7\ny = 2\nprint(x + y)")
    push(teacher, "t-sum")
    wait_badge(student, "t-sum")
    pull(student, "t-sum")
    student.wait_source("t-sum", "x = 7\ny = 2\nprint(x * y)")
    teacher.page.locator(".jp-nbsync-roster .jp-nbsync-pulled", has_text="1/1").wait_for()
    # lock, then end: both reach the other server
    teacher.bar("t-sum").locator(".jp-nbsync-share input").uncheck()
    student.bar("t-sum").locator(".jp-nbsync-locked-badge").wait_for()
    teacher.toolbar("jp-nbsync-end").click()
    student.wait_status(f"Class {code} · ended")
