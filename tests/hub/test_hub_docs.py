"""The JupyterHub documentation says what deploy/jupyterhub holds: the lines an administrator
adds, the versions installed, the settings the config file reads. No hub needed."""

from __future__ import annotations

import re
import tomllib

from hub.real_hub import CONFIG, ROOT

HUB_DIR = CONFIG.parent
READMES = [ROOT / "README.md", HUB_DIR / "README.md"]


def marked_lines() -> list[str]:
    """The lines of jupyterhub_config.py an existing hub needs (marked ``# notebook-sync``)."""
    return [
        line
        for line in CONFIG.read_text().splitlines()
        if line.rstrip().endswith("# notebook-sync")
    ]


def test_the_readmes_show_each_line_an_existing_hub_adds() -> None:
    lines = marked_lines()
    assert len(lines) == 3, lines
    for readme in READMES:
        text = readme.read_text()
        for line in lines:
            setting = line.split("=", 1)[0].strip()  # e.g. c.Spawner.environment
            assert f"{setting} = " in text, (readme, setting)
        assert '["--NotebookSyncExtensionApp.teacher_groups=teachers"]' in text, readme
        assert "HubOAuth.cache_max_age" in text, readme


def test_the_versions_and_settings_named_are_those_used() -> None:
    text = (HUB_DIR / "README.md").read_text()
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    (pin,) = extras["hub"]
    version = pin.removeprefix("jupyterhub==")
    assert f"JupyterHub {version}" in text, pin
    setup = (HUB_DIR / "setup.sh").read_text()
    match = re.search(r"^CHP_VERSION=(\S+)$", setup, re.MULTILINE)
    assert match, "setup.sh pins configurable-http-proxy"
    assert f"configurable-http-proxy {match.group(1)}" in text
    config = CONFIG.read_text()
    for readme in READMES:
        for name in set(re.findall(r"NBSYNC_HUB_[A-Z_]+", readme.read_text())):
            assert name in config, (readme, name)
