"""Who may teach, as an administrator configures it (issue 15's identity part): list traits in
the forms administrators write, the policy in the log and in status, the caller as the server
sees them, and a refusal that says why."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from helpers import roster_where
from tornado.httpclient import AsyncHTTPClient
from traitlets import TraitError

from notebook_sync_ydoc.app import names_from_config
from notebook_sync_ydoc.clients import SyncError, TeacherClient


@pytest.mark.parametrize(
    "values,names",
    [
        (["teachers"], ["teachers"]),
        (["teachers", "assistants"], ["teachers", "assistants"]),
        (["['teachers', 'assistants']"], ["teachers", "assistants"]),
        (['["teachers"]'], ["teachers"]),
        ([" teachers "], ["teachers"]),
    ],
)
def test_names_in_the_forms_administrators_write(values: list[str], names: list[str]) -> None:
    assert names_from_config("teacher_groups", values) == names


@pytest.mark.parametrize("bad", ["[teachers]", "['teachers', 3]", "", "[]x]"])
def test_a_list_that_is_not_one_is_refused_with_how_to_write_it(bad: str) -> None:
    with pytest.raises(TraitError, match="teacher_groups"):
        names_from_config("teacher_groups", [bad])


async def test_the_policy_the_caller_and_a_refusal_are_visible(
    nbsync_server_factory: Any, connect: Any
) -> None:
    # the form that used to become one group named "['teachers']" (JupyterHub's Spawner.args)
    server = nbsync_server_factory(
        extra_args=["--NotebookSyncExtensionApp.teacher_groups=['teachers']"]
    )
    teaching = server.status()["teaching"]
    assert teaching["teacher_groups"] == ["teachers"]
    assert teaching["policy"] == "only members of the groups teachers may start sessions"
    assert teaching["you"]["may_teach"] is False and teaching["you"]["groups"] == []
    assert teaching["you"]["named"] is False  # the server token's anonymous user
    teacher: TeacherClient = await connect(server, TeacherClient)
    with pytest.raises(SyncError) as refused:
        await teacher.create_session("not mine")
    assert refused.value.code == "forbidden" and "teachers" in str(refused.value)
    log = server.log_path.read_text(errors="replace")
    assert "only members of the groups teachers may start sessions" in log  # at start
    assert "may not start a session (their groups: none)" in log  # the refusal


async def test_a_hub_server_without_a_shared_store_says_so(
    nbsync_server_factory: Any, connect: Any
) -> None:
    """Under JupyterHub every user has their own server: with the embedded store a student's
    right code reads like a typo. The server warns at start and in status, and the answer to an
    unknown code says what is wrong."""
    from notebook_sync_ydoc.clients import StudentClient

    hub = {"JUPYTERHUB_USER": "ada", "JUPYTERHUB_API_URL": "http://127.0.0.1:9/hub/api"}
    server = nbsync_server_factory(env=hub)
    warnings = server.status()["warnings"]
    assert len(warnings) == 1 and "REDIS_URL" in warnings[0], warnings
    assert "runs under JupyterHub" in server.log_path.read_text(errors="replace")
    student: StudentClient = await connect(server, StudentClient)
    with pytest.raises(SyncError) as missing:
        await student.join("ABCDEF", name="Ada")
    assert missing.value.code == "session_not_found"
    assert "shares no store with other servers" in str(missing.value)
    plain = nbsync_server_factory()  # no hub: no warning, the plain answer
    assert plain.status()["warnings"] == []


async def test_the_roster_names_the_hub_user_beside_the_typed_name(
    nbsync_server_factory: Any,
) -> None:
    """A student may type any name; the teacher also sees who they are (the hub's user), and
    the hub's groups decide who may teach. Anonymous token users (no hub) have no user there."""
    from named_users import token_arg

    from notebook_sync_ydoc.clients import StudentClient

    tests_dir = str(Path(__file__).parent)
    server = nbsync_server_factory(
        env={"PYTHONPATH": os.pathsep.join([tests_dir, os.environ.get("PYTHONPATH", "")])},
        extra_args=[
            *token_arg({"tok-teach": "tess:teachers", "tok-alice": "alice:students"}),
            "--NotebookSyncExtensionApp.teacher_groups=teachers",
        ],
    )
    for token, you in (
        ("tok-alice", {"user": "alice", "named": True, "groups": ["students"], "may_teach": False}),
        ("tok-teach", {"user": "tess", "named": True, "groups": ["teachers"], "may_teach": True}),
    ):
        response = await AsyncHTTPClient().fetch(
            server.base_url + "notebook-sync/status", headers={"Authorization": f"token {token}"}
        )
        assert json.loads(response.body)["teaching"]["you"] == you
    opened: list[Any] = []
    try:
        alice_teaches = await TeacherClient.connect(server.base_url, "tok-alice")
        opened.append(alice_teaches)
        with pytest.raises(SyncError) as refused:
            await alice_teaches.create_session("not hers")
        assert refused.value.code == "forbidden"
        teacher = await TeacherClient.connect(server.base_url, "tok-teach")
        opened.append(teacher)
        code = (await teacher.create_session("Lesson"))["session_code"]
        student = await StudentClient.connect(server.base_url, "tok-alice")
        opened.append(student)
        await student.join(code, name="Bob")  # posing as somebody else
        roster = await roster_where(teacher, lambda r: any(s["online"] for s in r))
        assert [(s["name"], s["user"]) for s in roster] == [("Bob", "alice")]
        anonymous = await StudentClient.connect(server.base_url, server.token)
        opened.append(anonymous)
        await anonymous.join(code, name="Carol")
        roster = await roster_where(teacher, lambda r: sum(s["online"] for s in r) == 2)
        users = {s["name"]: s["user"] for s in roster}
        assert users == {"Bob": "alice", "Carol": ""}, users
    finally:
        for client in opened:
            await client.close()
