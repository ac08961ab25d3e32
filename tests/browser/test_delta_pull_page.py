"""Delta pulls in the browser (issue 16): after its first pull of a cell, a student's page
holds the text it pulled (in memory and in localStorage, so a reload keeps it) and gets only
the CRDT update of later changes; the notebook shows the teacher's text exactly."""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_classroom import Lab, join_session, pull, push, share, start_session, wait_badge

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

# ~10 KB in few long lines: CodeMirror renders only the lines in view, and the test reads the
# text from the page
BIG = "".join(f"value_{k} = {k} " + "+ 1 " * 210 + "\n" for k in range(12))


def pull_replies(frames: list[str]) -> list[dict[str, Any]]:
    out = []
    for raw in frames:
        if '"cell_content_update"' in raw:
            out.append({"bytes": len(raw.encode()), **json.loads(raw)})
    return out


def test_pulls_after_the_first_are_deltas(lab: Any, contexts: tuple[Any, Any]) -> None:
    teacher_ctx, student_ctx = contexts
    teacher = Lab(teacher_ctx.new_page(), lab, "teacher.ipynb").open()
    page = student_ctx.new_page()
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda data: frames.append(str(data))))
    student = Lab(page, lab, "student.ipynb").open()
    code = start_session(teacher)
    join_session(student, code, "Ada")

    teacher.set_source("t-sum", BIG.rstrip("\n"))
    share(teacher, "t-sum")
    student.open_panel()
    student.page.locator(".jp-nbsync-pending li[data-cell-id='t-sum'] .jp-nbsync-pull").click()
    student.wait_source("t-sum", BIG.rstrip("\n"))
    first = pull_replies(frames)[-1]
    assert first["delta"] is False and "no base" in first["full_reason"]

    text = BIG.rstrip("\n")
    for k, (old, new) in enumerate(
        [("value_7 = 7 ", "value_7 = 77 "), ("value_9 = 9 ", "value_9 = 99 ")]
    ):
        text = text.replace(old, new, 1)  # a typing-sized change of a 10 KB cell
        teacher.set_source("t-sum", text)
        push(teacher, "t-sum")
        wait_badge(student, "t-sum")
        pull(student, "t-sum")
        student.wait_source("t-sum", text)
        reply = pull_replies(frames)[-1]
        assert reply["delta"] is True and "source" not in reply["content"], reply
        assert reply["bytes"] <= 300, reply["bytes"]
        print(f"\n[figures] browser delta pull {k}: {reply['bytes']} B (first: {first['bytes']} B)")
        if k == 0:
            # a reload keeps the base (localStorage): the next pull is a delta too
            student.reload()
            student.wait_status(f"Class {code} · connected")
