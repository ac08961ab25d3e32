"""A whole lesson in one command: a Jupyter server (embedded store), a teacher and three students.

    python examples/classroom_demo.py            # YDoc mode
    python examples/classroom_demo.py --json     # the JSON fallback, same transcript

It prints a transcript: notifications, pulls, a clean merge of a student's own edit, a conflict
resolved with each strategy, a refused pull of a locked cell, a help request answered with a
private suggestion (merged with an edit made meanwhile) and the teacher's progress view, the
roster, the end of the session.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

from notebook_sync_ydoc.clients import StudentClient, SyncError, TeacherClient
from notebook_sync_ydoc.testing import JupyterServerProcess

INTRO = "# Circles\nToday we compute areas.\n"
AREA_V1 = "import math\n\n\ndef area(r):\n    return math.pi * r * r\n\n\nprint(area(1))\n"
AREA_V2 = "import math\n\n\ndef area(r):\n    return math.pi * r**2\n\n\nprint(area(1))\n"
AREA_V3 = (
    "import math\n\n\ndef area(r):\n    return math.pi * r**2  # r squared\n\n\nprint(area(1))\n"
)
SOLUTION = "answer = area(3)\nprint(f'{answer:.2f}')\n"
ASKED = "radius = 3\nanswer = area(radius)\nprint(answer)\n"
SUGGESTED = "radius = 3\nanswer = area(radius)\nprint(f'{answer:.2f}')\n"


def say(who: str, text: str) -> None:
    print(f"{who:>9} | {text}")


def show(who: str, title: str, source: str | None) -> None:
    say(who, title)
    for line in (source or "(empty)").rstrip("\n").splitlines():
        print(f"{'':>9} |     {line}")


async def drain_notes(student: StudentClient, name: str, expect: int) -> None:
    for _ in range(expect):
        note = await student.next_message("update_available")
        say(name, f"notified: cell '{note['cell_id']}' has an update (seq {note['seq']})")


async def show_progress(teacher: TeacherClient, when: str) -> None:
    """The teacher's progress view: per student, each shared cell's status; "+help" where a
    help request is open."""
    matrix = await teacher.progress()

    def row(label: str, values: list[str]) -> None:
        say("progress", f"{label:<14}" + "".join(f"{v:<18}" for v in values).rstrip())

    row(when, matrix["cells"])
    for student in matrix["students"]:
        cells = [student["cells"][c] for c in matrix["cells"]]
        row(f"  {student['name']}", [c["status"] + (" +help" if c["help"] else "") for c in cells])


async def help_scene(teacher: TeacherClient, ada: StudentClient) -> None:
    """Ada asks for help on 'solution' with a note; the teacher answers with a note and a
    suggested source; she changes another line meanwhile; preview, pull (merged), resolve."""
    ada.edit_cell("solution", ASKED)
    show("Ada", "rewrites 'solution':", ada.source("solution"))
    await ada.ask_help("solution", note="why so many digits?")
    say("Ada", "asks for help on 'solution': \"why so many digits?\" (her text goes with it)")
    asked = (await teacher.next_message("help_update"))["request"]
    say("teacher", f"help queue: {asked['name']} on '{asked['cell_id']}': \"{asked['note']}\"")
    await show_progress(teacher, "before:")
    await teacher.help_answer(
        asked["student_id"], "solution", note="format it: f'{answer:.2f}'", source=SUGGESTED
    )
    show("teacher", "answers with a note and a suggestion, for Ada alone:", SUGGESTED)
    ada.edit_cell("solution", ASKED.replace("radius = 3", "radius = 4"))
    say("Ada", "meanwhile changes another line of it: radius = 4")
    answer = await ada.next_message("help_answered")
    seq = await ada.wait_for_suggestion("solution")
    say("Ada", f'told: "{answer["note"]}", and a suggestion waits (private, seq {seq})')
    preview = await ada.preview_suggestion("solution")
    say("Ada", f"previews the suggestion: a pull would be '{preview['status']}'")
    reply = await ada.pull_suggestion("solution")
    both = f"pulls it: {reply['status']} -- her radius and the teacher's format:"
    show("Ada", both, ada.source("solution"))
    await teacher.help_answer(asked["student_id"], "solution", resolve=True)
    say("teacher", f"resolves it; open requests: {len(await teacher.help_list())}")
    for _ in range(10):  # the answer, then the resolution
        if (await ada.next_message("help_answered"))["resolved"]:
            say("Ada", "told: resolved")
            break
    await show_progress(teacher, "after:")


async def lesson(server: JupyterServerProcess) -> None:
    url, token = server.base_url, server.token
    status = server.status()
    say("server", f"{url} mode={status['mode']} store={status['store']['kind']}")

    teacher: TeacherClient = await TeacherClient.connect(url, token)
    created = await teacher.create_session("Circles, week 3")
    code = created["session_code"]
    say("teacher", f"created session '{created['title']}': code {code}")

    students: dict[str, StudentClient] = {}
    for name in ("Ada", "Grace", "Linus"):
        client: StudentClient = await StudentClient.connect(url, token)
        joined = await client.join(code, name=name)
        students[name] = client
        say(name, f"joined {code} ({len(joined['cells'])} cells so far)")
    ada, grace, linus = students["Ada"], students["Grace"], students["Linus"]

    print()
    await teacher.push_cell("intro", INTRO, cell_type="markdown", index=0)
    await teacher.push_cell("area", AREA_V1, index=1)
    await teacher.push_cell("solution", SOLUTION, index=2, sync_allowed=False)
    say("teacher", "pushed 'intro' and 'area'; pushed 'solution' locked (sync_allowed=false)")
    for name, client in students.items():
        await drain_notes(client, name, 2)

    print()
    for reply in await ada.pull_all():
        say("Ada", f"pulled '{reply['cell_id']}': {reply['status']}")
    await grace.pull("area")
    await linus.pull("area")
    say("Grace", "pulled 'area': fast_forward (nothing else changes in her notebook)")
    say("Linus", "pulled 'area': fast_forward")

    print("\n--- a clean merge of a student's own edit ---")
    grace.edit_cell("area", AREA_V1.replace("print(area(1))", "print(area(2))  # my radius"))
    show("Grace", "edits her copy of 'area' (last line):", grace.source("area"))
    ack = await teacher.push_cell("area", AREA_V2)
    say("teacher", f"changes 'r * r' to 'r**2' in 'area' (seq {ack['seq']})")
    await grace.wait_for_update("area", ack["seq"] - 1)
    preview = await grace.preview("area")
    say("Grace", f"previews 'area': a pull would be '{preview['status']}'")
    reply = await grace.pull("area")
    show(
        "Grace",
        f"pulls 'area': {reply['status']} -- her edit and the teacher's, together:",
        grace.source("area"),
    )

    print("\n--- a conflict, resolved both ways ---")
    linus.edit_cell("area", AREA_V1.replace("math.pi * r * r", "3.14 * r * r"))
    show("Linus", "edits the same line the teacher changed:", linus.source("area"))
    reply = await linus.pull("area")
    say("Linus", f"pulls 'area': {reply['status']} (nothing changed in his notebook)")
    for hunk in reply["conflicts"]:
        first, last = hunk["base_start"] + 1, hunk["base_end"]
        where = f"line {first}" if first >= last else f"lines {first}-{last}"
        say("Linus", f"conflict at {where} of the version he pulled")
    show("Linus", "theirs (teacher):", reply["theirs"])
    reply = await linus.pull("area", strategy="mine")
    show("Linus", f"keeps his version: {reply['status']}", linus.source("area"))
    ack = await teacher.push_cell("area", AREA_V3)
    say("teacher", f"adds a comment to the same line (seq {ack['seq']})")
    await linus.wait_for_update("area", ack["seq"] - 1)
    reply = await linus.pull("area")
    say("Linus", f"pulls again: {reply['status']}")
    reply = await linus.pull("area", strategy="theirs")
    show(
        "Linus",
        f"takes the teacher's: {reply['status']} (his old text is kept for undo)",
        linus.source("area"),
    )

    print("\n--- a locked cell ---")
    try:
        await ada.pull("solution")
    except SyncError as exc:
        say("Ada", f"tries to pull 'solution': refused ({exc.code}: {exc.message})")
    await teacher.toggle_sync("solution", True)
    say("teacher", "unlocks 'solution'")
    seq = await ada.wait_for_update("solution")
    say("Ada", f"notified: 'solution' is available (seq {seq})")
    reply = await ada.pull("solution")
    show("Ada", f"pulls 'solution': {reply['status']}", ada.source("solution"))
    say("Ada", f"her notebook's cells, in the teacher's order: {ada.cell_ids()}")

    print("\n--- a help request, answered with a suggestion ---")
    await help_scene(teacher, ada)

    print("\n--- the teacher's roster ---")
    roster: list[dict[str, Any]] = []
    while not any("solution" in e["pulled"] for e in roster):  # the latest, coalesced update
        roster = (await teacher.next_message("roster_update"))["students"]
    for entry in roster:
        pulled = ", ".join(f"{c}@{s}" for c, s in sorted(entry["pulled"].items()))
        say("roster", f"{entry['name']:<6} online={entry['online']} pulled: {pulled}")

    print()
    await teacher.end_session()
    say("teacher", "ends the session")
    for name, client in students.items():
        ended = await client.next_message("session_ended")
        say(name, f"told: session {ended['session_code']} ended")
    for client in [teacher, *students.values()]:
        await client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=textwrap.dedent(__doc__ or ""))
    parser.add_argument("--json", action="store_true", help="run the server in JSON mode")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="nbsync-demo-") as tmp:
        options: dict[str, Any] = {"use_ydoc": not args.json}
        server = JupyterServerProcess(Path(tmp), options=options)
        server.start()
        try:
            asyncio.run(lesson(server))
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
