"""Probes: the ways of feeding training data to ``fit`` that came and went across releases.

Each probe is a real, tiny training run (2 steps of 4 samples, one epoch) with the Keras
under test, so that what the table shows is what that release actually does.  Nothing
here catches the exception that decides a probe's outcome: a removed API must surface as
its own ``AttributeError``/``TypeError`` for the worker to name what is missing.

Collected only inside a cell (where TensorFlow or Keras, hence numpy, is installed), by
path, so this directory is deliberately not a package.
"""

from __future__ import annotations

from typing import Any, Iterator, Tuple

import numpy as np
import pytest

BATCH = 4
STEPS = 2
FEATURES = 4
IMAGE_SHAPE = (8, 8, 1)

#: Common ``fit`` arguments.  ``shuffle=False`` because Keras 3 warns that it ignores
#: ``shuffle=True`` (its default) for generators and datasets, which would put noise in
#: every probe's warnings; every Keras since 2.0 accepts it.
FIT = {"epochs": 1, "verbose": 0, "shuffle": False}

Batch = Tuple[Any, Any]


def _samples(shape: Tuple[int, ...] = (FEATURES,)) -> Batch:
    """Deterministic inputs and targets for exactly ``STEPS`` batches."""
    count = BATCH * STEPS
    size = int(np.prod(shape))
    x = np.linspace(0.0, 1.0, count * size, dtype="float32").reshape((count, *shape))
    y = np.linspace(0.0, 1.0, count, dtype="float32").reshape((count, 1))
    return x, y


def _batches() -> Iterator[Batch]:
    """An endless Python generator, as ``fit_generator`` and ``fit`` expect to consume."""
    x, y = _samples()
    while True:
        for start in range(0, len(x), BATCH):
            yield x[start : start + BATCH], y[start : start + BATCH]


def _compiled(keras: Any, input_shape: Tuple[int, ...] = (FEATURES,)) -> Any:
    """A one-Dense-layer model, built with the functional API.

    ``Input`` + ``Model`` reads the same from standalone Keras 2.3.1 to Keras 3 and,
    unlike ``input_shape=`` on a layer, draws no warning from Keras 3 that would muddy
    the probe's own warnings.
    """
    inputs = keras.layers.Input(shape=input_shape)
    hidden = keras.layers.Flatten()(inputs) if len(input_shape) > 1 else inputs
    model = keras.models.Model(inputs, keras.layers.Dense(1)(hidden))
    model.compile(optimizer="sgd", loss="mse")
    return model


def _sequence_base(keras: Any) -> Any:
    """``keras.utils.PyDataset`` where it exists (Keras 3), else ``keras.utils.Sequence``."""
    return getattr(keras.utils, "PyDataset", None) or keras.utils.Sequence


def _sequence(keras: Any, length: int = STEPS) -> Any:
    """A ``Sequence``/``PyDataset`` of ``length`` batches (cycling over the samples)."""
    base = _sequence_base(keras)
    x, y = _samples()

    class Batches(base):  # type: ignore[misc, valid-type]
        def __init__(self, **kwargs: Any) -> None:
            # Keras 3 warns unless PyDataset.__init__ runs; Keras 2's Sequence takes nothing.
            if base.__init__ is not object.__init__:
                super().__init__(**kwargs)

        def __len__(self) -> int:
            return length

        def __getitem__(self, index: int) -> Batch:
            start = (index % STEPS) * BATCH
            window = slice(start, start + BATCH)
            return x[window], y[window]

    return Batches()


@pytest.mark.keras_compat(api="fit_generator")
def test_fit_generator(keras: Any) -> None:
    model = _compiled(keras)
    model.fit_generator(_batches(), steps_per_epoch=STEPS, **FIT)


@pytest.mark.keras_compat(api="fit_python_generator")
def test_fit_python_generator(keras: Any) -> None:
    model = _compiled(keras)
    model.fit(_batches(), steps_per_epoch=STEPS, **FIT)


@pytest.mark.keras_compat(api="fit_sequence")
def test_fit_sequence(keras: Any) -> None:
    model = _compiled(keras)
    model.fit(_sequence(keras), **FIT)


@pytest.mark.keras_compat(api="tf_data")
def test_tf_data(keras: Any, tf: Any) -> None:
    model = _compiled(keras)
    # ``repeat()`` + ``steps_per_epoch`` is the one spelling TF 1.x graph mode accepts too.
    dataset = tf.data.Dataset.from_tensor_slices(_samples()).batch(BATCH).repeat()
    model.fit(dataset, steps_per_epoch=STEPS, **FIT)


@pytest.mark.keras_compat(api="tf_data_from_generator")
def test_tf_data_from_generator(keras: Any, tf: Any) -> None:
    model = _compiled(keras)
    signature = (
        tf.TensorSpec(shape=(None, FEATURES), dtype=tf.float32),
        tf.TensorSpec(shape=(None, 1), dtype=tf.float32),
    )
    dataset = tf.data.Dataset.from_generator(_batches, output_signature=signature)
    model.fit(dataset, steps_per_epoch=STEPS, **FIT)


@pytest.mark.keras_compat(api="image_data_generator")
def test_image_data_generator(keras: Any) -> None:
    model = _compiled(keras, IMAGE_SHAPE)
    images, targets = _samples(IMAGE_SHAPE)
    generator = keras.preprocessing.image.ImageDataGenerator(horizontal_flip=True)
    flow = generator.flow(images, targets, batch_size=BATCH)
    model.fit(flow, steps_per_epoch=STEPS, **FIT)


@pytest.mark.keras_compat(api="fit_workers")
def test_fit_workers(keras: Any) -> None:
    model = _compiled(keras)
    # Stop before the end of the Sequence: Keras 2's threaded enqueuer otherwise waits out
    # a 5 s queue timeout when the epoch ends, a cost unrelated to the API under test.
    sequence = _sequence(keras, length=2 * STEPS)
    model.fit(sequence, steps_per_epoch=STEPS, workers=2, use_multiprocessing=False, **FIT)
