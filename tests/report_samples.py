"""One small report that exercises every renderer: every outcome, every cell status.

Shared by the renderer tests and the Chromium tests, so what is checked in the markup
is also what is checked on screen.
"""

from __future__ import annotations

from typing import Any

from pytest_kerascompat.model.changes import KNOWN_CHANGES
from pytest_kerascompat.model.results import CellReport, CellStatus, Outcome, Report, Result

HOSTILE_MESSAGE = '<script>alert("x")</script> shape (3|4) & more'
STACK = (
    'Thread 0x00007f (most recent call first):\n  File "train.py", line 12 in <genexpr>\n'
    '  File "keras/trainer.py", line 3 in fit'
)
INSTALL_DETAIL = (
    "No solution found when resolving dependencies:\n"
    "  Because tensorflow==9.9.* has no wheels for Python 3.12, ...\n"
    "full log: /tmp/run/tf9.9.install.log"
)
NO_INTERPRETER_DETAIL = "Python 3.7 is not installed (found 3.11, 3.12); pyenv install 3.7"

FIT_GENERATOR = "probes::test_fit_generator"
TF_DATA = "probes::test_tf_data"
TRAINS = "tests/test_training.py::test_trains"
SLOW = "tests/test_training.py::test_slow"
LEGACY = "tests/test_training.py::TestLegacy::test_legacy[a]"
WORKERS = "tests/test_feeding.py::test_fit_workers"
ONLY_TF = "tests/test_training.py::test_only_tf"

OK_CELLS = ("tf2.15", "tf2.16", "keras3-jax")
BROKEN_CELL = "tf9.9"
MISSING_CELL = "tf1.15"
NOT_COLLECTED = (ONLY_TF, "keras3-jax")
FIT_GENERATOR_HINT = (
    "fit_generator is gone from Keras 3: use model.fit(generator, steps_per_epoch=...)"
)
# Squares whose hint comes from a known change name its scan rule; other hints name none.
WORKERS_HINT = next(change.hint for change in KNOWN_CHANGES if change.api == "fit_workers")
FIT_GENERATOR_SCAN = "python -m pytest_kerascompat scan --select fit_generator"


def sample_cells() -> list[CellReport]:
    return [
        CellReport("tf2.15", python="3.11.7", tensorflow="2.15.1", keras="2.15.0",
                   backend="tensorflow", keras_module="tf.keras", duration=12.5),
        CellReport("tf2.16", python="3.12.1", tensorflow="2.16.2", keras="3.15.1",
                   backend="tensorflow", keras_module="tf.keras", duration=14.0),
        CellReport("keras3-jax", python="3.13.0", tensorflow="2.21.0", keras="3.15.1",
                   backend="jax", keras_module="keras", duration=9.25),
        CellReport(BROKEN_CELL, python="3.12.1", status=CellStatus.INSTALL_ERROR,
                   detail=INSTALL_DETAIL),
        CellReport(MISSING_CELL, status=CellStatus.NO_INTERPRETER, detail=NO_INTERPRETER_DETAIL),
    ]  # fmt: skip


def probe(cell: str, test: str, api: str, outcome: Outcome, **fields: Any) -> Result:
    return Result(cell, test, outcome, api=api, probe=True, duration=0.25, **fields)


def user(cell: str, test: str, outcome: Outcome, **fields: Any) -> Result:
    return Result(cell, test, outcome, duration=1.5, **fields)


def sample_results() -> list[Result]:
    removed_fit_generator = {
        "exc_type": "AttributeError",
        "message": "'Functional' object has no attribute 'fit_generator'",
        "hint": FIT_GENERATOR_HINT,
        "change": "fit_generator",
    }
    removed_workers = {
        "exc_type": "TypeError",
        "message": "fit() got an unexpected keyword argument 'workers'",
        "hint": WORKERS_HINT,
        "change": "fit_workers",
    }
    return [
        probe("tf2.15", FIT_GENERATOR, "fit_generator", Outcome.DEPRECATED,
              message="Model.fit_generator is deprecated", hint=FIT_GENERATOR_HINT,
              change="fit_generator"),
        probe("tf2.16", FIT_GENERATOR, "fit_generator", Outcome.REMOVED, **removed_fit_generator),
        probe("keras3-jax", FIT_GENERATOR, "fit_generator", Outcome.REMOVED,
              **removed_fit_generator),
        *(probe(cell, TF_DATA, "tf_data", Outcome.PASSED) for cell in OK_CELLS),
        user("tf2.15", TRAINS, Outcome.PASSED),
        user("tf2.16", TRAINS, Outcome.FAILED, exc_type="ValueError", message=HOSTILE_MESSAGE,
             hint="reshape the | input first"),
        user("keras3-jax", TRAINS, Outcome.ERROR, exc_type="RuntimeError",
             message="fixture 'keras' failed"),
        user("tf2.15", SLOW, Outcome.TIMEOUT, message="ran past 300 s", detail=STACK),
        user("tf2.16", SLOW, Outcome.CRASHED, message="worker died: SIGSEGV"),
        user("keras3-jax", SLOW, Outcome.PASSED),
        user("tf2.15", LEGACY, Outcome.SKIPPED, message="needs tf_keras"),
        user("tf2.16", LEGACY, Outcome.XFAILED, exc_type="TypeError", message="expected break"),
        user("keras3-jax", LEGACY, Outcome.XPASSED, message="passed inside breaks='keras>=3'"),
        user("tf2.15", WORKERS, Outcome.PASSED, api="fit_workers"),
        user("tf2.16", WORKERS, Outcome.REMOVED, api="fit_workers", **removed_workers),
        user("keras3-jax", WORKERS, Outcome.REMOVED, api="fit_workers", **removed_workers),
        user("tf2.15", ONLY_TF, Outcome.PASSED),
        user("tf2.16", ONLY_TF, Outcome.PASSED),
    ]  # fmt: skip


def sample_report() -> Report:
    """A fresh report each time: a test that mutates it cannot disturb another."""
    return Report(cells=sample_cells(), results=sample_results())
