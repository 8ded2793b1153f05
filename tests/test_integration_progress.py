"""A real TensorFlow cell seen by a person: the import's seconds, the running probe, and
the same environment from a nox session."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_kerascompat.cell.protocol import MODE_PROBES
from pytest_kerascompat.config.matrix import load_matrix
from pytest_kerascompat.env.environments import ensure_environment
from pytest_kerascompat.plan.index import PackageIndex
from pytest_kerascompat.plan.plans import CellPlan, PlanOptions, plan_matrix
from pytest_kerascompat.sweep.controller import CellProgress, SweepSettings, run_sweep

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[1]
CELL = "tf2.16"


def test_a_tensorflow_cell_says_how_long_its_import_and_each_probe_take(
    tmp_path: Path, cache_dir: Path
) -> None:
    matrix = load_matrix(ROOT / "matrix.yaml").select([CELL])
    plans = plan_matrix(matrix, PlanOptions(probes=True), index=PackageIndex(cache_dir))
    settings = SweepSettings(
        cache_dir=cache_dir, run_dir=tmp_path / "run", mode=MODE_PROBES, cwd=tmp_path
    )
    said = [
        event.message
        for event in run_sweep(plans, settings)
        if isinstance(event, CellProgress) and event.transient
    ]
    importing = [text for text in said if text.startswith("importing TensorFlow and Keras")]
    assert int(importing[-1].split()[-2]) >= 1, "TensorFlow takes seconds: they are counted"
    running = [text for text in said if re.match(r"test \d+/\d+ probes::", text)]
    assert {"test_fit_generator", "test_tf_data"} <= {
        text.split("::")[1].split()[0] for text in running
    }, said


def write_plan(directory: Path, plan: CellPlan) -> Path:
    """The plan file the sweep's bundled noxfile builds from."""
    path = directory / "plan.json"
    path.write_text(json.dumps({"plans": [plan.to_dict()]}))
    return path


def test_the_nox_session_of_a_tensorflow_cell_runs_in_the_sweeps_environment(
    tmp_path: Path, cache_dir: Path
) -> None:
    (tmp_path / "matrix.yaml").write_text((ROOT / "matrix.yaml").read_text())
    (tmp_path / "noxfile.py").write_text(
        "from pytest_kerascompat.env.nox_sessions import register_sessions\n\n"
        f"register_sessions('matrix.yaml', probes=True, cache_dir={str(cache_dir)!r})\n"
    )
    (plan,) = plan_matrix(
        load_matrix(ROOT / "matrix.yaml").select([CELL]),
        PlanOptions(probes=True),
        index=PackageIndex(cache_dir),
    )
    ensure_environment(
        plan, cache_dir=cache_dir, plan_file=write_plan(tmp_path, plan), log=tmp_path / "log",
        cwd=tmp_path,
    )  # fmt: skip
    done = subprocess.run(  # noqa: S603 - an argument list
        [sys.executable, "-m", "nox", "--no-color", "-s", f"keras_matrix(cell='{CELL}')",
         "--", "-p", "no:cacheprovider"],
        cwd=tmp_path, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert re.search(r"^tensorflow +2\.16\.\d+$", output, re.MULTILINE), output
    assert re.search(r"^fit_generator +removed$", output, re.MULTILINE), output
    assert f"[{CELL}] environment reused" in output, "the environment the sweep built"
    assert not (tmp_path / ".nox").exists(), "no second environment under .nox"
