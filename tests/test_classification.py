"""Each classification rule, true and false, from what a real worker sees.

A stand-in ``keras`` (Keras 3: no ``fit_generator``) and ``tf_keras`` (Keras 2: it warns)
live in a directory passed as the cell's site-packages; a user's library and tests call
them as users do. The worker runs in process (pytester) and records its events; the
controller's own :func:`verdict_result` classifies each one, as in a sweep. What real
TensorFlow and Keras do is checked in ``test_integration.py``.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from pytest_kerascompat.cell import fixtures, worker
from pytest_kerascompat.model.results import Outcome, Result
from pytest_kerascompat.sweep.controller import verdict_result

KERAS3 = {"tensorflow": "2.16.2", "keras": "3.10.0", "python": "3.12.1"}

SITE = {
    "keras/__init__": """
        import warnings
        from . import utils, preprocessing

        class Model:
            def fit(self, x=None, epochs=1, steps_per_epoch=None):
                if isinstance(x, utils.Sequence) and not hasattr(x, "_workers"):
                    warnings.warn(
                        "Your `PyDataset` class should call `super().__init__(**kwargs)` in "
                        "its constructor. `**kwargs` can include `workers`", UserWarning)
                warnings.warn("np.bool8 is a deprecated alias", DeprecationWarning)
                return x

            def predict(self, x):
                raise ValueError("Input 0 of layer dense is incompatible with the layer: "
                                 "expected shape=(None, 3), found shape=(None, 4)")

            def evaluate(self, x):
                return self._compiled_metrics.result()
        """,
    "keras/utils": """
        class Sequence:
            def __init__(self, workers=1):
                self._workers = workers
        """,
    "keras/preprocessing/__init__": "from . import image",
    "keras/preprocessing/image": "",
    "tf_keras/__init__": """
        import warnings

        class Model:
            def fit(self, x=None, steps_per_epoch=None):
                return x

            def fit_generator(self, generator, steps_per_epoch=None):
                warnings.warn("`Model.fit_generator` is deprecated and will be removed in a "
                              "future version. Please use `Model.fit`.", stacklevel=2)
                return self.fit(generator, steps_per_epoch=steps_per_epoch)
        """,
}

PROJECT = {
    "mylib/__init__": "",
    "mylib/models": """
        import warnings
        import keras
        import tf_keras

        class Regressor(keras.Model):
            pass

        class OldRegressor(tf_keras.Model):
            pass

        class Batches(keras.utils.Sequence):
            def __init__(self, size):
                self.size = size  # never calls super().__init__()

        class Box:
            pass

        def train_old(model, data):
            return model.fit_generator(iter(data), steps_per_epoch=2)

        def train(data, epochs=1):
            return data

        def old_helper():
            warnings.warn("old_helper is deprecated, use new_helper", DeprecationWarning)
        """,
    "test_users": """
        import pytest
        from mylib.models import Batches, Box, OldRegressor, Regressor, old_helper, train, train_old

        pytestmark = pytest.mark.keras_compat

        def test_fit_generator_on_a_subclass():
            Regressor().fit_generator(iter([1]), steps_per_epoch=1)

        def test_fit_generator_on_a_plain_object():
            Box().fit_generator(iter([1]))

        def test_other_attribute_on_a_plain_object():
            Box().weights

        def test_workers_to_a_keras_fit():
            model = Regressor()
            model.fit([1], workers=2)

        def test_workers_to_the_users_own_function():
            train([1], workers=2)

        def test_a_shape_bug_inside_keras():
            Regressor().predict([[1, 2, 3, 4]])

        def test_an_attribute_missing_inside_keras_code():
            Regressor().evaluate([1])

        def test_fit_generator_called_from_the_library():
            train_old(OldRegressor(), [1, 2])

        def test_a_deprecation_in_the_users_own_code():
            old_helper()

        def test_an_internal_deprecation_of_keras():
            Regressor().fit([1])

        def test_a_sequence_without_super_init():
            Regressor().fit(Batches(3))
        """,
    "test_gone": """
        import pytest
        from keras.preprocessing.image import ImageDataGenerator

        @pytest.mark.keras_compat
        def test_augments():
            ImageDataGenerator()
        """,
}


@pytest.fixture
def squares(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> dict[str, Result]:
    """Every square of the user project above, classified as a Keras 3 cell would."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setattr(fixtures, "_STACKS", {})
    site = pytester.path / "site"
    for name, body in SITE.items():
        path = site / f"{name}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body), encoding="utf-8")
    pytester.syspathinsert(site)
    pytester.syspathinsert()
    pytester.makepyfile(**PROJECT)
    events = pytester.path / "events.jsonl"
    pytester.runpytest(
        "-p", "pytest_kerascompat.cell.worker", "-p", "no:kerascompat", "-p", "no:cacheprovider",
        f"--kc-results={events}", "--continue-on-collection-errors",
    )  # fmt: skip
    libraries = [*worker.library_paths(), str(site)]
    written = [json.loads(line) for line in events.read_text(encoding="utf-8").splitlines()]
    kept = [event for event in written if event["event"] in ("finish", "collect_error")]
    results = [verdict_result("k3", event, KERAS3, libraries) for event in kept]
    return {result.test.split("::")[-1]: result for result in results}


def verdict(result: Result) -> tuple[str, str | None]:
    return result.outcome.value, result.rule


@pytest.mark.parametrize(
    ("test", "outcome", "rule"),
    [
        # Removed: the Keras API is gone, whoever's object it was looked up on.
        ("test_fit_generator_on_a_subclass", "removed", "fit_generator"),
        ("test_workers_to_a_keras_fit", "removed", "fit_workers"),
        ("test_gone.py", "removed", "image_data_generator"),
        # ...but not a name missing from the user's own plain class or function.
        ("test_fit_generator_on_a_plain_object", "failed", None),
        ("test_other_attribute_on_a_plain_object", "failed", None),
        ("test_workers_to_the_users_own_function", "failed", None),
        # ...nor another error raised inside Keras.
        ("test_a_shape_bug_inside_keras", "failed", None),
        ("test_an_attribute_missing_inside_keras_code", "failed", None),
        # Deprecated: a warning attributed to the user's code, or one the table knows.
        ("test_fit_generator_called_from_the_library", "deprecated", "fit_generator"),
        ("test_a_deprecation_in_the_users_own_code", "deprecated", None),
        ("test_a_sequence_without_super_init", "deprecated", "sequence_super_init"),
        # ...but never Keras's or TensorFlow's own internal deprecations.
        ("test_an_internal_deprecation_of_keras", "passed", None),
    ],
)
def test_each_rule_classifies_what_the_worker_saw(
    squares: dict[str, Result], test: str, outcome: str, rule: str | None
) -> None:
    assert verdict(squares[test]) == (outcome, rule), squares[test]


def test_a_square_with_a_rule_carries_its_hint(squares: dict[str, Result]) -> None:
    for result in squares.values():
        assert (result.hint is None) == (result.rule is None), result


def test_a_deprecated_square_keeps_the_warning_and_where_it_was_raised(
    squares: dict[str, Result],
) -> None:
    square = squares["test_fit_generator_called_from_the_library"]
    assert square.outcome is Outcome.DEPRECATED
    assert (square.message or "").startswith("`Model.fit_generator` is deprecated")
    (seen,) = square.warnings
    assert (seen.category, Path(seen.filename or "").name) == ("UserWarning", "models.py")
    lines = Path(seen.filename or "").read_text(encoding="utf-8").splitlines()
    assert "model.fit_generator(" in lines[(seen.lineno or 0) - 1], "the library's own line"


def test_every_warning_of_a_test_is_kept_with_its_file_and_line(
    squares: dict[str, Result],
) -> None:
    square = squares["test_a_sequence_without_super_init"]
    described = [warning.described for warning in square.warnings]
    assert len(described) == 2
    assert described[0].startswith("UserWarning: Your `PyDataset` class should call")
    assert described[1].startswith("DeprecationWarning: np.bool8 is a deprecated alias (")
    assert all("keras/__init__.py:" in text for text in described)
