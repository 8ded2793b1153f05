"""A real TensorFlow environment damaged after it was built: found before reuse, cheaply,
and rebuilt, instead of a Keras without its ``__init__.py`` giving a wrong square.

The environment is built in a cache of this test's own, since the test deletes a file
of it (uv links installed files from its cache, so deleting one never touches uv's).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_kerascompat.env._integrity import damage
from pytest_kerascompat.model.results import Report

pytestmark = pytest.mark.integration

MATRIX = 'cells:\n  - name: tf2.16\n    tensorflow: "2.16"\n    python: "3.11"\n'
USER_TEST = """
import pytest


@pytest.mark.keras_compat
def test_builds_a_model():
    from tensorflow import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(loss="mse")
    assert model.count_params() == 3
"""


def sweep(project: Path, cache: Path) -> tuple[subprocess.CompletedProcess[str], Report]:
    completed = subprocess.run(  # noqa: S603 - an argument list
        [sys.executable, "-m", "pytest", "--keras-matrix", f"--keras-cache-dir={cache}",
         "-p", "no:cacheprovider", "-o", "addopts="],
        cwd=project, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    return completed, Report.read_json(project / ".kerascompat" / "report.json")


def outcomes(report: Report) -> list[str]:
    return [result.outcome.value for result in report.results]


def test_a_damaged_tensorflow_environment_is_found_in_well_under_a_second_and_rebuilt(
    tmp_path: Path,
) -> None:
    cache, project = tmp_path / "own-cache", tmp_path / "project"
    project.mkdir()
    (project / "matrix.yaml").write_text(MATRIX)
    (project / "test_model.py").write_text(USER_TEST)
    first, report = sweep(project, cache)
    assert first.returncode == 0, first.stdout
    assert outcomes(report) == ["passed"]

    (location,) = (path.parent for path in cache.glob("envs/*/*/pyvenv.cfg"))
    started = time.perf_counter()
    assert damage(location, ["tensorflow"]) is None
    seconds = time.perf_counter() - started
    print(f"integrity check of a TensorFlow 2.16 environment: {seconds:.3f} s")
    assert seconds < 1.0

    (keras_init,) = location.glob("lib/python3.11/site-packages/keras/__init__.py")
    keras_init.unlink()
    second, report = sweep(project, cache)
    assert second.returncode == 0, second.stdout
    assert "[tf2.16] environment damaged: keras/__init__.py is missing (keras 3." in second.stdout
    assert "per its RECORD); rebuilding it" in second.stdout
    assert outcomes(report) == ["passed"], "not a removed square from a broken Keras"
    assert keras_init.is_file()
