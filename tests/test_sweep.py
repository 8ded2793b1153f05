"""Whole sweeps through real nox, uv and worker processes, on cells without TensorFlow.

Each cell here installs only pytest, so a sweep takes seconds; the plumbing they
exercise (environments, workers, crash and hang recovery, reports, exit status) is
the same a TensorFlow cell goes through.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_kerascompat.model.results import CellReport, Report
from pytest_kerascompat.sweep import controller
from pytest_kerascompat.sweep._processes import start_logged

from .conftest import RESOURCES


def sweep(pytester: pytest.Pytester, cache_dir: Path, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "--keras-matrix", f"--keras-cache-dir={cache_dir}", "-p", "no:cacheprovider", *args
    )


def report_of(pytester: pytest.Pytester) -> Report:
    return Report.read_json(pytester.path / ".kerascompat" / "report.json")


def squares(report: Report, cell: str) -> dict[str, str]:
    return {
        result.test.split("::")[-1]: result.outcome.value
        for result in report.results
        if result.cell == cell
    }


ONE_MARKED_TEST = "import pytest\n\n@pytest.mark.keras_compat\ndef test_ok():\n    pass\n"


def broken_cell(pytester: pytest.Pytester, cache_dir: Path, matrix: str) -> CellReport:
    """Sweep a one-cell matrix that is expected to break the run; return that cell."""
    pytester.makefile(".yaml", matrix=matrix)
    pytester.makepyfile(ONE_MARKED_TEST)
    result = sweep(pytester, cache_dir)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    return report_of(pytester).cells[0]


@pytest.fixture
def plain_project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.path.joinpath("matrix.yaml").write_text((RESOURCES / "plain_matrix.yaml").read_text())
    return pytester


def test_a_misbehaving_cell_still_fills_every_square(
    plain_project: pytest.Pytester, cache_dir: Path
) -> None:
    plain_project.makepyfile(test_misbehaving=(RESOURCES / "test_misbehaving.py").read_text())
    result = sweep(plain_project, cache_dir, "--keras-cells", "plain", "-ra")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = report_of(plain_project)
    assert squares(report, "plain") == {
        "test_passes": "passed",
        "test_fails": "failed",
        "test_hangs_like_an_endless_generator": "timeout",
        "test_segfaults": "crashed",
        "test_aborts": "crashed",
        "test_runs_after_the_crashes": "passed",
    }
    by_test = {r.test.split("::")[-1]: r for r in report.results}
    assert "SIGSEGV" in (by_test["test_segfaults"].message or "")
    assert "SIGABRT" in (by_test["test_aborts"].message or "")
    hang = by_test["test_hangs_like_an_endless_generator"]
    assert "ran past the 3 s limit" in (hang.message or "")
    assert "batches" in (hang.detail or ""), "the stack shows where the test was stuck"
    result.stdout.fnmatch_lines(
        ["*keras compatibility matrix*", "test_misbehaving.py::test_fails*"]
    )
    # -ra lists timeouts and crashes with the failures, under their words and square ids.
    result.stdout.fnmatch_lines(
        [
            "*short test summary info*",
            "FAILED test_misbehaving.py::test_fails[[]plain[]]*",
            "TIMEOUT test_misbehaving.py::test_hangs_like_an_endless_generator[[]plain[]]*",
            "CRASHED test_misbehaving.py::test_segfaults[[]plain[]]*",
            "CRASHED test_misbehaving.py::test_aborts[[]plain[]]*",
            "*4 failed, 2 passed*",
        ]
    )


def test_a_user_test_failure_fails_the_run_and_names_the_square(
    plain_project: pytest.Pytester, cache_dir: Path
) -> None:
    plain_project.makepyfile(
        test_feed="""
        import pytest

        @pytest.mark.keras_compat
        def test_breaks():
            raise ValueError("Unrecognized data type: x=<list_iterator>")
        """
    )
    result = sweep(plain_project, cache_dir)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    for cell in ("plain", "plain-b"):
        result.stdout.fnmatch_lines(
            [f"FAILED test_feed.py::test_breaks[[]{cell}[]] - failed: ValueError: Unrecognized*"]
        )
    result.stdout.fnmatch_lines(["*hint: Keras 3 fit() accepts real generators*", "*2 failed in*"])


def test_only_marked_tests_run_in_cells_with_their_environment(
    plain_project: pytest.Pytester, cache_dir: Path
) -> None:
    plain_project.makepyfile(test_selection=(RESOURCES / "test_selection.py").read_text())
    result = sweep(plain_project, cache_dir)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    report = report_of(plain_project)
    assert set(report.tests) == {
        "test_selection.py::test_sees_the_cells_environment",
        "test_selection.py::test_marked_with_a_break_range",
    }
    assert {r.outcome.value for r in report.results} == {"passed"}
    assert [cell.name for cell in report.cells] == ["plain", "plain-b"]
    assert report.cells[1].env == {"KERASCOMPAT_EXAMPLE": "set"}
    assert report.api_of("test_selection.py::test_sees_the_cells_environment") == "cell_env"


def test_the_json_report_has_the_documented_shape(
    plain_project: pytest.Pytester, cache_dir: Path
) -> None:
    plain_project.makepyfile(test_selection=(RESOURCES / "test_selection.py").read_text())
    sweep(plain_project, cache_dir, "--keras-report-json=out/report.json", "-k", "environment")
    data: dict[str, Any] = json.loads((plain_project.path / "out" / "report.json").read_text())
    assert data["schema_version"] == 1
    cell = data["cells"][0]
    for key in ("name", "python", "executable", "tensorflow", "keras", "backend", "status",
                "detail", "requirements", "env"):  # fmt: skip
        assert key in cell
    assert cell["status"] == "ok"
    assert cell["python"].startswith("3.11.")
    assert cell["requirements"] == ["pytest"]
    result = data["results"][0]
    for key in ("cell", "test", "api", "outcome", "message", "duration"):
        assert key in result
    assert len(data["results"]) == 2, "-k reached the cells"


def test_a_missing_interpreter_is_reported_and_the_sweep_goes_on(
    pytester: pytest.Pytester, cache_dir: Path
) -> None:
    pytester.makefile(
        ".yaml",
        matrix="cells:\n  - {name: ancient, python: '3.99'}\n  - {name: plain, python: '3.11'}\n",
    )
    pytester.makepyfile(ONE_MARKED_TEST)
    result = sweep(pytester, cache_dir)
    assert result.ret == pytest.ExitCode.OK
    report = report_of(pytester)
    ancient = report.cells[0]
    assert ancient.status.value == "no-interpreter"
    assert "Python 3.99 is not installed" in (ancient.detail or "")
    assert squares(report, "plain") == {"test_ok": "passed"}
    result.stdout.fnmatch_lines(["*ancient: no-interpreter*", "*pyenv install 3.99*"])


def test_an_install_failure_is_a_cell_status_with_the_installers_words(
    pytester: pytest.Pytester, cache_dir: Path
) -> None:
    cell = broken_cell(
        pytester,
        cache_dir,
        "cells:\n  - name: unresolvable\n    python: '3.11'\n"
        "    packages: ['kerascompat-no-such-package-anywhere==0.0.1']\n",
    )
    assert cell.status.value == "install-error"
    assert "kerascompat-no-such-package-anywhere" in (cell.detail or "")
    assert "install.log" in (cell.detail or "")


def test_a_tensorflow_that_fails_to_import_makes_an_import_error_with_a_hint(
    pytester: pytest.Pytester, cache_dir: Path
) -> None:
    broken = RESOURCES / "broken_tensorflow"
    cell = broken_cell(
        pytester, cache_dir, f"project: {broken}\ncells:\n  - name: broken\n    python: '3.11'\n"
    )
    assert cell.status.value == "import-error"
    assert "Unable to convert function return value" in (cell.detail or "")
    assert "numpy<2" in (cell.detail or "")


def test_a_module_that_fails_to_import_is_a_square_and_the_rest_still_run(
    plain_project: pytest.Pytester, cache_dir: Path
) -> None:
    plain_project.makepyfile(
        test_gone="from os import no_such_name\n",
        test_fine=ONE_MARKED_TEST,
    )
    result = sweep(plain_project, cache_dir, "--keras-cells=plain")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = report_of(plain_project)
    gone = next(r for r in report.results if r.test == "test_gone.py")
    assert gone.outcome.value == "error"
    assert gone.exc_type == "ImportError"
    assert "cannot import name 'no_such_name'" in (gone.message or "")
    assert squares(report, "plain")["test_ok"] == "passed"


INTERRUPTIBLE = """
import os
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.keras_compat
RAN = Path(os.environ["KERASCOMPAT_RAN_LOG"])


def ran(name):
    with RAN.open("a") as log:
        log.write(name + "\\n")


def test_first():
    ran("first")


def test_second():
    ran("second")


def test_slow_the_first_time():
    ran("slow")
    if RAN.read_text().count("slow") == 1:
        time.sleep(60)
"""


def wait_for_finishes(run_root: Path, count: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text = "".join(path.read_text() for path in run_root.glob("*/plain.jsonl"))
        if text.count('"event": "finish"') >= count:
            return
        time.sleep(0.1)
    raise AssertionError("the sweep never finished its first tests")


def test_an_interrupted_sweep_resumes_with_its_finished_squares(
    plain_project: pytest.Pytester, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran_log = plain_project.path / "ran.log"
    monkeypatch.setenv("KERASCOMPAT_RAN_LOG", str(ran_log))
    plain_project.makepyfile(test_resume=INTERRUPTIBLE)
    argv = [sys.executable, "-m", "pytest", "--keras-matrix", f"--keras-cache-dir={cache_dir}",
            "--keras-cells=plain", "--keras-timeout=100", "-p", "no:cacheprovider"]  # fmt: skip
    first = subprocess.Popen(argv, cwd=plain_project.path, stdout=subprocess.PIPE, text=True)  # noqa: S603
    wait_for_finishes(plain_project.path / ".kerascompat" / "runs", 2)
    started = time.monotonic()
    first.send_signal(signal.SIGINT)
    output, _ = first.communicate(timeout=30)
    assert time.monotonic() - started < 15, "Ctrl-C stops the cells' processes promptly"
    assert first.returncode == pytest.ExitCode.INTERRUPTED, output
    assert ran_log.read_text().split() == ["first", "second", "slow"]

    second = subprocess.run(  # noqa: S603
        [*argv, "--keras-resume"], cwd=plain_project.path, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert second.returncode == 0, second.stdout
    assert "2 squares kept from the interrupted run" in second.stdout
    assert ran_log.read_text().split() == ["first", "second", "slow", "slow"], "no rerun"
    assert squares(report_of(plain_project), "plain") == {
        "test_first": "passed",
        "test_second": "passed",
        "test_slow_the_first_time": "passed",
    }


def test_two_sweeps_at_once_share_one_environment_build(
    plain_project: pytest.Pytester, tmp_path: Path
) -> None:
    plain_project.makepyfile(ONE_MARKED_TEST)
    cache = tmp_path / "shared-cache"
    argv = [sys.executable, "-m", "pytest", "--keras-matrix", f"--keras-cache-dir={cache}",
            "--keras-cells=plain", "-p", "no:cacheprovider"]  # fmt: skip
    sweeps = [
        subprocess.Popen(argv, cwd=plain_project.path, stdout=subprocess.PIPE, text=True)  # noqa: S603
        for _ in range(2)
    ]
    outputs = [sweep.communicate(timeout=300)[0] for sweep in sweeps]
    assert [sweep.returncode for sweep in sweeps] == [0, 0], outputs
    joined = "\n".join(outputs)
    assert joined.count("environment built") == 1, joined
    assert joined.count("environment reused") == 1, joined
    assert sorted(path.suffix for path in (cache / "envs").iterdir()) == [
        "",
        ".holders",
        ".lock",
    ], "one environment, its lock file and its holders"


def test_a_crash_while_importing_tensorflow_makes_an_import_error(
    pytester: pytest.Pytester, cache_dir: Path
) -> None:
    broken = RESOURCES / "broken_tensorflow"
    cell = broken_cell(
        pytester,
        cache_dir,
        f"project: {broken}\ncells:\n  - name: aborts\n    python: '3.11'\n"
        "    env: {KERASCOMPAT_TEST_ABORT_ON_IMPORT: '1'}\n",
    )
    assert cell.status.value == "import-error"
    assert "SIGABRT" in (cell.detail or "")


def test_a_worker_hung_importing_tensorflow_is_stopped_at_the_import_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No session event yet, so no test's limit applies: the import limit does."""
    monkeypatch.setattr(controller, "IMPORT_LIMIT_SECONDS", 1.0)
    tmp_path.joinpath("tensorflow.py").write_text("import time\ntime.sleep(30)\n")
    process = start_logged(
        [sys.executable, "-c", "import tensorflow"],
        env=os.environ, cwd=tmp_path, log=tmp_path / "worker.log",
    )  # fmt: skip
    started = time.monotonic()
    running, _, timed_out = controller.watch(
        process, controller.EventReader(tmp_path / "events.jsonl"), controller.CellRun(),
        timeout=0.1, stopping=threading.Event(),
    )  # fmt: skip
    assert (running, timed_out) == (None, True)
    assert process.poll() is not None, "the worker was stopped"
    assert 1.0 <= time.monotonic() - started < 20


def test_workers_leave_when_the_controller_is_killed(
    plain_project: pytest.Pytester, cache_dir: Path
) -> None:
    plain_project.makepyfile(
        test_long="import time, pytest\n\n@pytest.mark.keras_compat\n"
        "def test_long():\n    time.sleep(120)\n"
    )
    argv = [sys.executable, "-m", "pytest", "--keras-matrix", f"--keras-cache-dir={cache_dir}",
            "--keras-cells=plain", "--keras-timeout=300", "-p", "no:cacheprovider"]  # fmt: skip
    controller = subprocess.Popen(argv, cwd=plain_project.path, stdout=subprocess.DEVNULL)  # noqa: S603
    runs = plain_project.path / ".kerascompat" / "runs"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        events = "".join(path.read_text() for path in runs.glob("*/plain.jsonl"))
        if '"event": "start"' in events:
            break
        time.sleep(0.1)
    session = next(
        json.loads(line)
        for path in runs.glob("*/plain.jsonl")
        for line in path.read_text().splitlines()
        if '"event": "session"' in line
    )
    controller.kill()
    controller.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and Path(f"/proc/{session['pid']}").exists():
        time.sleep(0.2)
    assert not Path(f"/proc/{session['pid']}").exists(), "the orphaned worker exited"


def test_a_worker_that_dies_after_the_time_limit_records_a_timeout(
    plain_project: pytest.Pytester, cache_dir: Path
) -> None:
    plain_project.makepyfile(
        test_late="""
        import ctypes, time
        import pytest

        @pytest.mark.keras_compat
        def test_overruns_then_crashes():
            time.sleep(3.5)  # past the 3 s limit, before the controller's kill
            ctypes.string_at(0)
        """
    )
    sweep(plain_project, cache_dir, "--keras-cells=plain")
    (result,) = report_of(plain_project).results
    assert result.outcome.value == "timeout"
    assert "test_overruns_then_crashes" in (result.detail or "")


def test_a_conftest_that_imports_what_only_the_cells_have_runs_in_the_cells_only(
    pytester: pytest.Pytester, cache_dir: Path
) -> None:
    """As a Keras project's conftest imports TensorFlow, which the controller lacks."""
    pytester.path.joinpath("matrix.yaml").write_text(
        'cells:\n  - name: plain\n    python: "3.11"\n    packages: ["tomli-w"]\n'
    )
    pytester.makeconftest(
        "import pytest, tomli_w\n\n"
        "@pytest.fixture\ndef dumped():\n    return tomli_w.dumps({'a': 1})\n"
    )
    pytester.makepyfile(
        test_uses=(
            "import pytest\n\n@pytest.mark.keras_compat\n"
            "def test_uses_the_conftest(dumped):\n    assert dumped == 'a = 1\\n'\n"
        )
    )
    result = sweep(pytester, cache_dir)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert squares(report_of(pytester), "plain") == {"test_uses_the_conftest": "passed"}
