"""Faults that once gave a wrong table or left processes behind, on real processes.

Cells here install only pytest (see ``plain_matrix.yaml``), so each sweep takes seconds;
TensorFlow would only make the same faults slower. Processes left behind are found by
their process group or their pid in ``/proc``, never by name.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from pytest_kerascompat.cell import protocol
from pytest_kerascompat.model.results import Report

from .conftest import RESOURCES

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")

#: Crashes at import (collection) in cell ``plain``; imports fine in ``plain-b``.
CRASHES_WHILE_COLLECTED = """
import ctypes, os
import pytest

if os.environ.get("KERASCOMPAT_EXAMPLE") != "set":
    ctypes.string_at(0)

@pytest.mark.keras_compat
def test_never_collected_in_plain():
    pass
"""
HEALTHY = "import pytest\n\n@pytest.mark.keras_compat\ndef test_healthy():\n    pass\n"


def run_sweep(project: Path, cache_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - an argument list
        [sys.executable, "-m", "pytest", "--keras-matrix", f"--keras-cache-dir={cache_dir}",
         "-p", "no:cacheprovider", "--keras-report-json=out/report.json",
         "--keras-junitxml=out/junit.xml", "--keras-report-md=out/report.md",
         "--keras-report-html=out/report.html", *args],
        cwd=project, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def start_sweep(project: Path, cache_dir: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - an argument list
        [sys.executable, "-m", "pytest", "--keras-matrix", f"--keras-cache-dir={cache_dir}",
         "-p", "no:cacheprovider", "--keras-report-json=out/report.json", *args],
        cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


@pytest.fixture
def project(tmp_path: Path) -> Path:
    tmp_path.joinpath("matrix.yaml").write_text((RESOURCES / "plain_matrix.yaml").read_text())
    return tmp_path


# ---------------------------------------------------------------- /proc helpers


def proc_stat(pid: int) -> tuple[str, int, int] | None:
    """State, parent and process group of ``pid``; ``None`` once it is gone or a zombie."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    state, ppid, pgrp = fields[0], int(fields[1]), int(fields[2])
    return None if state in ("Z", "X") else (state, ppid, pgrp)


def living_pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def group_members(group: int) -> list[int]:
    """Every live process in process group ``group``."""
    return [pid for pid in living_pids() if (proc_stat(pid) or ("", 0, -1))[2] == group]


def descendants(root: int) -> set[int]:
    """Every live process below ``root``, found by walking parent links in /proc."""
    children: dict[int, list[int]] = {}
    for pid in living_pids():
        stat = proc_stat(pid)
        if stat is not None:
            children.setdefault(stat[1], []).append(pid)
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def wait_until(condition: Callable[[], object], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"after {seconds} s: {what}")


def all_gone(pids: Iterable[int], groups: Iterable[int] = ()) -> bool:
    return all(proc_stat(pid) is None for pid in pids) and not any(
        group_members(group) for group in groups
    )


def events(project: Path, cell: str) -> list[dict[str, Any]]:
    found = []
    for path in (project / ".kerascompat" / "runs").glob(f"*/{cell}.jsonl"):
        for line in path.read_text().splitlines():
            if line.strip():
                found.append(json.loads(line))
    return found


def wait_for_event(project: Path, cell: str, kind: str, seconds: float = 120) -> dict[str, Any]:
    wait_until(
        lambda: any(event["event"] == kind for event in events(project, cell)),
        seconds,
        f"no {kind} event from cell {cell}",
    )
    return next(event for event in events(project, cell) if event["event"] == kind)


# ----------------------------------------------------- S1: dying while collected


def test_a_module_that_segfaults_while_collected_makes_a_collect_error_never_ok(
    project: Path, cache_dir: Path
) -> None:
    project.joinpath("test_crash_at_import.py").write_text(CRASHES_WHILE_COLLECTED)
    project.joinpath("test_other.py").write_text(HEALTHY)
    completed = run_sweep(project, cache_dir, "-ra")
    assert completed.returncode == pytest.ExitCode.TESTS_FAILED, completed.stdout
    report = Report.read_json(project / "out" / "report.json")
    cells = {cell.name: cell for cell in report.cells}
    plain = cells["plain"]
    assert plain.status.value == "collect-error"
    assert plain.status.is_broken
    detail = plain.detail or ""
    assert "killed by SIGSEGV while collecting test_crash_at_import.py" in detail
    assert "which tests this cell would run is unknown and none of them ran" in detail
    assert cells["plain-b"].status.value == "ok"
    in_plain = {r.test: r for r in report.results if r.cell == "plain"}
    assert list(in_plain) == ["test_crash_at_import.py"], "no square of plain claims a run"
    assert in_plain["test_crash_at_import.py"].outcome.value == "crashed"
    assert "SIGSEGV" in (in_plain["test_crash_at_import.py"].message or "")
    assert {r.test for r in report.results if r.cell == "plain-b"} == {
        "test_crash_at_import.py::test_never_collected_in_plain",
        "test_other.py::test_healthy",
    }
    assert "plain" in completed.stdout
    assert "collect-error" in completed.stdout

    # JUnit: the cell is an error; none of the tests it never ran passes or skips.
    suites = ET.parse(project / "out" / "junit.xml").getroot()
    plain_cases = [
        case
        for case in suites.iter("testcase")
        if case.get("classname", "") == "kerascompat.plain"
        or case.get("classname", "").startswith("kerascompat.plain.")
    ]
    assert plain_cases, "the cell has test cases"
    for case in plain_cases:
        assert case.find("skipped") is None, ET.tostring(case)
        assert case.find("error") is not None or case.find("failure") is not None, ET.tostring(case)
    # Markdown and HTML: the cell's status is shown in every square it did not run.
    markdown = (project / "out" / "report.md").read_text()
    assert "collect-error" in markdown
    html = (project / "out" / "report.html").read_text()
    assert "collect-error" in html


def test_a_worker_that_exits_0_while_collecting_is_not_a_healthy_cell(
    project: Path, cache_dir: Path
) -> None:
    project.joinpath("test_exits.py").write_text(
        "import os\nos._exit(0)\n\ndef test_never():\n    pass\n"
    )
    completed = run_sweep(project, cache_dir, "--keras-cells=plain")
    assert completed.returncode == pytest.ExitCode.TESTS_FAILED, completed.stdout
    (cell,) = Report.read_json(project / "out" / "report.json").cells
    assert cell.status.value == "collect-error"
    assert "exit code 0 while collecting test_exits.py" in (cell.detail or "")
    assert "no tests" not in completed.stdout


def test_a_worker_killed_for_memory_while_collecting_says_so(
    project: Path, cache_dir: Path
) -> None:
    project.joinpath("test_huge.py").write_text(
        "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer does\n"
    )
    completed = run_sweep(project, cache_dir, "--keras-cells=plain")
    assert completed.returncode == pytest.ExitCode.TESTS_FAILED, completed.stdout
    (cell,) = Report.read_json(project / "out" / "report.json").cells
    assert cell.status.value == "collect-error"
    assert "killed by SIGKILL (usually the system running out of memory) while collecting" in (
        cell.detail or ""
    )


def test_a_collection_that_finishes_later_drops_the_square_of_an_earlier_crash() -> None:
    """--keras-resume replays a worker that died collecting (a one-off, out of memory);
    once a worker collects, that module square must not stand beside the real ones."""
    from pytest_kerascompat.model.results import Outcome, Result
    from pytest_kerascompat.sweep.controller import CellRun

    run = CellRun()
    lost = Result(cell="plain", test="test_x.py", outcome=Outcome.CRASHED, message="SIGKILL")
    for event in (
        {"event": "session", "time": 0},
        {"event": "collecting", "time": 0, "test": "test_x.py"},
        {"event": "casualty", "result": lost.to_dict()},
    ):
        run.apply(event)
    assert run.collection_pending
    assert list(run.casualties) == ["test_x.py"]
    for event in (
        {"event": "session", "time": 1},
        {"event": "collecting", "time": 1, "test": "test_x.py"},
        {"event": "collected", "time": 1, "tests": [{"test": "test_x.py::test_a"}], "unmarked": 0},
    ):
        run.apply(event)
    assert not run.collection_pending
    assert run.casualties == {}
    assert run.remaining == ["test_x.py::test_a"]


# ------------------------------------------------------ S2: hanging while collected


def test_a_module_that_hangs_while_collected_is_stopped_at_the_time_limit_with_its_stack(
    project: Path, cache_dir: Path
) -> None:
    project.joinpath("test_hangs_at_import.py").write_text(
        textwrap.dedent(
            """
            import time

            def wait_for_a_server():
                while True:
                    time.sleep(0.1)

            wait_for_a_server()
            """
        )
    )
    started = time.monotonic()
    completed = run_sweep(project, cache_dir, "--keras-cells=plain")  # timeout: 3 s
    assert time.monotonic() - started < 90
    assert completed.returncode == pytest.ExitCode.TESTS_FAILED, completed.stdout
    report = Report.read_json(project / "out" / "report.json")
    (cell,) = report.cells
    assert cell.status.value == "collect-error"
    detail = cell.detail or ""
    assert "ran past the 3 s limit" in detail
    assert "while collecting test_hangs_at_import.py" in detail
    assert "wait_for_a_server" in detail, "the cell says where collection was stuck"
    (square,) = report.results
    assert (square.test, square.outcome.value) == ("test_hangs_at_import.py", "timeout")
    assert "wait_for_a_server" in (square.detail or ""), "the square keeps the whole stack"


# ---------------------------------------------------- point 2: nothing outlives


FORKS_A_GRANDCHILD = """
import os, subprocess, sys, time
import pytest

@pytest.mark.keras_compat
def test_forks_and_waits():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    with open(os.environ["KERASCOMPAT_TEST_PIDS"], "a") as pids:
        pids.write(f"{child.pid}\\n")
    time.sleep(float(os.environ.get("KERASCOMPAT_TEST_WAIT", "0")))
"""


def forked_pids(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def test_children_forked_by_a_test_end_with_their_worker(
    project: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker exits on its own; what its test forked goes with its group."""
    pids = project / "pids.txt"
    monkeypatch.setenv("KERASCOMPAT_TEST_PIDS", str(pids))
    project.joinpath("test_forks.py").write_text(FORKS_A_GRANDCHILD)
    completed = run_sweep(project, cache_dir, "--keras-cells=plain")
    assert completed.returncode == 0, completed.stdout
    (child,) = forked_pids(pids)
    assert proc_stat(child) is None, "the test's child outlived the sweep"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_sigterm_stops_a_sweep_as_ctrl_c_does(
    project: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch, sig: signal.Signals
) -> None:
    """The report is written, the exit status is 2 (interrupted), and no worker, nor
    anything its test forked, is left."""
    pids = project / "pids.txt"
    monkeypatch.setenv("KERASCOMPAT_TEST_PIDS", str(pids))
    monkeypatch.setenv("KERASCOMPAT_TEST_WAIT", "120")
    project.joinpath("test_forks.py").write_text(FORKS_A_GRANDCHILD)
    sweep = start_sweep(project, cache_dir, "--keras-cells=plain", "--keras-timeout=300")
    wait_for_event(project, "plain", protocol.START)
    wait_until(lambda: forked_pids(pids), 30, "the test forked nothing")
    worker = int(wait_for_event(project, "plain", protocol.SESSION)["pid"])
    assert set(group_members(worker)) >= {worker, *forked_pids(pids)}, "a group of its own"
    below = descendants(sweep.pid)
    sweep.send_signal(sig)
    output, _ = sweep.communicate(timeout=60)
    assert sweep.returncode == pytest.ExitCode.INTERRUPTED, output
    if sig == signal.SIGTERM:
        assert "SIGTERM" in output
    assert (project / "out" / "report.json").exists(), "the report is written"
    wait_until(
        lambda: all_gone(below | set(forked_pids(pids)), {worker}),
        10,
        "processes outlived the sweep",
    )


def test_killing_the_controller_ends_its_workers_and_their_children(
    project: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL: no handler runs; the reaper ends every group the sweep started."""
    pids = project / "pids.txt"
    monkeypatch.setenv("KERASCOMPAT_TEST_PIDS", str(pids))
    monkeypatch.setenv("KERASCOMPAT_TEST_WAIT", "120")
    project.joinpath("test_forks.py").write_text(FORKS_A_GRANDCHILD)
    sweep = start_sweep(project, cache_dir, "--keras-cells=plain", "--keras-timeout=300")
    wait_for_event(project, "plain", protocol.START)
    wait_until(lambda: forked_pids(pids), 30, "the test forked nothing")
    worker = int(wait_for_event(project, "plain", protocol.SESSION)["pid"])
    below = descendants(sweep.pid)
    assert set(forked_pids(pids)) <= below
    assert worker in below
    sweep.kill()
    sweep.communicate(timeout=30)
    wait_until(
        lambda: all_gone(below | set(forked_pids(pids)), {worker}),
        10,
        "processes outlived the killed controller",
    )


SLOW_BACKEND = """
import os, time

def get_requires_for_build_wheel(config_settings=None):
    with open({pid_file!r}, "w") as stream:
        stream.write(str(os.getpid()))
    time.sleep(300)
    return []

get_requires_for_build_editable = get_requires_for_build_wheel
"""


def test_killing_the_controller_mid_build_ends_nox_uv_and_the_package_build(
    project: Path, cache_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    package = tmp_path_factory.mktemp("slow-build")
    package.joinpath("pyproject.toml").write_text(
        '[project]\nname = "slow-build"\nversion = "0"\n\n[build-system]\nrequires = []\n'
        'build-backend = "slow_backend"\nbackend-path = ["."]\n'
    )
    pid_file = package / "backend.pid"
    package.joinpath("slow_backend.py").write_text(SLOW_BACKEND.format(pid_file=str(pid_file)))
    # A new cell key every run, so the build is never found ready in the shared cache.
    project.joinpath("matrix.yaml").write_text(
        "cells:\n  - name: slow\n    python: '3.11'\n"
        f"    packages: ['slow-build @ {package.as_uri()}']\n"
    )
    project.joinpath("test_ok.py").write_text(HEALTHY)
    sweep = start_sweep(project, cache_dir)
    wait_until(pid_file.exists, 120, "the package build never started")
    time.sleep(0.5)
    below = descendants(sweep.pid)
    assert int(pid_file.read_text()) in below, "the build backend runs under the sweep"
    groups = {stat[2] for stat in map(proc_stat, below) if stat is not None} - {
        os.getpgrp(),
        sweep.pid,
    }
    assert groups, "the build runs in a process group of its own"
    sweep.kill()
    sweep.communicate(timeout=30)
    wait_until(lambda: all_gone(below, groups), 15, "the build outlived the killed controller")


# --------------------------------------------------- workers learn their parent


def test_a_worker_whose_controller_is_already_gone_leaves_before_importing_pytest(
    tmp_path: Path,
) -> None:
    from pytest_kerascompat.sweep._launch import prepare_cellpath

    cellpath = prepare_cellpath(tmp_path / "cache")
    env = {**os.environ, "PYTHONPATH": str(cellpath), protocol.PARENT_VARIABLE: "1"}
    started = time.monotonic()
    completed = subprocess.run(  # noqa: S603 - an argument list
        [sys.executable, "-X", "importtime", "-m", protocol.CELL_PACKAGE, "--version"],
        env=env, capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert completed.returncode in (protocol.EXIT_ORPHANED, -signal.SIGKILL), completed
    imported = re.findall(r"\|\s*([\w.]+)$", completed.stderr, re.MULTILINE)
    assert f"{protocol.CELL_PACKAGE}._parent" in imported
    assert not {"pytest", "_pytest"} & set(imported), "it left before pytest was imported"
    assert time.monotonic() - started < 10


def test_a_worker_dies_with_its_parent_at_once_on_linux(tmp_path: Path) -> None:
    """PR_SET_PDEATHSIG: no polling interval to wait out (the poll is every second)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    from pytest_kerascompat.sweep._launch import prepare_cellpath

    cellpath = prepare_cellpath(tmp_path / "cache")
    child_code = (
        f"import sys; sys.path.insert(0, {str(cellpath)!r}); "
        f"from {protocol.CELL_PACKAGE} import _parent; _parent.tie(interval=60); "
        "print('tied', flush=True); import time; time.sleep(120)"
    )
    parent_code = textwrap.dedent(
        f"""
        import os, subprocess, sys
        env = dict(os.environ, {protocol.PARENT_VARIABLE}=str(os.getpid()))
        child = subprocess.Popen([sys.executable, "-c", {child_code!r}], env=env,
                                 stdout=subprocess.PIPE, text=True)
        child.stdout.readline()
        print(child.pid, flush=True)
        os._exit(0)
        """
    )
    completed = subprocess.run(  # noqa: S603 - an argument list
        [sys.executable, "-c", parent_code], capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    child = int(completed.stdout.strip())
    wait_until(lambda: proc_stat(child) is None, 0.9, "the orphaned worker is still running")


# ------------------------------------------------------------- the reaper's bounds


def test_the_reaper_never_signals_group_0_1_or_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """``killpg(1)`` is ``kill(-1)``: every process the user may signal. Run in this
    process with ``os.killpg`` replaced, so that a broken guard signals nothing real."""
    from pytest_kerascompat.sweep import _processes

    calls: list[tuple[int, int]] = []

    def fake_killpg(group: int, sig: int) -> None:
        calls.append((group, sig))
        if sig == 0 and group != 424242:
            raise ProcessLookupError

    monkeypatch.setattr(os, "killpg", fake_killpg)
    monkeypatch.setattr(signal, "signal", lambda *args: None)
    monkeypatch.setattr(sys, "argv", ["reaper", "0.01"])
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"+0\n+1\n+{os.getpgrp()}\n+424242\n"))
    exec(_processes.REAPER_SCRIPT, {})
    assert {group for group, _ in calls} == {424242}
    assert (424242, signal.SIGTERM) in calls
    assert not _processes.group_alive(0)
    assert not _processes.group_alive(1)
    assert not _processes.group_alive(os.getpgrp())
