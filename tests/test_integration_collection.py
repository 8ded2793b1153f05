"""A test module that crashes or hangs while TensorFlow cells collect it, for real.

The fast suite shows the plumbing on cells without TensorFlow (``test_sweep_faults.py``);
here the same faults happen with TensorFlow imported, where a segfault or a hang at
import time is what a real suite meets (a native extension, a model loaded at module
level, a service waited for).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_kerascompat.model.results import Report

pytestmark = pytest.mark.integration

CELLS = "tf2.15,tf2.16"

#: Segfaults at import in TensorFlow 2.15, hangs at import in 2.16.
MISBEHAVES_AT_IMPORT = """
import ctypes, time
import tensorflow as tf
import pytest

def wait_for_a_model_server():
    while True:
        time.sleep(0.1)

if tf.__version__.startswith("2.15."):
    ctypes.string_at(0)
elif tf.__version__.startswith("2.16."):
    wait_for_a_model_server()

@pytest.mark.keras_compat
def test_never_runs():
    pass
"""
HEALTHY = "import pytest\n\n@pytest.mark.keras_compat\ndef test_healthy():\n    pass\n"


def test_a_module_crashing_or_hanging_at_import_makes_collect_error_cells(
    tmp_path: Path, cache_dir: Path
) -> None:
    (tmp_path / "test_at_import.py").write_text(MISBEHAVES_AT_IMPORT)
    (tmp_path / "test_healthy.py").write_text(HEALTHY)
    started = time.monotonic()
    completed = subprocess.run(  # noqa: S603 - an argument list
        [sys.executable, "-m", "pytest", "--keras-matrix", f"--keras-cache-dir={cache_dir}",
         "-p", "no:cacheprovider", "-o", "addopts=", f"--keras-cells={CELLS}",
         "--keras-timeout=15", "--keras-report-json=out.json", "--keras-junitxml=out.xml"],
        cwd=tmp_path, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    assert completed.returncode == pytest.ExitCode.TESTS_FAILED, completed.stdout[-3000:]
    assert time.monotonic() - started < 600
    report = Report.read_json(tmp_path / "out.json")
    cells = {cell.name: cell for cell in report.cells}
    assert {name: cell.status.value for name, cell in cells.items()} == {
        "tf2.15": "collect-error",
        "tf2.16": "collect-error",
    }
    assert "killed by SIGSEGV while collecting test_at_import.py" in (cells["tf2.15"].detail or "")
    hung = cells["tf2.16"].detail or ""
    assert "ran past the 15 s limit" in hung
    assert "wait_for_a_model_server" in hung
    assert "unknown and none of them ran" in hung
    squares = {(r.cell, r.test): r.outcome.value for r in report.results}
    assert squares == {
        ("tf2.15", "test_at_import.py"): "crashed",
        ("tf2.16", "test_at_import.py"): "timeout",
    }, "no test is counted as run in a cell whose collection never finished"
    junit = (tmp_path / "out.xml").read_text()
    assert "<skipped" not in junit
