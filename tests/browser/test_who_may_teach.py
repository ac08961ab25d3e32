"""Who may teach, in the page: a user the server's policy does not allow to teach is not
offered "Start session" (in the toolbar, the class panel, or the command palette), is told why
(the policy and who the server thinks they are), and can still join a class."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import _start_lab, _stop_lab
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from test_classroom import PANEL, Lab, start_session

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


def open_side_panel(person: Lab) -> Any:
    """The class panel from its sidebar tab (the status item is hidden without a session)."""
    person.page.locator(".lm-TabBar-tab[data-id='notebook-sync-panel']").click()
    panel = person.page.locator("#notebook-sync-panel")
    panel.wait_for(state="visible")
    return panel


def palette_labels(person: Lab, query: str) -> list[str]:
    """The command palette's items for ``query``, opened as a person would: the shortcut with
    the notebook focused. The modal palette closes when it loses focus, and on a loaded machine
    the key press can arrive before the page takes it (seen under jupyter-collaboration, and
    with the palette closing again before the query was typed, or after its items showed and
    before they were read): the whole open-type-read is tried again, at most three times, each
    step with its own deadline."""
    page = person.page
    box = page.locator(".lm-CommandPalette-input")
    items = page.locator(".lm-CommandPalette-item")
    for _ in range(2):
        try:
            page.keyboard.press("Escape")
            page.locator(f"{PANEL} .jp-Notebook").first.click(position={"x": 5, "y": 5})
            page.keyboard.press("Control+Shift+c")
            box.fill(query, timeout=10_000)
            items.first.wait_for(timeout=10_000)
            texts = items.all_inner_texts()
            if texts:  # else the palette closed again between showing its items and the read
                return texts
        except PlaywrightTimeout:
            continue
    page.keyboard.press("Escape")
    page.locator(f"{PANEL} .jp-Notebook").first.click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+Shift+c")
    box.fill(query)  # the last try fails with Playwright's own account
    items.first.wait_for()
    return items.all_inner_texts()


def test_start_is_offered_only_to_those_who_may_teach(
    tmp_path: Path, contexts: tuple[Any, Any], lab: Any
) -> None:
    # A second server, teaching only for the user "tess": this page's anonymous user may not.
    strict = _start_lab(tmp_path / "strict", ["--NotebookSyncExtensionApp.teacher_users=tess"])
    try:
        teacher_ctx, student_ctx = contexts
        student = Lab(student_ctx.new_page(), strict, "student.ipynb").open()
        student.page.locator(f"{PANEL} .jp-nbsync-toolbar .jp-nbsync-start").wait_for(
            state="detached"
        )
        assert student.toolbar("jp-nbsync-join").is_visible()
        panel = open_side_panel(student)
        policy = panel.locator(".jp-nbsync-policy")
        policy.wait_for()
        text = policy.inner_text()
        assert "only users tess may start sessions" in text, text
        assert "as no named user" in text, text  # the anonymous token user, not a random id
        assert panel.locator(".jp-nbsync-panel-start").count() == 0
        assert panel.locator(".jp-nbsync-panel-join").is_visible()
        # the palette does not list the command either
        labels = palette_labels(student, "Class Session")
        assert not any("Start (Teacher)" in text for text in labels), labels
        assert any("Join (Student)" in text for text in labels), labels
        student.page.keyboard.press("Escape")

        # The server where anyone may teach offers Start, and the class runs across them: the
        # student of the strict server is refused only as a teacher, never as a student.
        teacher = Lab(teacher_ctx.new_page(), lab, "teacher.ipynb").open()
        assert teacher.toolbar("jp-nbsync-start").is_visible()
        panel = open_side_panel(teacher)
        panel.locator(".jp-nbsync-panel-start").wait_for()
        assert panel.locator(".jp-nbsync-policy").count() == 0
        start_session(teacher)
    finally:
        _stop_lab(strict)
