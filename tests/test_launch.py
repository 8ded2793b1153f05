"""How a worker is started: its argv, its environment, and where bytecode goes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_kerascompat.config.matrix import CellSpec
from pytest_kerascompat.plan.plans import CellPlan
from pytest_kerascompat.sweep._launch import (
    CELL_PACKAGE,
    PYCACHE_DIR,
    WorkerCall,
    bytecode_env,
    compiles_at_install,
    worker_argv,
    worker_env,
)


def plan(python: str | None = "3.12.1", **spec: object) -> CellPlan:
    return CellPlan(
        spec=CellSpec(name="cell", **spec),  # type: ignore[arg-type]
        python=python,
        executable="/usr/bin/python3",
        python_note="",
        requirements=("tensorflow==2.16.*",),
        pins=(),
    )


def call(tmp_path: Path, **fields: object) -> WorkerCall:
    values: dict[str, object] = {"results": tmp_path / "events.jsonl", "mode": "probes"}
    values.update(fields)
    return WorkerCall(cellpath=tmp_path / "cellpath", **values)  # type: ignore[arg-type]


def test_probes_run_from_the_probes_directory_unless_some_are_chosen(tmp_path: Path) -> None:
    every = worker_argv(Path("python"), plan(), call(tmp_path))
    chosen = worker_argv(Path("python"), plan(), call(tmp_path, probes=("test_fit_generator",)))

    probes_dir = tmp_path / "cellpath" / CELL_PACKAGE / "probes"
    assert every[-1] == str(probes_dir)
    assert chosen[-1] == f"{probes_dir / 'test_data_feeding.py'}::test_fit_generator"


def test_named_mode_passes_the_users_node_ids_and_no_probes(tmp_path: Path) -> None:
    argv = worker_argv(
        Path("python"), plan(), call(tmp_path, mode="named", user_args=("t.py::test_a",))
    )

    assert argv[argv.index("--kc-mode") + 1] == "named"
    assert argv[-1] == "t.py::test_a"
    probes_dir = str(tmp_path / "cellpath" / CELL_PACKAGE / "probes")
    assert argv.count(probes_dir) == 1, "only as --kc-probes-dir, never as a path to run"
    assert argv[argv.index("--kc-probes-dir") + 1] == probes_dir


def test_workers_are_told_to_skip_the_interpreter_teardown(tmp_path: Path) -> None:
    assert "--kc-quick-exit" in worker_argv(Path("python"), plan(), call(tmp_path))


@pytest.mark.parametrize(
    ("python", "at_install"),
    [("3.7.17", True), ("3.8.18", False), ("3.12.1", False), (None, True), ("3", True)],
)
def test_only_pythons_without_a_pycache_prefix_compile_at_install(
    python: str | None, at_install: bool
) -> None:
    assert compiles_at_install(plan(python)) is at_install


def test_bytecode_goes_to_the_environment_even_where_writing_it_is_turned_off(
    tmp_path: Path,
) -> None:
    env = bytecode_env(plan("3.12.1"), tmp_path, {"PYTHONDONTWRITEBYTECODE": "1", "HOME": "/h"})

    assert env == {"HOME": "/h", "PYTHONPYCACHEPREFIX": str(tmp_path / PYCACHE_DIR)}


def test_python_3_7_keeps_the_callers_choice_about_bytecode(tmp_path: Path) -> None:
    base = {"PYTHONDONTWRITEBYTECODE": "1"}

    assert bytecode_env(plan("3.7.17"), tmp_path, base) == base


def test_the_worker_sees_the_cells_variables_and_only_the_cell_package(tmp_path: Path) -> None:
    cell = plan("3.12.1", backend="jax", env=(("TF_USE_LEGACY_KERAS", "1"),))

    env = worker_env(cell, tmp_path / "cellpath", tmp_path / "env", {"PYTHONPATH": "/elsewhere"})

    assert env["PYTHONPATH"] == str(tmp_path / "cellpath")
    assert env["KERAS_BACKEND"] == "jax"
    assert env["TF_USE_LEGACY_KERAS"] == "1"
    assert env["PYTHONPYCACHEPREFIX"] == str(tmp_path / "env" / PYCACHE_DIR)
    assert env["TF_CPP_MIN_LOG_LEVEL"] == "2"
