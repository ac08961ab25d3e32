"""The classroom on a real JupyterHub (deploy/jupyterhub): a teacher in the hub group
``teachers`` and two students, each on their own single-user server, one Redis, Chromium through
the hub's public URL (configurable-http-proxy)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from browser.test_classroom import (
    PANEL,
    Lab,
    join_session,
    pull,
    push,
    roster_row,
    share,
    start_session,
    wait_badge,
    wait_no_badge,
)

from hub.real_hub import STUDENTS, TEACHER, Hub, Login
from notebook_sync_ydoc.clients import SyncError, TeacherClient

pytestmark = [pytest.mark.browser, pytest.mark.hub, pytest.mark.timeout(420)]

SUM = "x = 1\ny = 2\nprint(x + y)"


def page_status(person: Lab) -> tuple[int, Any]:
    """``GET notebook-sync/status`` from the page, as JupyterLab asks: with the OAuth token the
    server gave this page (its page config), the identity the browser has. (code, body)."""
    code, body = person.page.evaluate(
        """async (url) => {
            const config = JSON.parse(
              document.getElementById('jupyter-config-data').textContent);
            const r = await fetch(url, {headers: {Authorization: 'token ' + config.token}});
            return [r.status, r.status === 200 ? await r.json() : await r.text()];
        }""",
        person.lab.hub.user_url(person.lab.name) + "notebook-sync/status",
    )
    return int(code), body


def may_teach(person: Lab) -> tuple[str, list[str], bool]:
    code, status = page_status(person)
    assert code == 200, (code, status)
    you = status["teaching"]["you"]
    return you["user"], you["groups"], you["may_teach"]


def create_session_as(hub: Hub, user: str) -> dict[str, Any]:
    """``create_session`` over the hub's URL with the user's API token: the reply, or the
    error frame."""

    async def attempt() -> dict[str, Any]:
        client = await TeacherClient.connect(hub.user_url(user), hub.token(user))
        try:
            return await client.create_session("from the API")
        except SyncError as err:
            return err.reply
        finally:
            await client.close()

    # Playwright's sync API holds this thread's event loop: the client runs in another thread.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, attempt()).result(timeout=60)


def open_side_panel(person: Lab) -> Any:
    person.page.locator(".lm-TabBar-tab[data-id='notebook-sync-panel']").click()
    panel = person.page.locator("#notebook-sync-panel")
    panel.wait_for(state="visible")
    return panel


def test_who_may_teach_is_the_hub_group(hub: Hub) -> None:
    """The servers see each user's hub groups: only the ``teachers`` group may create."""
    status = hub.status(TEACHER)
    assert status["store"]["kind"] == "redis", status["store"]
    you = status["teaching"]["you"]
    assert (you["user"], you["groups"], you["may_teach"]) == (TEACHER, ["teachers"], True), you
    for student in STUDENTS:
        you = hub.status(student)["teaching"]["you"]
        assert (you["user"], you["groups"], you["may_teach"]) == (student, [], False), you
    refused = create_session_as(hub, STUDENTS[0])
    assert refused["type"] == "error" and refused["code"] == "forbidden", refused
    created = create_session_as(hub, TEACHER)
    assert created["type"] == "session_created", created


def test_classroom_through_the_hub(hub: Hub, login: Login) -> None:
    bob_name, carol_name = STUDENTS
    teacher = login(TEACHER, "teacher.ipynb")
    bob = login(bob_name, "student.ipynb")
    carol = login(carol_name, "student.ipynb")

    # the browser's own identity (the OAuth token the server gave the page) has the groups too
    assert may_teach(teacher) == (TEACHER, ["teachers"], True)
    assert may_teach(bob) == (bob_name, [], False)
    # a student is not offered "Start session", in the toolbar or the side panel
    bob.page.locator(f"{PANEL} .jp-nbsync-toolbar .jp-nbsync-start").wait_for(state="detached")
    assert bob.toolbar("jp-nbsync-join").is_visible()
    panel = open_side_panel(bob)
    panel.locator(".jp-nbsync-policy").wait_for()
    assert panel.locator(".jp-nbsync-panel-start").count() == 0
    assert teacher.toolbar("jp-nbsync-start").is_visible()

    # start, join: the roster shows the typed names and who they are on the hub
    code = start_session(teacher)
    join_session(bob, code, "Bobby")
    join_session(carol, code, "Caro")
    teacher.open_panel()
    for typed, user in (("Bobby", bob_name), ("Caro", carol_name)):
        row = roster_row(teacher, typed)
        row.locator(".jp-mod-online").wait_for()
        assert row.locator("span.jp-nbsync-roster-user").inner_text() == user

    # share: both students get a badge and pull
    share(teacher, "t-sum")
    for student in (bob, carol):
        student.open_panel()
        student.page.locator(".jp-nbsync-pending li[data-cell-id='t-sum'] .jp-nbsync-pull").click()
        student.wait_source("t-sum", SUM)
    teacher.page.locator(".jp-nbsync-roster .jp-nbsync-pulled", has_text="1/1").nth(1).wait_for()

    # bob changed line 3, carol line 1, the teacher line 1: a preview and a clean merge for
    # bob, a conflict for carol
    bob.set_source("t-sum", "x = 1\ny = 2\nprint(x * y)")
    carol.set_source("t-sum", "x = 5\ny = 2\nprint(x + y)")
    teacher.set_source("t-sum", "x = 10\ny = 2\nprint(x + y)")
    push(teacher, "t-sum")
    wait_badge(bob, "t-sum")
    bob.bar("t-sum").locator(".jp-nbsync-preview-button").click()
    bob.dialog().locator(".jp-nbsync-preview-status[data-status='merged']").wait_for()
    bob.click_dialog_button("Pull")
    bob.wait_source("t-sum", "x = 10\ny = 2\nprint(x * y)")
    wait_no_badge(bob, "t-sum")
    wait_badge(carol, "t-sum")
    pull(carol, "t-sum")
    carol.dialog().locator(".jp-nbsync-conflict").wait_for()
    carol.click_dialog_button("Use teacher\u2019s")
    carol.wait_source("t-sum", "x = 10\ny = 2\nprint(x + y)")
    wait_no_badge(carol, "t-sum")

    # bob's server is stopped and started again through the hub's API while the teacher goes
    # on. The hub revokes a stopped server's OAuth tokens (User.stop deletes its OAuth client),
    # so the open page cannot reconnect by itself: a reload signs it in again through the hub
    # (no password asked), and the page rejoins with its key and catches up, nothing lost.
    bob.save()
    hub.stop_server(bob_name)
    # the hub stops it with SIGINT: a clean stop, so bob is offline on the roster at once
    roster_row(teacher, "Bobby").locator(".jp-mod-offline").wait_for()
    bob.wait_status(f"Class {code} · (reconnecting|connecting|disconnected)")
    teacher.set_source("t-sum", "x = 20\ny = 2\nprint(x + y)")
    push(teacher, "t-sum")
    share(teacher, "t-func")
    hub.start_server(bob_name)
    assert page_status(bob)[0] == 403  # the page's token went with the old server
    bob.wait_status(f"Class {code} · signed out of this server")  # says so, not "reconnecting"
    bob.open()
    bob.wait_status(f"Class {code} · connected")
    bob.open_panel()
    bob.page.locator(".jp-nbsync-pending li[data-cell-id='t-func']").wait_for()
    wait_badge(bob, "t-sum")
    pull(bob, "t-sum")
    bob.wait_source("t-sum", "x = 20\ny = 2\nprint(x * y)")
    bob.page.locator(".jp-nbsync-pending li[data-cell-id='t-func'] .jp-nbsync-pull").click()
    bob.wait_source("t-func", "def f(a):\n    return a\n\nf(3)")
    assert bob.cell_ids() == ["s-notes", "t-sum", "t-func"]
    # the same student came back: one row for bob, online, with everything pulled
    row = roster_row(teacher, "Bobby")
    row.locator(".jp-mod-online").wait_for()
    row.locator(".jp-nbsync-pulled", has_text="2/2").wait_for()
    assert teacher.page.locator(".jp-nbsync-roster tbody tr").count() == 2
    bob.save()  # the restarted server has the notebook, and saves it

    # end of session: every student is told, on every server
    teacher.toolbar("jp-nbsync-end").click()
    teacher.toolbar("jp-nbsync-start").wait_for()
    for student in (bob, carol):
        student.wait_status(f"Class {code} · ended")


def test_a_group_change_reaches_a_restarted_server(hub: Hub) -> None:
    """The single-user server caches the hub's identity of a token (HubOAuth.cache_max_age,
    300 s): a user added to ``teachers`` may teach once their server restarts."""
    carol = STUDENTS[1]
    assert hub.status(carol)["teaching"]["you"]["may_teach"] is False
    code, body = hub.api("POST", "groups/teachers/users", {"users": [carol]})
    assert code == 200, (code, body)
    try:
        # still the cached identity: the documented delay
        assert hub.status(carol)["teaching"]["you"]["groups"] == []
        hub.stop_server(carol)
        hub.start_server(carol)
        you = hub.status(carol)["teaching"]["you"]
        assert (you["groups"], you["may_teach"]) == (["teachers"], True), you
    finally:
        code, body = hub.api("DELETE", "groups/teachers/users", {"users": [carol]})
        assert code == 200, (code, body)
