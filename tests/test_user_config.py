"""A user's own pytest configuration in every cell, and pytest's own failure reports.

Sweeps run on cells without TensorFlow (as in ``test_sweep.py``): the configuration
handling is the same in a TensorFlow cell, which ``test_integration.py`` checks once. The
worker runs in process where no cell is needed; it is registered before parsing, as
``python -m kerascompat_cell`` registers it in a cell.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_kerascompat.cell import fixtures, user_config, worker
from pytest_kerascompat.config.matrix import CellSpec
from pytest_kerascompat.config.options import OPTIONS
from pytest_kerascompat.model.results import CellReport, CellStatus, Outcome, Report, Result
from pytest_kerascompat.plan.plans import CellPlan
from pytest_kerascompat.report.html import render_html
from pytest_kerascompat.report.junit import render_junit
from pytest_kerascompat.report.markdown import render_markdown
from pytest_kerascompat.sweep._config_errors import describe_usage_error
from pytest_kerascompat.sweep._launch import (
    CELL_PACKAGE,
    WorkerCall,
    prepare_cellpath,
    worker_argv,
    worker_env,
)
from pytest_kerascompat.sweep.session import report_args

from .conftest import RESOURCES, installed_python37

Event = dict[str, Any]

SUITE = """
import pytest

@pytest.mark.keras_compat
def test_passes():
    pass

@pytest.mark.keras_compat
def test_fails():
    value = {"a": 1}
    print("some output")
    assert value == {"a": 2}

@pytest.mark.slow
@pytest.mark.keras_compat
def test_passes_after_a_failure():
    pass
"""
#: A plugin of the user's project: its option and ini key exist where it is loaded.
LOCAL_PLUGIN = """
def pytest_addoption(parser):
    parser.addoption("--local-flag", default=None, help="a project plugin's option")
    parser.addini("local_key", "a project plugin's ini key")
"""
STRICT_CONFIG = """
[tool.pytest.ini_options]
addopts = ["--strict-markers", "--strict-config", "-ra", "--keras-jobs=1"{extra}]
filterwarnings = ["error"]
markers = ["slow: a slow test"]
keras_timeout = "30"
keras_report_md = "report.md"
cache_dir = ".cache-elsewhere"
{ini}
"""


def strict_project(pytester: pytest.Pytester, extra: str = "", ini: str = "") -> None:
    pytester.path.joinpath("matrix.yaml").write_text((RESOURCES / "plain_matrix.yaml").read_text())
    pytester.makepyfile(test_suite=SUITE, local_plugin=LOCAL_PLUGIN)
    pytester.path.joinpath("pyproject.toml").write_text(STRICT_CONFIG.format(extra=extra, ini=ini))


def sweep(pytester: pytest.Pytester, cache_dir: Path, *args: str) -> pytest.RunResult:
    """As a user runs it: their configuration applies to the controller too."""
    return pytester.runpytest_subprocess(
        "--keras-matrix", f"--keras-cache-dir={cache_dir}", "--keras-cells=plain", *args
    )


def report_of(pytester: pytest.Pytester) -> Report:
    return Report.read_json(pytester.path / ".kerascompat" / "report.json")


def outcomes(report: Report) -> dict[str, str]:
    return {result.test: result.outcome.value for result in report.results}


# ------------------------------------------------------------ the configuration holds


def test_a_strict_configuration_with_the_plugins_own_keys_runs_every_square_as_without_it(
    pytester: pytest.Pytester, cache_dir: Path
) -> None:
    strict_project(pytester, extra=', "-p", "local_plugin", "--local-flag=on"')
    strict = sweep(pytester, cache_dir)
    strict_outcomes = outcomes(report_of(pytester))
    pytester.path.joinpath("plain.ini").write_text("[pytest]\n")
    plain = sweep(pytester, cache_dir, "-c", "plain.ini")

    assert "INTERNALERROR" not in strict.stdout.str() + strict.stderr.str()
    assert strict.ret == plain.ret == pytest.ExitCode.TESTS_FAILED
    assert report_of(pytester).cells[0].status is CellStatus.OK
    assert (
        strict_outcomes
        == outcomes(report_of(pytester))
        == {
            "test_suite.py::test_passes": "passed",
            "test_suite.py::test_fails": "failed",
            "test_suite.py::test_passes_after_a_failure": "passed",
        }
    )
    assert (pytester.path / "report.md").is_file(), "the plugin's ini key applied"


def test_a_plugins_option_in_addopts_reaches_the_cell_where_the_plugin_loads(
    pytester: pytest.Pytester, cache_dir: Path
) -> None:
    strict_project(pytester, extra=', "-p", "local_plugin", "--local-flag=on"')
    pytester.makepyfile(
        test_suite="""
        import pytest

        @pytest.mark.keras_compat
        def test_sees_the_flag(request):
            assert request.config.getoption("local_flag") == "on"
        """
    )
    result = sweep(pytester, cache_dir)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert outcomes(report_of(pytester)) == {"test_suite.py::test_sees_the_flag": "passed"}


@pytest.mark.parametrize(
    ("extra", "ini", "named"),
    [
        (', "--local-flag=on"', "", "--local-flag (from addopts or PYTEST_ADDOPTS)"),
        ("", "local_key = 1", "the ini key local_key"),
    ],
    ids=["option", "ini-key"],
)
def test_what_the_cell_lacks_is_a_usage_error_naming_it_and_the_fix_not_an_import_error(
    pytester: pytest.Pytester, cache_dir: Path, extra: str, ini: str, named: str
) -> None:
    strict_project(pytester, extra=extra, ini=ini)
    # The controller has the project's plugin; the cell is not told to load it.
    result = sweep(pytester, cache_dir, "-p", "local_plugin")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = report_of(pytester)
    (cell,) = report.cells
    assert cell.status is CellStatus.USAGE_ERROR
    assert report.results == [], "no square claims a test ran"
    assert named in (cell.detail or "")
    assert "to this cell's `packages` in matrix.yaml" in (cell.detail or "")
    assert "test extras" in (cell.detail or "")
    result.stdout.fnmatch_lines(["*plain: usage-error*", f"*{named}*"])


def test_options_that_stop_reorder_or_distribute_a_session_are_inert_in_the_worker(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setattr(fixtures, "_STACKS", {})
    pytester.makepyfile(test_suite=SUITE)
    pytester.makeini("[pytest]\naddopts = -x --maxfail=1 --sw --lf --ff --nf\ncache_dir = c\n")
    events = run_worker(pytester)
    assert [event["test"] for event in of_kind(events, "finish")] == [
        "test_suite.py::test_passes",
        "test_suite.py::test_fails",
        "test_suite.py::test_passes_after_a_failure",
    ]


def test_neutralising_leaves_the_options_a_session_does_not_stop_on() -> None:
    class Namespace:
        maxfail, usepdb, stepwise, tbstyle, verbose = 1, True, True, "short", 2

    option = Namespace()
    user_config.neutralise(option)
    assert (option.maxfail, option.usepdb, option.stepwise) == (0, False, False)
    assert (option.tbstyle, option.verbose) == ("short", 2)
    assert not hasattr(option, "dist"), "only options the cell has are touched"


def test_a_plugin_that_does_not_load_is_recorded_as_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(test_suite=SUITE)
    events = run_worker(pytester, "-p", "no_such_plugin_here")
    (refusal,) = of_kind(events, "usage_error")
    assert 'Error importing plugin "no_such_plugin_here"' in refusal["message"]
    assert of_kind(events, "done")[-1]["exitstatus"] == user_config.USAGE_ERROR_STATUS


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "usage: python -m kerascompat_cell [options] [file_or_dir]\n"
            "kerascompat_cell: error: unrecognized arguments: --cov=tinyfit --cov-report=term\n"
            "  inifile: /p/pyproject.toml\n  rootdir: /p",
            [
                "refused the configuration: unrecognized arguments: --cov=tinyfit",
                "--cov, --cov-report (from addopts or PYTEST_ADDOPTS)",
                "add pytest-cov to this cell's `packages`",
            ],
        ),
        ("unrecognized arguments: -n 2", ["-n (from addopts", "add pytest-xdist"]),
        ("Unknown config option: timeout\n", ["the ini key timeout", "add pytest-timeout"]),
        (
            "Error importing plugin \"xdist\": No module named 'xdist'",
            ["-p xdist names a plugin", "add pytest-xdist"],
        ),
        ("Missing required plugins: pytest-cov", ["required_plugins", "add pytest-cov"]),
        ("minversion requires pytest-99", ["refused the configuration: minversion"]),
    ],
)
def test_usage_errors_name_what_the_cell_lacks_and_where_to_install_it(
    message: str, expected: list[str]
) -> None:
    detail = describe_usage_error({"exc_type": "UsageError", "message": message})
    for words in expected:
        assert words in detail
    assert "usage:" not in detail


# ------------------------------------------------------------------ failure reports


def run_worker(pytester: pytest.Pytester, *args: str) -> list[Event]:
    """The worker in process, registered before parsing as in a cell; its events."""
    events = pytester.path / "events.jsonl"
    pytester.runpytest(
        "-p", "no:kerascompat", "-p", "no:cacheprovider", f"--kc-results={events}", *args,
        plugins=[worker],
    )  # fmt: skip
    with events.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def of_kind(events: list[Event], kind: str) -> list[Event]:
    return [event for event in events if event["event"] == kind]


def finish_of(events: list[Event], name: str) -> Event:
    return next(event for event in of_kind(events, "finish") if event["test"].endswith(name))


@pytest.fixture
def hermetic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setattr(fixtures, "_STACKS", {})


@pytest.mark.usefixtures("hermetic")
def test_a_failure_sends_pytests_own_report_with_source_diff_and_output(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_suite=SUITE + "\ndef test_skips():\n    pytest.skip('no GPU')\n")
    events = run_worker(pytester, "--kc-mode=named")
    report = finish_of(events, "test_fails")["longrepr"]
    assert "    def test_fails():" in report, "the first source line keeps its indent"
    assert '>       assert value == {"a": 2}' in report
    assert "E       AssertionError: assert {'a': 1} == {'a': 2}" in report
    assert "Differing items:" in report
    assert "Captured stdout call" in report
    assert "some output" in report
    assert report.endswith("some output")
    assert finish_of(events, "test_passes")["longrepr"] is None
    assert finish_of(events, "test_skips")["longrepr"] is None


@pytest.mark.usefixtures("hermetic")
def test_the_report_follows_the_tb_and_show_capture_styles_asked_for(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_suite=SUITE)
    events = run_worker(pytester, "--tb=short", "--show-capture=no")
    report = finish_of(events, "test_fails")["longrepr"]
    assert report.startswith("test_suite.py:11: in test_fails")
    assert "def test_fails" not in report
    assert "some output" not in report


@pytest.mark.usefixtures("hermetic")
def test_a_module_that_fails_to_import_sends_its_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_broken="from json import no_such_name\n")
    events = run_worker(pytester, "--continue-on-collection-errors")
    (error,) = of_kind(events, "collect_error")
    assert "from json import no_such_name" in error["longrepr"]
    assert "ImportError" in error["longrepr"]


def test_a_very_long_report_keeps_its_head_and_tail() -> None:
    text = "head\n" + "x" * 1000 + "\ntail"
    clipped = worker.clip(text, 300)
    assert clipped.startswith("head")
    assert clipped.endswith("tail")
    assert "characters cut here; the worker log has them" in clipped
    assert len(clipped) < 400
    assert worker.clip("short", 300) == "short"


def test_a_failing_square_prints_pytests_report_under_failures_and_the_json_keeps_it(
    pytester: pytest.Pytester, cache_dir: Path
) -> None:
    strict_project(pytester)
    result = sweep(pytester, cache_dir, "--tb=short")

    result.stdout.fnmatch_lines(
        [
            "*= FAILURES =*",
            "[[]plain[]] failed: AssertionError: assert {'a': 1} == {'a': 2}",
            "test_suite.py:11: in test_fails",
            '    assert value == {"a": 2}',
            "E   AssertionError: assert {'a': 1} == {'a': 2}",
            "*Captured stdout call*",
            "some output",
            "worker log: *plain.worker.log",
        ]
    )
    report = report_of(pytester)
    failed = next(r for r in report.results if r.outcome is Outcome.FAILED)
    assert failed.longrepr is not None
    assert 'assert value == {"a": 2}' in failed.longrepr
    assert Path(report.cells[0].worker_log or "").is_file()
    assert all(r.longrepr is None for r in report.results if r.outcome is Outcome.PASSED)


def reported(longreprs: dict[str, str | None]) -> Report:
    cells = [CellReport(name, worker_log=f"/runs/{name}.worker.log") for name in longreprs]
    results = [
        Result(name, "tests/test_x.py::test_y", Outcome.FAILED, exc_type="AssertionError",
               message="assert 1 == 2", longrepr=text)
        for name, text in longreprs.items()
    ]  # fmt: skip
    return Report(cells=cells, results=results)


def test_markdown_html_and_junit_show_pytests_report_folded_with_the_worker_log() -> None:
    same = ">       assert f() == 2\nE       assert 1 == 2\n\ntests/test_x.py:7: AssertionError"
    report = reported({"a": same, "b": same, "c": same.replace("f()", "g()"), "d": None})

    markdown = render_markdown(report)
    assert "<summary>pytest's report (a, b)</summary>" in markdown
    assert "<summary>pytest's report (c)</summary>" in markdown
    assert "  >       assert f() == 2" in markdown, "inside the item's indented code block"
    assert "worker log: /runs/a.worker.log" in markdown
    assert "pytest's report (d)" not in markdown

    page = render_html(report)
    assert '<details class="note-report"><summary>pytest&#x27;s report (a, b)</summary>' in page
    assert "&gt;       assert g() == 2" in page
    assert "worker log: /runs/c.worker.log</pre></details></li>" in page

    assert "&gt;       assert f() == 2" in render_junit(report)


# ------------------------------------------------------------------- entering a cell


def test_the_worker_starts_as_the_cell_package_with_the_users_report_style(
    tmp_path: Path,
) -> None:
    plan = CellPlan(
        spec=CellSpec(name="cell"), python="3.11.7", executable="/usr/bin/python3",
        python_note="", requirements=("tensorflow==2.16.*",), pins=(),
    )  # fmt: skip
    call = WorkerCall(
        results=tmp_path / "e.jsonl", mode="user", cellpath=tmp_path, report_args=("--tb=short",)
    )
    argv = worker_argv(Path("python"), plan, call)
    assert argv[1:3] == ["-m", CELL_PACKAGE]
    assert f"{CELL_PACKAGE}.worker" not in argv
    assert "--tb=short" in argv
    coverage = tmp_path / "cell.coverage"
    env = worker_env(plan, tmp_path, tmp_path / "env", {}, coverage_file=coverage)
    assert env["COVERAGE_FILE"] == str(coverage), "cells never share one .coverage"


def test_the_cell_package_declares_every_option_and_ini_key_of_the_plugin(
    tmp_path: Path,
) -> None:
    cellpath = prepare_cellpath(tmp_path)
    declared = user_config.host_options(str(cellpath / CELL_PACKAGE / "host_options.json"))
    assert {flag for option in declared for flag in option["flags"]} == {
        option.option for option in OPTIONS
    }
    assert {option["ini"] for option in declared if option["ini"]} == {
        option.name for option in OPTIONS if option.mirrored
    }


def test_the_users_failure_style_reaches_the_cells(pytester: pytest.Pytester) -> None:
    config = pytester.parseconfigure("--tb=native", "-l", "-vv", "--show-capture=stderr")
    assert report_args(config) == ("--tb=native", "--show-capture=stderr", "--showlocals", "-vv")
    assert report_args(pytester.parseconfigure()) == ()


@pytest.fixture(scope="module")
def python37_with_pytest_7(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Python 3.7 with the newest pytest it has (7.4, on pluggy 1.2), as a 3.7 cell has."""
    python37 = installed_python37()
    if python37 is None:
        pytest.skip("no pyenv Python 3.7 is installed")
    venv = tmp_path_factory.mktemp("py37") / "venv"
    uv = [sys.executable, "-m", "uv"]
    subprocess.run([*uv, "venv", "-q", "-p", str(python37), str(venv)], check=True)  # noqa: S603
    python = venv / "bin" / "python"
    subprocess.run([*uv, "pip", "install", "-q", "-p", str(python), "pytest<8"], check=True)  # noqa: S603
    return python


@pytest.mark.parametrize(
    ("config", "refused"),
    [
        ('addopts = ["--cov=x"]', "unrecognized arguments: --cov=x"),
        ('addopts = ["--strict-config"]\nlocal_key = "1"', "Unknown config option: local_key"),
        ('filterwarnings = ["error"]\nlocal_key = "1"', "Unknown config option: local_key"),
    ],
    ids=["option", "strict-ini-key", "ini-key-warning-as-error"],
)
def test_a_python_3_7_cell_records_a_refused_configuration_too(
    python37_with_pytest_7: Path, tmp_path: Path, config: str, refused: str
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(f"[tool.pytest.ini_options]\n{config}\n")
    (project / "test_suite.py").write_text(SUITE)
    cellpath = prepare_cellpath(tmp_path / "cache")
    events = project / "events.jsonl"
    subprocess.run(  # noqa: S603 - an argument list
        [str(python37_with_pytest_7), "-m", CELL_PACKAGE, "-p", "no:kerascompat",
         "-p", "no:cacheprovider", f"--kc-results={events}"],
        cwd=project, env={**os.environ, "PYTHONPATH": str(cellpath)}, capture_output=True,
        check=False, timeout=120,
    )  # fmt: skip
    written = [json.loads(line) for line in events.read_text(encoding="utf-8").splitlines()]
    (usage_error,) = of_kind(written, "usage_error")
    assert refused in usage_error["message"]
    assert of_kind(written, "finish") == [], "no test ran"


def test_xdist_in_addopts_does_not_distribute_a_cells_tests(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``-n 2`` with pytest-xdist installed in the cell: the worker runs the tests itself,
    one by one, so that every square has its ``start`` and ``finish``."""
    pytest.importorskip("xdist")
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setattr(fixtures, "_STACKS", {})
    pytester.makepyfile(test_suite=SUITE)
    pytester.makeini("[pytest]\naddopts = -p xdist -n 2\n")
    events = run_worker(pytester)
    assert len(of_kind(events, "start")) == 3
    assert [event["outcome"] for event in of_kind(events, "finish")] == [
        "passed",
        "failed",
        "passed",
    ]
