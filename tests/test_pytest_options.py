"""A sweep as a pytest citizen: square ids, ``--lf``/``--ff``, ``-x``, ``--co``, ``-W``,
``-r``, ``--durations``, JUnit and pytest-xdist's ``-n``.

The sweeps run on cells without TensorFlow (they install only pytest), through the
same environments, workers and reports a TensorFlow cell goes through.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_kerascompat.config.options import resolve_settings
from pytest_kerascompat.model.results import Report
from pytest_kerascompat.sweep._selection import (
    Selection,
    failed_squares,
    rerun_failed,
    select,
    split_square_id,
    square_id,
)
from pytest_kerascompat.sweep.session import PLUGIN_NAME, forwarded_options, start_matrix_session

from .conftest import RESOURCES

CELLS = ["plain", "plain-b"]

PARAMETRIZED = """
import pytest

@pytest.mark.keras_compat
@pytest.mark.parametrize("n", [1, 2])
def test_fit(n):
    assert n == 1

@pytest.mark.keras_compat
def test_ok():
    pass
"""

#: Fails only in ``plain-b``, the cell that sets KERASCOMPAT_EXAMPLE.
FAILS_IN_B = """
import os
import pytest

@pytest.mark.keras_compat
def test_same_everywhere():
    pass

@pytest.mark.keras_compat
def test_breaks_in_b():
    assert os.environ.get("KERASCOMPAT_EXAMPLE") != "set"
"""


def sweep(pytester: pytest.Pytester, cache_dir: Path, *args: str) -> pytest.RunResult:
    """A sweep with pytest's cache on, so ``--lf`` has a ``cache/lastfailed`` to read."""
    return pytester.runpytest_subprocess(
        "--keras-matrix", f"--keras-cache-dir={cache_dir}", "--keras-jobs=1", *args
    )


def report_of(pytester: pytest.Pytester) -> Report:
    return Report.read_json(pytester.path / ".kerascompat" / "report.json")


def squares(report: Report) -> set[tuple[str, str, str]]:
    return {(r.cell, r.test, r.outcome.value) for r in report.results}


@pytest.fixture
def plain_project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.path.joinpath("matrix.yaml").write_text((RESOURCES / "plain_matrix.yaml").read_text())
    return pytester


# ----------------------------------------------------------------- ids, unit level


@pytest.mark.parametrize(
    ("test", "cell", "expected"),
    [
        ("tests/test_x.py::test_fit", "tf2.16", "tests/test_x.py::test_fit[tf2.16]"),
        ("tests/test_x.py::test_fit[3]", "tf2.16", "tests/test_x.py::test_fit[3-tf2.16]"),
        ("t.py::TestA::test_b[a-b]", "k", "t.py::TestA::test_b[a-b-k]"),
        ("probes::test_fit_generator", "k2", "probes::test_fit_generator[k2]"),
        ("t[1].py::test_a", "k", "t[1].py::test_a[k]"),
    ],
)
def test_a_square_id_joins_the_cell_as_parametrize_joins_a_parameter(
    test: str, cell: str, expected: str
) -> None:
    assert square_id(test, cell) == expected
    assert split_square_id(expected, ["k", "k2", "tf2.16", "tf2"]) == (test, cell)


def test_only_a_known_cell_ends_a_square_id() -> None:
    assert split_square_id("t.py::test_fit[3]", CELLS) is None, "a test's own parameter"
    assert split_square_id("t.py::test_fit[3-plain-b]", ["b", *CELLS]) == (
        "t.py::test_fit[3]",
        "plain-b",
    ), "the longest cell name wins"
    assert split_square_id("tests/", CELLS) is None
    assert split_square_id("tests/dir[plain]", CELLS) is None, "a path is not a test id"


def test_square_ids_on_the_command_line_choose_their_cells() -> None:
    ids = select(["t.py::a[plain-b]", "t.py::b[2-plain-b]"], CELLS)
    assert ids == Selection(per_cell={"plain-b": ("t.py::a", "t.py::b[2]")}, cells=("plain-b",))
    mixed = select(["tests", "t.py::a[plain]"], CELLS)
    assert mixed.cells is None, "a plain path runs in every cell"
    assert (mixed.args_for("plain"), mixed.args_for("plain-b")) == (
        ("tests", "t.py::a"),
        ("tests",),
    )


def test_last_failures_are_rerun_only_in_their_cells_and_within_the_paths_asked(
    tmp_path: Path,
) -> None:
    lastfailed = {
        "tests/test_a.py::test_x[plain-b]": True,
        "tests/test_a.py::test_y[2-plain]": True,
        "tests/test_b.py::test_z[plain]": True,
        "tests/test_a.py::test_gone[old-cell]": True,
    }
    failed = failed_squares(lastfailed, CELLS)
    assert failed == {
        "plain-b": ["tests/test_a.py::test_x"],
        "plain": ["tests/test_a.py::test_y[2]", "tests/test_b.py::test_z"],
    }
    everything = rerun_failed(select(["."], CELLS), failed, tmp_path, tmp_path)
    assert everything is not None
    assert everything.per_cell == {
        "plain-b": (f"{tmp_path}/tests/test_a.py::test_x",),
        "plain": (f"{tmp_path}/tests/test_a.py::test_y[2]", f"{tmp_path}/tests/test_b.py::test_z"),
    }
    assert everything.cells == ("plain", "plain-b"), "in matrix order"
    only_b = rerun_failed(select(["tests/test_b.py"], CELLS), failed, tmp_path, tmp_path)
    assert only_b is not None
    assert only_b.per_cell == {"plain": (f"{tmp_path}/tests/test_b.py::test_z",)}
    from_subdir = rerun_failed(
        select(["test_a.py::test_y"], CELLS), failed, tmp_path, tmp_path / "tests"
    )
    assert from_subdir is not None
    assert from_subdir.cells == ("plain",)
    assert rerun_failed(select(["tests/test_c.py"], CELLS), failed, tmp_path, tmp_path) is None


def test_selection_warning_and_plugin_options_reach_the_cells(pytester: pytest.Pytester) -> None:
    config = pytester.parseconfig(
        "-k", "fit", "-m", "slow", "-W", "error:an old way", "-p", "no:randomly",
        "--deselect", "t.py::test_a[plain]", "--deselect", "t.py::test_b",
    )  # fmt: skip
    common = ("--deselect", "t.py::test_b", "-W", "error:an old way", "-p", "no:randomly")
    assert forwarded_options(config, CELLS, "plain") == (
        "-k", "fit", "-m", "slow", "--deselect", "t.py::test_a", *common,
    )  # fmt: skip
    assert forwarded_options(config, CELLS, "plain-b") == ("-k", "fit", "-m", "slow", *common)


def test_a_probes_square_id_passed_back_is_a_usage_error_naming_the_way(
    plain_project: pytest.Pytester,
) -> None:
    result = plain_project.runpytest_subprocess(
        "--keras-matrix", "-p", "no:cacheprovider", "probes::test_fit_generator[plain-b]"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: probes::test_fit_generator[[]plain-b[]] is a built-in probe's square, which"
            " cannot be chosen by its id: run the probes in that cell with --keras-probes"
            " --keras-cells=plain-b"
        ]
    )
    assert "Traceback" not in result.stderr.str()


def test_an_xdist_worker_never_starts_a_sweep(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("matrix.yaml").write_text((RESOURCES / "plain_matrix.yaml").read_text())
    config = pytester.parseconfig("--keras-matrix")
    config.workerinput = {"workerid": "gw0"}  # type: ignore[attr-defined]
    start_matrix_session(config, resolve_settings(config))
    assert config.pluginmanager.get_plugin(PLUGIN_NAME) is None


# ------------------------------------------------------------------ whole sweeps


def test_squares_have_pytest_ids_and_an_id_passed_back_runs_that_square_in_that_cell(
    plain_project: pytest.Pytester, cache_dir: Path
) -> None:
    plain_project.makepyfile(test_x=PARAMETRIZED)
    result = sweep(plain_project, cache_dir, "-v", "--junitxml=junit.xml")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "test_x.py::test_fit[[]1-plain[]] PASSED*",
            "test_x.py::test_fit[[]2-plain[]] FAILED*",
            "test_x.py::test_ok[[]plain[]] PASSED*",
            "test_x.py::test_fit[[]2-plain-b[]] FAILED*",
            "*short test summary info*",
            "FAILED test_x.py::test_fit[[]2-plain[]] - failed: AssertionError*",
            "FAILED test_x.py::test_fit[[]2-plain-b[]] - failed: AssertionError*",
        ]
    )
    assert "plain::" not in result.stdout.str()
    cases = ET.parse(plain_project.path / "junit.xml").getroot().iter("testcase")
    assert {(case.get("classname"), case.get("name")) for case in cases} == {
        ("test_x", f"{name}[{params}{cell}]")
        for cell in CELLS
        for name, params in (("test_fit", "1-"), ("test_fit", "2-"), ("test_ok", ""))
    }
    data = json.loads((plain_project.path / ".kerascompat" / "report.json").read_text())
    assert {(r["cell"], r["test"]) for r in data["results"]} == {
        (cell, test)
        for cell in CELLS
        for test in ("test_x.py::test_fit[1]", "test_x.py::test_fit[2]", "test_x.py::test_ok")
    }, "the JSON keeps the test without its cell, and the cell"

    again = sweep(
        plain_project, cache_dir, "-v", "--durations=0", "-vv", "test_x.py::test_fit[2-plain-b]"
    )
    assert again.ret == pytest.ExitCode.TESTS_FAILED
    report = report_of(plain_project)
    assert [cell.name for cell in report.cells] == ["plain-b"]
    assert squares(report) == {("plain-b", "test_x.py::test_fit[2]", "failed")}
    again.stdout.fnmatch_lines(
        [
            "test_x.py::test_fit[[]2-plain-b[]] FAILED*",
            "*slowest durations*",
            "*s call *test_x.py::test_fit[[]2-plain-b[]]",
        ]
    )
    left_out = sweep(plain_project, cache_dir, "--keras-cells=plain", "test_x.py::test_ok[plain-b]")
    assert left_out.ret == pytest.ExitCode.NO_TESTS_COLLECTED, (
        "plain-b is left out; plain has no id"
    )
    left_out.stdout.fnmatch_lines(["no cells were run"])


def test_lf_reruns_the_failed_squares_only_in_their_cells_and_ff_runs_them_first(
    plain_project: pytest.Pytester, cache_dir: Path
) -> None:
    plain_project.makepyfile(test_lf=FAILS_IN_B)
    first = sweep(plain_project, cache_dir)
    assert first.ret == pytest.ExitCode.TESTS_FAILED
    cache = plain_project.path / ".pytest_cache" / "v" / "cache" / "lastfailed"
    assert json.loads(cache.read_text()) == {"test_lf.py::test_breaks_in_b[plain-b]": True}

    rerun = sweep(plain_project, cache_dir, "--lf")
    assert rerun.ret == pytest.ExitCode.TESTS_FAILED
    rerun.stdout.fnmatch_lines(
        ["*--lf: rerunning the 1 square that failed last time, in plain-b*", "*1 failed in*"]
    )
    report = report_of(plain_project)
    assert [cell.name for cell in report.cells] == ["plain-b"]
    assert squares(report) == {("plain-b", "test_lf.py::test_breaks_in_b", "failed")}

    elsewhere = sweep(plain_project, cache_dir, "--lf", "--keras-cells=plain")
    elsewhere.stdout.fnmatch_lines(["*no square failed last time; running them all*"])
    assert squares(report_of(plain_project)) == {
        ("plain", "test_lf.py::test_same_everywhere", "passed"),
        ("plain", "test_lf.py::test_breaks_in_b", "passed"),
    }, "--lf looks at the cells --keras-cells keeps"

    failed_first = sweep(plain_project, cache_dir, "--ff", "-v")
    failed_first.stdout.fnmatch_lines(
        [
            "*--ff: running first the 1 square that failed last time, in plain-b*",
            "test_lf.py::test_breaks_in_b[[]plain-b[]] FAILED*",
            "test_lf.py::test_same_everywhere[[]plain-b[]] PASSED*",
            "test_lf.py::test_same_everywhere[[]plain[]] PASSED*",
            "test_lf.py::test_breaks_in_b[[]plain[]] PASSED*",
            "*1 failed, 3 passed*",
        ]
    )


def test_lf_with_nothing_failed_runs_everything_or_nothing_as_lfnf_says(
    plain_project: pytest.Pytester, cache_dir: Path
) -> None:
    plain_project.makepyfile(
        "import pytest\n\n@pytest.mark.keras_compat\ndef test_ok():\n    pass\n"
    )
    result = sweep(plain_project, cache_dir, "--lf")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*no square failed last time; running them all*", "*2 passed*"])
    none = sweep(plain_project, cache_dir, "--lf", "--lfnf=none")
    none.stdout.fnmatch_lines(["*--lf: no square failed last time; none run*"])
    assert none.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_x_stops_the_whole_sweep_after_the_first_failing_square(
    pytester: pytest.Pytester, cache_dir: Path
) -> None:
    pytester.makefile(
        ".yaml",
        matrix="defaults: {timeout: 120}\ncells:\n  - {name: first, python: '3.11'}\n"
        "  - {name: second, python: '3.11'}\n",
    )
    pytester.makepyfile(
        """
        import time
        import pytest

        @pytest.mark.keras_compat
        def test_a_fails():
            assert False

        @pytest.mark.keras_compat
        def test_b_would_take_a_minute():
            time.sleep(60)
        """
    )
    started = time.monotonic()
    result = sweep(pytester, cache_dir, "-x")
    assert time.monotonic() - started < 50, "the running worker was stopped, not waited for"
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*[[]second[]] not started: -x/--maxfail was reached*",
            "*! stopping after 1 failing square (--maxfail=1): the sweep stopped every cell;"
            " not started: second !*",
            "*1 failed in*",
        ]
    )
    report = report_of(pytester)
    assert [cell.name for cell in report.cells] == ["first"]
    assert squares(report) == {
        (
            "first",
            "test_x_stops_the_whole_sweep_after_the_first_failing_square.py::test_a_fails",
            "failed",
        )
    }
    assert "stopped by -x/--maxfail: 1 of 2 tests not run" in (report.cells[0].detail or "")


def test_collect_only_lists_every_cells_squares(
    plain_project: pytest.Pytester, cache_dir: Path
) -> None:
    plain_project.makepyfile(test_x=PARAMETRIZED)
    result = sweep(plain_project, cache_dir, "--co", "-q")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "[[]plain[]] Python 3.11.* (*python3.11*): pytest",
            "test_x.py::test_fit[[]1-plain[]]",
            "test_x.py::test_fit[[]2-plain[]]",
            "test_x.py::test_ok[[]plain[]]",
            "test_x.py::test_fit[[]1-plain-b[]]",
            "test_x.py::test_fit[[]2-plain-b[]]",
            "test_x.py::test_ok[[]plain-b[]]",
            "6 tests collected in *",
        ]
    )
    assert "PASSED" not in result.stdout.str()
    assert "FAILED" not in result.stdout.str(), "nothing ran"
    assert "keras compatibility matrix" not in result.stdout.str(), "no table of empty squares"
    tree = sweep(plain_project, cache_dir, "--co", "--keras-cells=plain")
    tree.stdout.fnmatch_lines(["<Square test_x.py::test_fit[[]1-plain[]]>", "*3 tests collected*"])


def test_q_ends_each_cells_line_of_letters(plain_project: pytest.Pytester, cache_dir: Path) -> None:
    plain_project.makepyfile(test_x=PARAMETRIZED)
    result = sweep(plain_project, cache_dir, "-q")
    result.stdout.fnmatch_lines(
        ["[[]plain[]] done in *", ".F.", "[[]plain-b[]] done in *", ".F.", "2 failed, 4 passed*"]
    )
    assert "%]" not in result.stdout.str(), "no share of a total not known yet"


def test_w_reaches_the_cells(plain_project: pytest.Pytester, cache_dir: Path) -> None:
    plain_project.makepyfile(
        """
        import warnings
        import pytest

        @pytest.mark.keras_compat
        def test_warns():
            warnings.warn("an old way", UserWarning)
        """
    )
    assert sweep(plain_project, cache_dir, "--keras-cells=plain").ret == pytest.ExitCode.OK
    result = sweep(plain_project, cache_dir, "--keras-cells=plain", "-W", "error::UserWarning")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["[[]plain[]] failed: UserWarning: an old way", "FAILED *test_warns[[]plain[]] - failed: *"]
    )


@pytest.mark.parametrize(("args", "jobs"), [(("-n", "2"), 2), (("-n", "2", "--keras-jobs=1"), 1)])
def test_xdist_n_runs_the_sweep_once_with_n_cells_at_a_time(
    plain_project: pytest.Pytester, cache_dir: Path, args: tuple[str, ...], jobs: int
) -> None:
    pytest.importorskip("xdist")
    plain_project.makepyfile(test_x=PARAMETRIZED)
    result = plain_project.runpytest_subprocess(
        "--keras-matrix", f"--keras-cache-dir={cache_dir}", *args
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    output = result.stdout.str()
    assert output.count("keras compatibility matrix") == 1
    assert f"{jobs} at a time" in output
    assert "created:" not in output, "no xdist worker started"
    assert "gw0" not in output
    assert len(report_of(plain_project).results) == 6
    result.stdout.fnmatch_lines(["*2 failed, 4 passed*"])
