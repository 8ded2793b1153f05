from __future__ import annotations

from typing import Any

import pytest
from packaging.version import Version

from pytest_kerascompat.model.changes import KNOWN_CHANGES, find_change
from pytest_kerascompat.model.outcomes import classify
from pytest_kerascompat.model.results import Outcome
from pytest_kerascompat.plan.pins import pins_for
from pytest_kerascompat.sweep.controller import innermost_frame, verdict_result

KERAS2 = {"tensorflow": "2.15.1", "keras": "2.15.0", "python": "3.11.7"}
KERAS3 = {"tensorflow": "2.16.2", "keras": "3.10.0", "python": "3.12.1"}


def finish(**fields: Any) -> dict[str, Any]:
    event = {"test": "tests/test_train.py::test_fit", "api": None, "outcome": "passed"}
    event.update(fields)
    return event


FIT_GENERATOR_GONE = {
    "outcome": "failed",
    "api": "fit_generator",
    "exc_type": "AttributeError",
    "message": "'Sequential' object has no attribute 'fit_generator'",
    "missing": {"kind": "attribute", "name": "fit_generator", "owner": "keras.src.models"},
}


def test_a_removed_api_under_test_is_removed_with_its_hint() -> None:
    verdict = classify(finish(**FIT_GENERATOR_GONE), KERAS3)
    assert verdict.outcome is Outcome.REMOVED
    assert verdict.exc_type == "AttributeError"
    assert verdict.hint is not None
    assert "model.fit(generator" in verdict.hint


def test_a_removed_square_built_from_the_workers_event_names_its_scan_rule() -> None:
    result = verdict_result("tf2.16", finish(**FIT_GENERATOR_GONE), KERAS3)
    assert (result.outcome, result.rule) == (Outcome.REMOVED, "fit_generator")
    passed = verdict_result("tf2.15", finish(api="fit_generator"), KERAS2)
    assert (passed.hint, passed.rule) == (None, None)


@pytest.mark.parametrize(
    ("names", "texts", "api"),
    [
        (["predict_classes"], [], "predict_classes"),
        (["LocallyConnected2D"], [], "removed_layers"),
        ([], ["ValueError: Argument(s) not recognized: {'lr': 0.01}"], "optimizer_lr"),
        ([], ["ImportError: `keras.optimizers.legacy` is not supported in Keras 3."],
         "optimizers_legacy"),
        ([], ["Your `PyDataset` class should call `super().__init__(**kwargs)` in its"],
         "sequence_super_init"),
    ],
)  # fmt: skip
def test_the_changes_added_for_the_scanner_explain_what_a_sweep_sees(
    names: list[str], texts: list[str], api: str
) -> None:
    change = find_change(names=names, texts=texts)
    assert change is not None
    assert (change.api, change.rule) == (api, api)


def test_a_deprecation_warning_naming_the_api_makes_a_pass_deprecated() -> None:
    warning = {
        "category": "UserWarning",
        "message": "`Model.fit_generator` is deprecated and will be removed in a future version.",
        "filename": "/site-packages/keras/engine/training.py",
    }
    verdict = classify(finish(api="fit_generator", warnings=[warning]), KERAS2)
    assert verdict.outcome is Outcome.DEPRECATED
    assert verdict.message is not None
    assert "fit_generator" in verdict.message


def test_a_deprecation_logged_by_tensorflow_counts_too() -> None:
    record = {
        "category": "logging:tensorflow",
        "message": "From x.py:3: Model.fit_generator (from tensorflow.python.keras.engine.training)"
        " is deprecated and will be removed in a future version.",
    }
    verdict = classify(finish(api="fit_generator", warnings=[record]), KERAS2)
    assert verdict.outcome is Outcome.DEPRECATED
    assert (verdict.message or "").startswith("Model.fit_generator (from tensorflow")


def test_an_unrelated_deprecation_leaves_a_pass_alone() -> None:
    warning = {
        "category": "DeprecationWarning",
        "message": "np.bool8 is deprecated",
        "filename": "/site-packages/tensorflow/python/framework/dtypes.py",
    }
    assert classify(finish(api="tf_data", warnings=[warning]), KERAS2).outcome is Outcome.PASSED
    assert classify(finish(warnings=[warning]), KERAS2).outcome is Outcome.PASSED


def test_without_an_api_a_deprecation_raised_at_the_tests_own_line_counts() -> None:
    warning = {
        "category": "UserWarning",
        "message": "`Model.fit_generator` is deprecated",
        "filename": "/home/me/project/tests/test_train.py",
    }
    assert classify(finish(warnings=[warning]), KERAS2).outcome is Outcome.DEPRECATED


def test_a_missing_name_outside_the_api_under_test_is_a_failure() -> None:
    event = finish(
        api="tf_data",
        outcome="failed",
        exc_type="AttributeError",
        message="'DatasetV1Adapter' object has no attribute 'ndim'",
        missing={"kind": "attribute", "name": "ndim", "owner": "tensorflow.python.data"},
    )
    verdict = classify(event, {"tensorflow": "1.15.5", "keras": "2.3.1"})
    assert verdict.outcome is Outcome.FAILED
    assert verdict.hint is not None
    assert "standalone Keras 2.3" in verdict.hint


def test_without_an_api_a_name_missing_from_keras_is_removed() -> None:
    event = finish(
        outcome="failed",
        exc_type="TypeError",
        message="TensorFlowTrainer.fit() got an unexpected keyword argument 'workers'",
        missing={"kind": "keyword", "name": "workers", "owner": "keras.src.backend"},
    )
    verdict = classify(event, KERAS3)
    assert verdict.outcome is Outcome.REMOVED
    assert verdict.hint is not None
    assert "PyDataset" in verdict.hint


def test_without_an_api_a_name_missing_from_the_users_code_is_a_failure() -> None:
    event = finish(
        outcome="failed",
        exc_type="AttributeError",
        message="'NoneType' object has no attribute 'shape'",
        missing={"kind": "attribute", "name": "shape", "owner": "builtins"},
    )
    assert classify(event, KERAS3).outcome is Outcome.FAILED


def test_a_missing_scipy_is_a_failure_with_a_dependency_hint_not_a_removal() -> None:
    event = finish(
        api="image_data_generator",
        outcome="failed",
        exc_type="NameError",
        message="name 'scipy' is not defined",
    )
    verdict = classify(event, KERAS2)
    assert verdict.outcome is Outcome.FAILED
    assert verdict.hint is not None
    assert "SciPy is missing" in verdict.hint


@pytest.mark.parametrize(
    ("versions", "outcome", "expected"),
    [
        (KERAS3, "failed", Outcome.XFAILED),
        (KERAS3, "passed", Outcome.XPASSED),
        (KERAS2, "failed", Outcome.FAILED),
        (KERAS2, "passed", Outcome.PASSED),
    ],
)
def test_a_declared_break_turns_failures_into_xfailed_only_in_its_range(
    versions: dict[str, str], outcome: str, expected: Outcome
) -> None:
    event = finish(outcome=outcome, breaks="keras>=3", exc_type="ValueError", message="boom")
    assert classify(event, versions).outcome is expected


def test_a_removal_inside_a_declared_break_is_xfailed() -> None:
    event = finish(**FIT_GENERATOR_GONE, breaks=["keras>=3"])
    assert classify(event, KERAS3).outcome is Outcome.XFAILED


def test_a_deprecated_pass_inside_a_declared_break_is_xpassed() -> None:
    warning = {
        "category": "DeprecationWarning",
        "message": "`Model.fit_generator` is deprecated and will be removed in a future version.",
        "filename": "/site-packages/keras/engine/training.py",
    }
    event = finish(api="fit_generator", warnings=[warning], breaks="keras>=2")
    assert classify(event, KERAS2).outcome is Outcome.XPASSED


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [("skipped", Outcome.SKIPPED), ("xfailed", Outcome.XFAILED), ("error", Outcome.ERROR)],
)
def test_pytest_outcomes_pass_through(outcome: str, expected: Outcome) -> None:
    assert classify(finish(outcome=outcome), KERAS2).outcome is expected


def test_numpy2_import_failure_is_explained_by_the_pin() -> None:
    change = find_change(
        texts=["TypeError: Unable to convert function return value to a Python type!"]
    )
    assert change is not None
    assert "numpy<2" in change.hint


def test_every_known_change_has_a_hint_and_a_way_to_be_recognised() -> None:
    for change in KNOWN_CHANGES:
        assert change.hint
        assert change.names or change.message is not None, change.api


@pytest.mark.parametrize(
    ("versions", "pins"),
    [
        ({"tensorflow": Version("2.10.1")}, ["numpy<2"]),
        ({"tensorflow": Version("2.3.4")}, ["numpy<2", "protobuf<3.21"]),
        ({"tensorflow": Version("1.15.5"), "keras": Version("2.3.1")},
         ["numpy<2", "protobuf<3.21", "h5py<3"]),
        ({"tensorflow": Version("2.15.1")}, []),
        ({"keras": Version("3.5.0")}, []),
    ],
)  # fmt: skip
def test_known_good_pins_follow_the_expected_versions(
    versions: dict[str, Version], pins: list[str]
) -> None:
    assert [pin.requirement for pin in pins_for(versions)] == pins


STACK = """Timeout (0:00:20)!
Thread 0x00007f53b2d746c0 (most recent call first):
  File "/cell/kerascompat_cell/worker.py", line 134 in watch
  File "/usr/lib/python3.11/threading.py", line 982 in run

Thread 0x00007f53b4bbbb80 (most recent call first):
  File "/env/lib/python3.11/site-packages/tensorflow/ops/array_ops.py", line 4186 in identity
  File "/env/lib/python3.11/site-packages/keras/src/engine/training.py", line 1807 in fit
  File "/project/tests/test_train.py", line 36 in test_endless
  File "/env/lib/python3.11/site-packages/_pytest/python.py", line 194 in pytest_pyfunc_call
"""


def test_a_timeout_names_the_users_frame_first_then_the_innermost_one() -> None:
    assert innermost_frame(STACK) == (
        'File "/project/tests/test_train.py", line 36 in test_endless (innermost: File '
        '"/env/lib/python3.11/site-packages/tensorflow/ops/array_ops.py", line 4186 in identity)'
    )


def test_a_timeout_in_the_users_own_frame_or_with_no_user_frame_names_one_frame() -> None:
    own = STACK.replace("/env/lib/python3.11/site-packages/tensorflow", "/project/tensorflow")
    library_only = STACK.replace("/project/tests", "/env/lib/python3.11/site-packages/x")

    assert innermost_frame(own).startswith('File "/project/tensorflow/ops/array_ops.py"')
    assert "(innermost" not in innermost_frame(own)
    assert innermost_frame(library_only).endswith("line 4186 in identity")
    assert innermost_frame("") == "an unknown place"


OUTPUT_SIGNATURE = {
    "outcome": "failed",
    "exc_type": "TypeError",
    "message": "from_generator() got an unexpected keyword argument 'output_signature'",
}
TF115 = {"tensorflow": "1.15.5", "keras": "2.3.1", "python": "3.7.16"}


@pytest.mark.parametrize(
    ("api", "raised_by", "versions", "expected"),
    [
        # Whose callable it was is unknown: the api= names or the table decide.
        ("tf_data_from_generator", None, TF115, Outcome.REMOVED),
        (None, None, TF115, Outcome.REMOVED),
        (None, None, KERAS2, Outcome.FAILED),
        # The user's own function rejected it: never a removal.
        ("tf_data_from_generator", "mylib.data", TF115, Outcome.FAILED),
        (None, "mylib.data", TF115, Outcome.FAILED),
        # A TensorFlow callable rejected it.
        (None, "tensorflow.python.data.ops.dataset_ops", KERAS2, Outcome.REMOVED),
    ],
)
def test_a_rejected_keyword_is_removed_unless_the_users_own_callable_rejected_it(
    api: str | None, raised_by: str | None, versions: dict[str, str], expected: Outcome
) -> None:
    missing = {"kind": "keyword", "name": "output_signature", "owner": "from_generator",
               "mro": None, "raised_by": raised_by}  # fmt: skip
    event = finish(api=api, missing=missing, **OUTPUT_SIGNATURE)
    assert classify(event, versions).outcome is expected
