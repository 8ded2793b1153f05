"""The smaller points of issue 13: each fixed, and shown here without a real cell."""

from __future__ import annotations

import os
from pathlib import Path

from pytest_kerascompat.config.matrix import CellSpec
from pytest_kerascompat.plan.plans import CellPlan
from pytest_kerascompat.sweep._launch import worker_env


def plan(**spec: object) -> CellPlan:
    return CellPlan(
        spec=CellSpec(name="cell", **spec),  # type: ignore[arg-type]
        python="3.12.1",
        executable="/usr/bin/python3",
        python_note="",
        requirements=("tensorflow==2.16.*",),
        pins=(),
    )


def test_a_pythonpath_from_the_matrix_comes_first_and_the_cell_package_stays(
    tmp_path: Path,
) -> None:
    cell = plan(env=(("PYTHONPATH", "src:vendor"),))
    env = worker_env(cell, tmp_path / "cellpath", tmp_path / "env", {"PYTHONPATH": "/caller"})
    assert env["PYTHONPATH"] == os.pathsep.join(["src:vendor", str(tmp_path / "cellpath")])


def test_without_one_only_the_cell_package_is_on_the_path(tmp_path: Path) -> None:
    env = worker_env(plan(), tmp_path / "cellpath", tmp_path / "env", {"PYTHONPATH": "/caller"})
    assert env["PYTHONPATH"] == str(tmp_path / "cellpath")
