"""Fixtures of the hub tests: ``hub`` (a real JupyterHub from deploy/jupyterhub, real_hub.py),
``hub_browser`` (Debian's Chromium) and ``login`` (a logged-in browser context per user)."""

from __future__ import annotations

import os
import secrets
import subprocess
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from browser.conftest import CHROMIUM, CHROMIUM_FLAGS
from browser.test_classroom import Lab
from redis_fixtures import RedisServer, _free_port

from hub.real_hub import (
    CONFIG,
    FAILURES,
    USERS,
    VENV,
    Hub,
    HubUser,
    Login,
    missing,
    prepare_homes,
    stop_hub,
    unavailable,
    wait_hub,
)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """JupyterHub from the documented config: alice in ``teachers``, bob and carol students,
    each server started through the hub's API."""
    reason = missing()
    if reason:
        unavailable(reason)
    tmp = tmp_path_factory.mktemp("hub")
    redis = RedisServer(tmp / "redis", appendonly=False)
    redis.start()
    state = tmp / "state"
    prepare_homes(state / "homes")
    port = _free_port()
    admin_token = secrets.token_hex(16)
    password = secrets.token_hex(8)
    env = {
        **os.environ,
        "NBSYNC_HUB_STATE": str(state),
        "NBSYNC_HUB_VENV": str(VENV),
        "NBSYNC_HUB_PASSWORD": password,
        "NBSYNC_HUB_ADMIN_TOKEN": admin_token,
        "NBSYNC_HUB_BIND_URL": f"http://127.0.0.1:{port}",
        "NBSYNC_HUB_API_URL": f"http://127.0.0.1:{_free_port()}",
        "NBSYNC_HUB_PROXY_API_URL": f"http://127.0.0.1:{_free_port()}",
        "REDIS_URL": redis.url,
    }
    log = tmp / "jupyterhub.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(VENV / "bin" / "jupyterhub"), "-f", str(CONFIG)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp,
            start_new_session=True,  # its own group: killed whole if it hangs on the way out
        )
    hub = Hub(
        url=f"http://127.0.0.1:{port}/",
        admin_token=admin_token,
        password=password,
        state=state,
        log=log,
        proc=proc,
        redis=redis,
    )
    try:
        wait_hub(hub)
        # the three servers start at once, as a class logging in would
        with ThreadPoolExecutor(len(USERS)) as pool:
            took = list(pool.map(hub.start_server, USERS))
        print("servers ready after " + ", ".join(f"{t:.1f} s" for t in took))
        yield hub
    finally:
        try:
            stop_hub(hub)
        finally:
            redis.stop()


@pytest.fixture(scope="module")
def hub_browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            yield b
        finally:
            b.close()


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


@pytest.fixture
def login(hub: Hub, hub_browser: Any, request: pytest.FixtureRequest) -> Iterator[Login]:
    """``login(user, notebook)``: a browser context of its own for ``user``, logged in at the
    hub's login page, with ``notebook`` open in JupyterLab through the hub's public URL."""
    opened: list[tuple[str, Any]] = []

    def open_as(user: str, notebook: str) -> Lab:
        ctx = hub_browser.new_context(viewport={"width": 1400, "height": 900})
        ctx.set_default_timeout(30_000)
        opened.append((user, ctx))
        page = ctx.new_page()
        lab = Lab(page, HubUser(hub, user), notebook)
        # the hub's login page, sending the user on to the notebook (via the server's OAuth)
        target = urllib.parse.urlsplit(lab.lab.page_url(notebook))
        page.goto(f"{hub.url}hub/login?next={urllib.parse.quote(target.path + '?reset')}")
        page.fill("#username_input", user)
        page.fill("#password_input", hub.password)
        page.click("#login_submit")
        lab.wait_loaded()
        return lab

    try:
        yield open_as
    finally:
        if request.node.stash.get(_FAILED, False):
            # what each person saw when the test failed (test-results/ is git-ignored)
            FAILURES.mkdir(parents=True, exist_ok=True)
            for user, ctx in opened:
                for n, page in enumerate(ctx.pages):
                    try:
                        page.screenshot(path=str(FAILURES / f"{request.node.name}-{user}{n}.png"))
                    except Exception as exc:
                        print(f"no screenshot of {user}: {exc}")
            print(hub.log_tail(12000))
        for _, ctx in opened:
            ctx.close()
