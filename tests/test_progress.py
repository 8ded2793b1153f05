"""What a person sees while a sweep runs: the installer's steps, the import, the running test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_kerascompat.cell.protocol import MODE_USER
from pytest_kerascompat.config.matrix import CellSpec, load_matrix
from pytest_kerascompat.env._install_progress import InstallFollower, InstallState
from pytest_kerascompat.plan.index import PackageIndex
from pytest_kerascompat.plan.plans import CellPlan, PlanOptions, plan_matrix
from pytest_kerascompat.sweep._progress import (
    fit_line,
    import_stage,
    short_test_id,
    shorten_middle,
    worker_stage,
)
from pytest_kerascompat.sweep.controller import CellProgress, SweepSettings, run_sweep
from pytest_kerascompat.sweep.session import StatusLine

from .conftest import RESOURCES

#: A cold build's install log as nox and uv write it (uv 0.13, output not a terminal).
UV_BUILD_LOG = """\
nox > Running session keras_matrix(cell='tf2.16')
nox > Creating virtual environment (uv) using python3.12 in /cache/envs/ab12/keras_matrix
nox > uv pip install 'tensorflow==2.16.*' pytest
Using Python 3.12.1 environment at: /cache/envs/ab12/keras_matrix
Resolved 38 packages in 1.12s
Downloading tensorflow (562.3MiB)
Downloading keras (1.2MiB)
Downloading ml-dtypes (2.1MiB)
Downloading numpy (17.4MiB)
 Downloaded keras
Prepared 38 packages in 21.40s
Installed 38 packages in 512ms
 + tensorflow==2.16.2
"""


def steps_of(log: str) -> list[str]:
    """What the status line says after each line of ``log``, without repeats."""
    state, said = InstallState(), ["starting nox"]
    for line in log.splitlines():
        state.feed(line)
        if state.describe() != said[-1]:
            said.append(state.describe())
    return said


def test_the_installers_steps_are_read_from_its_output_lines() -> None:
    assert steps_of(UV_BUILD_LOG) == [
        "starting nox",
        "creating the environment",
        "resolving requirements",
        "resolved 38 packages",
        "downloading tensorflow (562.3MiB)",
        "downloading tensorflow (562.3MiB), keras (1.2MiB)",
        "downloading tensorflow (562.3MiB), keras (1.2MiB), ml-dtypes (2.1MiB)",
        "downloading tensorflow (562.3MiB), keras (1.2MiB), ml-dtypes (2.1MiB) and 1 more",
        "downloading tensorflow (562.3MiB), ml-dtypes (2.1MiB), numpy (17.4MiB)",
        "installing 38 packages",
        "installed 38 packages",
    ]


def test_a_source_build_and_pips_own_install_line_are_steps_too() -> None:
    log = "nox > python -m pip install old-package\nBuilding old-package==1.0\n"
    assert steps_of(log)[-2:] == ["resolving requirements", "building old-package==1.0"]


def test_the_follower_reads_only_complete_new_lines_and_reports_changes_only(
    tmp_path: Path,
) -> None:
    log = tmp_path / "cell.install.log"
    log.write_text("an earlier build's line: Resolved 99 packages in 1s\n")
    said: list[str] = []
    follower = InstallFollower(log, said.append)
    follower.poll()
    follower.poll()
    with log.open("a") as stream:
        stream.write("Resolved 38 packages in 1.12s\nDownloading tensorf")
    follower.poll()
    with log.open("a") as stream:
        stream.write("low (562.3MiB)\n")
    follower.poll()
    assert said == [
        "building: starting nox 0 s",
        "building: resolved 38 packages 0 s",
        "building: downloading tensorflow (562.3MiB) 0 s",
    ]


def test_the_worker_stage_names_the_import_the_collection_and_the_running_test() -> None:
    assert worker_stage(False, None, 0, 0, 4.6) == "importing TensorFlow and Keras 5 s"
    assert worker_stage(True, None, 0, 0, 0.2) == "collecting tests 0 s"
    running = "tests/unit/test_train.py::test_fit[3]"
    assert worker_stage(True, running, 2, 4, 12.4) == "test 3/4 test_train.py::test_fit[3] 12 s"
    assert worker_stage(True, None, 3, 4, 0.0) == "3/4 tests done"
    assert short_test_id("test_x.py::TestA::test_b") == "test_x.py::TestA::test_b"


@pytest.mark.parametrize(
    ("tensorflow", "keras", "stage"),
    [
        ("2.16", None, "importing TensorFlow and Keras"),
        ("2.3", "2.4.3", "importing TensorFlow and Keras"),
        (None, "3.5", "importing Keras"),
        (None, None, "starting the worker"),
    ],
)
def test_the_import_stage_names_what_the_cell_imports(
    tensorflow: str | None, keras: str | None, stage: str
) -> None:
    spec = CellSpec(name="cell", tensorflow=tensorflow, keras=keras)
    plan = CellPlan(spec, "3.11.7", "/usr/bin/python3", "", (), ())
    assert import_stage(plan) == stage
    assert worker_stage(False, None, 0, 0, 3.2, import_stage(plan)) == f"{stage} 3 s"


def test_a_long_status_is_cut_in_the_middle_and_keeps_its_time() -> None:
    text = "[tf2.16] test 3/4 test_train.py::test_fit_with_a_very_long_name 12 s"
    assert shorten_middle(text, len(text)) == text
    short = shorten_middle(text, 30)
    assert len(short) == 30
    assert short.startswith("[tf2.16] test 3/4")
    assert short.endswith("name 12 s")


def test_short_parts_stay_whole_and_long_ones_share_the_rest() -> None:
    assert fit_line(["a" * 10, "b" * 50, "c" * 50], 72) == "  ".join(
        ["a" * 10, shorten_middle("b" * 50, 29), shorten_middle("c" * 50, 29)]
    )
    assert fit_line(["short", "also short"], 80) == "short  also short"


def test_running_cells_share_the_status_line(pytester: pytest.Pytester) -> None:
    status = StatusLine(pytester.parseconfig())
    status.cells = {
        "tf2.15": "test 1/9 test_a_module_with_a_long_name.py::test_a_long_test_name 3 s",
        "tf2.16": "importing TensorFlow and Keras 12 s",
    }
    line = status.line(100)
    assert len(line) == 100
    first, second = line.split("  [")
    assert first.startswith("[tf2.15] test 1/9")
    assert first.endswith("3 s")
    assert second == "tf2.16] importing TensorFlow and Keras 12 s", "a short one is whole"


def test_a_sweep_says_what_it_builds_imports_and_runs_while_it_does(tmp_path: Path) -> None:
    """A real cold build (uv, no TensorFlow) and a worker running a 2 s test."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_slow.py").write_text(
        "import time, pytest\n\n@pytest.mark.keras_compat\n"
        "def test_sleeps():\n    time.sleep(2.2)\n"
    )
    (project / "matrix.yaml").write_text((RESOURCES / "plain_matrix.yaml").read_text())
    matrix = load_matrix(project / "matrix.yaml").select(["plain"])
    cache = tmp_path / "cache"  # empty: the environment is built
    plans = plan_matrix(matrix, PlanOptions(), index=PackageIndex(cache))
    settings = SweepSettings(
        cache_dir=cache, run_dir=project / "run", mode=MODE_USER, cwd=project,
        user_args=("test_slow.py",), rootdir=project,
    )  # fmt: skip
    said = [
        event.message
        for event in run_sweep(plans, settings)
        if isinstance(event, CellProgress) and event.transient
    ]
    steps = [text.split(": ", 1)[1].rsplit(" ", 2)[0] for text in said if "building: " in text]
    assert steps[0] == "starting nox", said
    assert re.fullmatch(r"installed \d+ packages", steps[-1]), said
    assert len(steps) > 2, "what happened in between: resolving, downloading, ..."
    assert any(text.startswith("starting the worker") for text in said), "no TensorFlow here"
    running = [text for text in said if text.startswith("test 1/1 test_slow.py::test_sleeps")]
    assert [text.rsplit(" ", 2)[-2] for text in running] == ["0", "1", "2"], said
