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


def open_command_palette(person: Lab) -> Any:
    """The palette's search box, opened as a person would: the shortcut with the notebook
    focused, or, where the shortcut did not reach the app (focus still elsewhere while the page
    settles, as seen with jupyter-collaboration), the View menu. Bounded: three tries."""
    page = person.page
    box = page.locator(".lm-CommandPalette-input")
    for attempt in range(3):
        if attempt % 2 == 0:
            page.locator(f"{PANEL} .jp-Notebook").first.click(position={"x": 5, "y": 5})
            page.keyboard.press("Control+Shift+c")
        else:
            page.keyboard.press("Escape")
            page.locator(".lm-MenuBar-item", has_text="View").click()
            page.locator(".lm-Menu-item", has_text="Activate Command Palette").click()
        try:
            box.wait_for(state="visible", timeout=5_000)
            return box
        except PlaywrightTimeout:
            continue
    box.wait_for(state="visible", timeout=5_000)  # fails with Playwright's own account
    return box


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
        open_command_palette(student).fill("Class Session")
        items = student.page.locator(".lm-CommandPalette-item")
        items.first.wait_for()
        labels = items.all_inner_texts()
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
