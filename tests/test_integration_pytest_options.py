"""Square ids, ``--co``, an id passed back and ``--lf`` on real TensorFlow cells.

The test module imports TensorFlow at its top, as real suites do, so listing its squares
takes each cell's environment; the cells are the bundled matrix's Keras 2 and Keras 3
ones, shared with the other integration tests through ``cache_dir``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_kerascompat.model.results import Report

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[1]
CELLS = "tf2.15,tf2.16"

TRAINING = """
import numpy as np
import pytest
import tensorflow as tf


def model():
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    return model


@pytest.mark.keras_compat
@pytest.mark.parametrize("epochs", [1, 2])
def test_fits(epochs):
    history = model().fit(np.zeros((4, 3)), np.zeros((4, 1)), epochs=epochs, verbose=0)
    assert len(history.history["loss"]) == epochs


@pytest.mark.keras_compat(api="fit_generator")
def test_legacy_feeding():
    batches = ((np.zeros((2, 3)), np.zeros((2, 1))) for _ in range(2))
    model().fit_generator(batches, steps_per_epoch=2, verbose=0)
"""


def pytest_run(cwd: Path, cache_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - an argument list
        [sys.executable, "-m", "pytest", "--keras-matrix", f"--keras-cache-dir={cache_dir}",
         f"--keras-cells={CELLS}", "-o", "addopts=", *args],
        cwd=cwd, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip


def test_real_cells_list_run_and_rerun_squares_by_their_pytest_ids(
    tmp_path: Path, cache_dir: Path
) -> None:
    (tmp_path / "matrix.yaml").write_text((ROOT / "matrix.yaml").read_text())
    (tmp_path / "test_training.py").write_text(TRAINING)

    listed = pytest_run(tmp_path, cache_dir, "--co", "-q")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    for cell in CELLS.split(","):
        for square in ("test_fits[1-", "test_fits[2-", "test_legacy_feeding["):
            assert f"test_training.py::{square}{cell}]\n" in listed.stdout, listed.stdout
    assert "6 tests collected" in listed.stdout

    one = pytest_run(tmp_path, cache_dir, "-rA", "test_training.py::test_legacy_feeding[tf2.16]")
    assert one.returncode == 1, one.stdout + one.stderr
    assert "REMOVED test_training.py::test_legacy_feeding[tf2.16]" in one.stdout
    report = Report.read_json(tmp_path / ".kerascompat" / "report.json")
    assert [cell.name for cell in report.cells] == ["tf2.16"]
    assert [(r.test, r.outcome.value) for r in report.results] == [
        ("test_training.py::test_legacy_feeding", "removed")
    ]
    lastfailed = tmp_path / ".pytest_cache" / "v" / "cache" / "lastfailed"
    assert json.loads(lastfailed.read_text()) == {
        "test_training.py::test_legacy_feeding[tf2.16]": True
    }

    rerun = pytest_run(tmp_path, cache_dir, "--lf", "-v")
    assert rerun.returncode == 1, rerun.stdout + rerun.stderr
    assert "--lf: rerunning the 1 square that failed last time, in tf2.16" in rerun.stdout
    assert "test_training.py::test_legacy_feeding[tf2.16] REMOVED" in rerun.stdout
    assert "[tf2.15]" not in rerun.stdout, "a cell with no failure does not start"
