"""Every place a sweep writes is checked before it starts (exit 4, naming the option and
the path); a report that cannot be written afterwards costs only that report (issue 13)."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

# Imported here, before any in-process run: pytester removes the modules a run imported
# once it ends, so a later test's monkeypatch would patch a copy its own run no longer uses.
import pytest_kerascompat.sweep.session  # noqa: F401
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


def no_space(path: Path | None = None) -> OSError:
    """What a full disk raises; a failed write names no file (``path`` None)."""
    return OSError(errno.ENOSPC, "No space left on device", *([str(path)] if path else []))


def assert_stopped_before_any_cell(result: pytest.RunResult, project: pytest.Pytester) -> str:
    """Exit 4, no traceback, no cell begun, and no empty table written over the last one."""
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in output
    assert "Traceback" not in output
    assert "[gone]" not in output, "no cell started"
    assert not (project.path / ".kerascompat" / "report.json").exists()
    return result.stderr.str()


def test_a_run_directory_that_cannot_be_created_after_the_check_is_a_usage_error(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = project.path / ".kerascompat" / "runs"

    def disk_full(runs_dir: Path) -> Path:
        raise no_space(runs_dir / "20261129-000000-1")

    monkeypatch.setattr("pytest_kerascompat.sweep.session.new_run_dir", disk_full)
    result = project.runpytest("--keras-matrix", f"--keras-cache-dir={project.path / 'c'}")
    error = assert_stopped_before_any_cell(result, project)
    assert (
        f"cannot create this run's directory: {runs}/20261129-000000-1: No space left on "
        "device; no cell has started: free space there or make the project directory "
        "writable, then run again"
    ) in error


def test_a_plan_file_the_full_disk_cannot_take_is_a_usage_error_naming_it(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(path: Path, text: str) -> None:
        raise no_space()  # from the write itself: no file name in the error

    monkeypatch.setattr("pytest_kerascompat.sweep.controller.write_text_atomically", disk_full)
    result = project.runpytest("--keras-matrix", f"--keras-cache-dir={project.path / 'c'}")
    error = assert_stopped_before_any_cell(result, project)
    runs = project.path / ".kerascompat" / "runs"
    (run_dir,) = runs.iterdir()
    assert (
        f"cannot write the plan of the sweep: {run_dir / 'plan.json'}: No space left on device"
        in error
    )


def test_a_cell_package_that_cannot_be_copied_into_the_cache_is_a_usage_error(
    project: pytest.Pytester,
) -> None:
    cache = project.path / "c"
    cache.mkdir()
    (cache / "cellpath").write_text("")  # a file where the cache keeps the cell package
    result = project.runpytest("--keras-matrix", f"--keras-cache-dir={cache}")
    error = assert_stopped_before_any_cell(result, project)
    assert (
        f"cannot copy the cell package into the cache: {cache / 'cellpath'}: File exists; "
        "no cell has started: free space there or make it writable (or give another "
        "--keras-cache-dir), then run again"
    ) in error


def test_cell_timings_the_cache_cannot_take_are_a_warning_line_and_the_table_is_kept(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(path: Path, text: str) -> None:
        raise no_space()

    monkeypatch.setattr("pytest_kerascompat.sweep._schedule.write_text_atomically", disk_full)
    cache = project.path / "c"
    result = project.runpytest("--keras-matrix", f"--keras-cache-dir={cache}")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED  # as without the warning
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(
        [
            f"[[]matrix[]] cell timings not saved: {cache / 'cell-seconds.json'}: No space "
            "left on device; the next sweep starts its cells in matrix order*",
            "*gone*no-interpreter*",
        ]
    )
    report = Report.read_json(project.path / ".kerascompat" / "report.json")
    assert [cell.status.value for cell in report.cells] == ["no-interpreter"]


def test_the_sweep_gives_up_its_environment_holds_when_it_ends(
    project: pytest.Pytester, tmp_path: Path
) -> None:
    from pytest_kerascompat.env import environments

    envdir = tmp_path / "c" / "envs" / "some-key"
    environments.hold(envdir)  # as a cell that found its environment ready does
    assert environments.is_held(envdir)
    result = project.runpytest("--keras-matrix", f"--keras-cache-dir={project.path / 'c'}")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    assert not environments.is_held(envdir), "cache prune may now remove it"
    assert not list(environments.holders_dir(envdir).glob("*.lock")), "the hold file is gone"


def test_a_file_list_the_index_cache_cannot_take_is_named_and_the_plan_still_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_kerascompat.plan.index import PackageIndex

    page = {
        "meta": {"api-version": "1.0"},
        "name": "fakeflow",
        "files": [{"filename": "fakeflow-1.0-py3-none-any.whl", "url": "f.whl", "hashes": {}}],
    }

    def disk_full(path: Path, text: str) -> None:
        raise no_space()

    monkeypatch.setattr("pytest_kerascompat.plan.index.write_text_atomically", disk_full)
    index = PackageIndex(
        tmp_path, index_url="https://i/simple", fetch=lambda url: json.dumps(page).encode()
    )
    assert [str(version) for version in index.releases("fakeflow")] == ["1.0"]
    assert index.cache_problem == (
        f"file lists of the index not cached: {tmp_path / 'index' / 'fakeflow.json'}: No "
        "space left on device; they are fetched again next time (free space in the cache, "
        "or make it writable, to keep them)"
    )


def test_the_sweep_shows_why_the_index_cache_was_not_written_and_goes_on(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_kerascompat.plan.index import PackageIndex

    class UnwritableCache(PackageIndex):
        """Planning as if the cache had refused a file list (this matrix asks for none)."""

        def __init__(self, cache_dir: Path) -> None:
            super().__init__(cache_dir, index_url="https://i/simple")
            self._write_cache(canonicalize_name("fakeflow"), self.project_url("fakeflow"), 0, [])

    def disk_full(path: Path, text: str) -> None:
        raise no_space()

    monkeypatch.setattr("pytest_kerascompat.plan.index.write_text_atomically", disk_full)
    monkeypatch.setattr("pytest_kerascompat.sweep.session.PackageIndex", UnwritableCache)
    cache = project.path / "c"
    result = project.runpytest("--keras-matrix", f"--keras-cache-dir={cache}")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED  # as without the line
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(
        [
            f"[[]matrix[]] file lists of the index not cached: {cache}/index/fakeflow.json: "
            "No space left on device; they are fetched again next time*",
            "*gone*no-interpreter*",
        ]
    )
