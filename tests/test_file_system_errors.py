"""Every place a sweep writes is checked before it starts (exit 4, naming the option and
the path); a report that cannot be written afterwards costs only that report (issue 13)."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from pytest_kerascompat.commands.cli import main
from pytest_kerascompat.env._files import write_text_atomically
from pytest_kerascompat.model.results import CellReport, Report

#: A cell with no interpreter: the sweep finishes without building anything.
NO_INTERPRETER = "cells:\n  - {name: gone, python: /nonexistent/python3}\n"


@pytest.fixture
def project(pytester: pytest.Pytester, tmp_path: Path) -> pytest.Pytester:
    pytester.makefile(".yaml", matrix=NO_INTERPRETER)
    pytester.makepyfile("def test_ok():\n    pass\n")
    return pytester


def blocker(pytester: pytest.Pytester) -> Path:
    """A file where a directory is needed: what root cannot write through either."""
    path = pytester.path / "blocker"
    path.write_text("")
    return path


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("--keras-cache-dir={b}/cache", "--keras-cache-dir {b}/cache: cannot create it: Not a"),
        ("--keras-report-html={b}/t.html", "--keras-report-html {b}/t.html: its directory {b}:"),
        ("--keras-report-json={b}/r.json", "--keras-report-json {b}/r.json: its directory {b}:"),
        ("--keras-junitxml={d}", "--keras-junitxml {d}: it is a directory"),
    ],
)
def test_a_place_the_sweep_cannot_write_is_a_usage_error_before_it_starts(
    project: pytest.Pytester, option: str, expected: str
) -> None:
    b, d = blocker(project), project.path
    result = project.runpytest("--keras-matrix", option.format(b=b, d=d))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*cannot write where the sweep must:*"])
    assert expected.format(b=b, d=d) in result.stderr.str()
    assert not (project.path / ".kerascompat" / "runs").exists() or not any(
        (project.path / ".kerascompat" / "runs").iterdir()
    ), "no run was started"


def test_a_project_whose_run_directory_cannot_be_made_is_a_usage_error(
    project: pytest.Pytester,
) -> None:
    (project.path / ".kerascompat").write_text("")
    result = project.runpytest("--keras-matrix", f"--keras-cache-dir={project.path / 'c'}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"{project.path / '.kerascompat' / 'runs'}: cannot create it" in result.stderr.str()


def test_a_report_that_cannot_be_written_after_the_sweep_keeps_the_table_and_the_others(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full_for_markdown(path: Path, text: str) -> None:
        if path.suffix == ".md":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        write_text_atomically(path, text)

    monkeypatch.setattr("pytest_kerascompat.report.write_text_atomically", disk_full_for_markdown)
    md, html = project.path / "out" / "t.md", project.path / "out" / "t.html"
    result = project.runpytest(
        "--keras-matrix",
        f"--keras-cache-dir={project.path / 'c'}",
        f"--keras-report-md={md}",
        f"--keras-report-html={html}",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*gone*no-interpreter*",
            f"*report not written: {md}: No space left on device; free space*",
            "*the table above is complete*",
            "*1 report could not be written*",
        ]
    )
    assert html.is_file()
    assert json.loads((project.path / ".kerascompat" / "report.json").read_text())["cells"]


def test_merge_says_when_it_cannot_write_its_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shard = tmp_path / "shard.json"
    Report(cells=[CellReport(name="a")]).write_json(shard)
    (tmp_path / "blocker").write_text("")
    out = tmp_path / "blocker" / "merged.json"
    assert main(["merge", str(shard), "--json", str(out)]) == 2
    error = capsys.readouterr().err
    assert f"cannot write the merged report: {out}: {out.parent} is not a directory" in error


def test_a_cell_that_cannot_write_its_files_mid_sweep_gets_file_error_and_the_others_go_on(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_kerascompat.sweep import controller

    events = pytester.path / ".kerascompat" / "runs" / "r" / "full.jsonl"

    def disk_full(previous: Path | None, results: Path, say: object = None) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(events))

    monkeypatch.setattr(controller, "replay", disk_full)
    pytester.makefile(
        ".yaml",
        matrix="cells:\n  - {name: gone, python: /nonexistent/python3}\n"
        "  - {name: full, python: '3.11'}\n",
    )
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest("--keras-matrix", f"--keras-cache-dir={pytester.path / 'c'}")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([f"[[]full[]] file-error: {events}: No space left on device"])
    result.stdout.fnmatch_lines(["*status*no-interpreter*file-error*"])
    report = Report.read_json(pytester.path / ".kerascompat" / "report.json")
    statuses = {cell.name: cell.status.value for cell in report.cells}
    assert statuses == {"gone": "no-interpreter", "full": "file-error"}
    assert "run it again (--keras-cells=full)" in (report.cells[1].detail or "")
