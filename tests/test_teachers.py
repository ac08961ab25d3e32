"""Who may teach, as an administrator configures it (issue 15's identity part): list traits in
the forms administrators write, the policy in the log and in status, the caller as the server
sees them, and a refusal that says why."""

from __future__ import annotations

from typing import Any

import pytest
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
