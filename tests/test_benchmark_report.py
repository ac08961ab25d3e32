"""The benchmarks' report for a newcomer (issue 16, item 5): without matplotlib (no extra
installs it by default) the measured results are still written, the plot is skipped with how
to get it, and nothing raises."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_a_missing_plotting_library_keeps_the_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "benchmarks"))
    import report

    results = json.loads((ROOT / "docs" / "performance" / "results.json").read_text())
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what `import` sees when not installed
    assert report.write_report(results, tmp_path) is False
    assert json.loads((tmp_path / "results.json").read_text()) == results
    assert (
        "| N |" in (tmp_path / "results.md").read_text()
        or (tmp_path / "results.md").stat().st_size > 0
    )
    assert not (tmp_path / "benchmarks.png").exists()
    assert ".[bench]" in capsys.readouterr().out
