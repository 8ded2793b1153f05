"""The report's ``run`` object: when, by what, on what, for which commit and selection."""

from __future__ import annotations

import json
import platform
import subprocess
from pathlib import Path

import pytest

from pytest_kerascompat import __version__
from pytest_kerascompat.commands.merge import merge_reports
from pytest_kerascompat.model.provenance import GitState, RunInfo, git_state
from pytest_kerascompat.model.results import CellReport, Outcome, Report, Result
from pytest_kerascompat.report.html import render_html
from pytest_kerascompat.report.markdown import render_markdown

from .conftest import RESOURCES

HOSTILE = "<script>alert(1)</script>|*"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - an argument list
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def committed_repo(path: Path) -> str:
    git(path, "init", "-q")
    (path / "train.py").write_text("x = 1\n")
    git(path, "add", "train.py")
    git(path, "commit", "-q", "-m", "first")
    return git(path, "rev-parse", "HEAD")


def sample_run(commit: str = "0123456789abcdef0123", dirty: bool = True) -> RunInfo:
    return RunInfo(
        started="2026-11-29T10:00:00+00:00", finished="2026-11-29T10:02:30+00:00",
        tool_version="0.1.0", python="3.12.1", platform="Linux-6.1-x86_64",
        git=GitState(commit, dirty), selection={"cells": ["tf2.16"], "-k": HOSTILE},
    )  # fmt: skip


def sample_report(run: RunInfo | None) -> Report:
    cell = CellReport("tf2.16", python="3.12.1", tensorflow="2.16.2", duration=42.4)
    return Report(
        cells=[cell], results=[Result("tf2.16", "t.py::test_fit", Outcome.PASSED)], run=run
    )


def test_the_git_state_is_the_commit_and_whether_tracked_files_changed(tmp_path: Path) -> None:
    commit = committed_repo(tmp_path)
    assert git_state(tmp_path) == GitState(commit, dirty=False)
    (tmp_path / "untracked.py").write_text("")
    assert git_state(tmp_path) == GitState(commit, dirty=False)
    (tmp_path / "train.py").write_text("x = 2\n")
    assert git_state(tmp_path) == GitState(commit, dirty=True)


def test_outside_a_git_work_tree_there_is_no_git_state(tmp_path: Path) -> None:
    assert git_state(tmp_path) is None


def test_a_run_describes_this_process_and_survives_the_json_report(tmp_path: Path) -> None:
    run = RunInfo.start({"cells": ["a"]}, project=tmp_path).finish()
    assert (run.tool_version, run.python, run.platform) == (
        __version__, platform.python_version(), platform.platform(),
    )  # fmt: skip
    assert run.started <= (run.finished or "")
    report = sample_report(sample_run())
    report.write_json(tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["run"]["git"] == {"commit": "0123456789abcdef0123", "dirty": True}
    assert Report.read_json(tmp_path / "r.json").run == report.run


def test_markdown_and_html_footers_show_the_run_and_each_cells_duration() -> None:
    report = sample_report(sample_run())
    markdown = render_markdown(report)
    footer = markdown.rsplit("\n\n", 1)[-1]
    assert "made 2026-11-29T10:00:00+00:00 to 2026-11-29T10:02:30+00:00" in footer
    assert "pytest-kerascompat 0.1.0" in footer
    assert "Python 3.12.1 on Linux-6.1-x86\\_64" in footer
    assert "commit 0123456789ab (uncommitted changes)" in footer
    assert "cell durations: tf2.16 42.4 s" in footer
    assert "<script>" not in markdown
    page = render_html(report)
    assert '<p class="run">cell durations: tf2.16 42.4 s</p>' in page
    assert "commit 0123456789ab (uncommitted changes)" in page
    assert "<script>alert" not in page


def test_a_report_without_a_run_has_no_footer_lines() -> None:
    assert "<sub>" not in render_markdown(sample_report(None))
    assert 'class="run"' not in render_html(sample_report(None))


def test_merge_keeps_each_shards_run(tmp_path: Path) -> None:
    sample_report(sample_run("a" * 40)).write_json(tmp_path / "one.json")
    other = Report(cells=[CellReport("tf2.15", duration=3.0)], run=sample_run("b" * 40, False))
    other.write_json(tmp_path / "two.json")
    merged = merge_reports([tmp_path / "one.json", tmp_path / "two.json"])
    assert merged.run is not None
    assert merged.run.tool_version == __version__
    shards = merged.run.shards
    assert [(shard["file"], shard["git"]["commit"]) for shard in shards] == [
        ("one.json", "a" * 40), ("two.json", "b" * 40),
    ]  # fmt: skip
    markdown = render_markdown(merged)
    assert "shard one.json: made 2026-11-29T10:00:00+00:00" in markdown
    assert "cell durations: tf2.16 42.4 s, tf2.15 3.0 s" in markdown


def test_a_real_sweep_records_its_run_and_cell_durations(
    pytester: pytest.Pytester, cache_dir: Path
) -> None:
    pytester.path.joinpath("matrix.yaml").write_text((RESOURCES / "plain_matrix.yaml").read_text())
    pytester.makepyfile(
        test_a="import pytest\n\n@pytest.mark.keras_compat\ndef test_a():\n    pass\n"
    )
    commit = committed_repo(pytester.path)
    result = pytester.runpytest_subprocess(
        "--keras-matrix", f"--keras-cache-dir={cache_dir}", "--keras-cells=plain",
        "-k", "test_a", "-p", "no:cacheprovider",
    )  # fmt: skip
    assert result.ret == 0
    report = Report.read_json(pytester.path / ".kerascompat" / "report.json")
    run = report.run
    assert run is not None
    assert run.git == GitState(commit, dirty=False)
    assert run.tool_version == __version__
    assert run.started <= (run.finished or "")
    assert run.selection["cells"] == ["plain"]
    assert run.selection["-k"] == "test_a"
    assert run.selection["matrix_file"] == str(pytester.path / "matrix.yaml")
    assert [cell.duration is not None and cell.duration > 0 for cell in report.cells] == [True]
