"""The one table of known Keras/TensorFlow changes, and the hints they give.

The sweep attaches these hints to outcomes it measured; it never derives an outcome
from this table. Later tools (a static scanner) read the same table.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable


@dataclasses.dataclass(frozen=True)
class KnownChange:
    """A change users meet, recognised by the names or message it involves."""

    api: str
    hint: str
    names: tuple[str, ...] = ()
    message: re.Pattern[str] | None = None
    breaks: str | None = None
    warns: str | None = None
    kind: str = "api"

    def matches_name(self, name: str | None) -> bool:
        return name is not None and name in self.names

    def matches_message(self, text: str | None) -> bool:
        return bool(text and self.message and self.message.search(text))


KNOWN_CHANGES: tuple[KnownChange, ...] = (
    KnownChange(
        api="fit_generator",
        names=("fit_generator",),
        breaks="keras>=3",
        warns="tensorflow>=2.1,<2.16",
        hint="fit_generator is gone from Keras 3: use model.fit(generator, steps_per_epoch=...)",
    ),
    KnownChange(
        api="evaluate_generator",
        names=("evaluate_generator",),
        breaks="keras>=3",
        warns="tensorflow>=2.1,<2.16",
        hint="evaluate_generator is gone from Keras 3: use model.evaluate(generator, steps=...)",
    ),
    KnownChange(
        api="predict_generator",
        names=("predict_generator",),
        breaks="keras>=3",
        warns="tensorflow>=2.1,<2.16",
        hint="predict_generator is gone from Keras 3: use model.predict(generator, steps=...)",
    ),
    KnownChange(
        api="fit_workers",
        names=("workers", "use_multiprocessing", "max_queue_size"),
        breaks="keras>=3",
        hint="Keras 3 fit() takes no workers=/use_multiprocessing=/max_queue_size=: pass them "
        "to keras.utils.PyDataset.__init__(workers=..., use_multiprocessing=...)",
    ),
    KnownChange(
        api="image_data_generator",
        names=("ImageDataGenerator",),
        breaks="keras>=3",
        hint="keras.preprocessing.image.ImageDataGenerator is gone from standalone Keras 3: "
        "use tf.keras.preprocessing.image.ImageDataGenerator (legacy, TF 2.16+) or "
        "keras.utils.image_dataset_from_directory with preprocessing layers",
    ),
    KnownChange(
        api="tf_data_from_generator",
        names=("output_signature",),
        breaks="tensorflow<2.4",
        hint="Dataset.from_generator(output_signature=...) arrived in TensorFlow 2.4: before it, "
        "pass output_types= and output_shapes=",
    ),
    KnownChange(
        api="from_generator_output_types",
        names=("output_types",),
        warns="tensorflow>=2.4",
        hint="Dataset.from_generator(output_types=...) is deprecated since TensorFlow 2.4: "
        "pass output_signature=(tf.TensorSpec(...), ...)",
    ),
    KnownChange(
        api="class_weight_generator",
        message=re.compile(r"class_weight.*not supported for Python generator", re.IGNORECASE),
        breaks="keras>=3",
        hint="Keras 3 rejects class_weight= with a Python generator: yield "
        "(x, y, sample_weight) from the generator instead",
    ),
    KnownChange(
        api="fit_iterator",
        message=re.compile(r"Unrecognized data type"),
        breaks="keras>=3",
        hint="Keras 3 fit() accepts real generators (types.GeneratorType), arrays, tf.data and "
        "PyDataset, not other iterators: wrap the iterator in a generator function",
    ),
    KnownChange(
        api="standalone_keras_tf_data",
        message=re.compile(r"DatasetV1Adapter' object has no attribute 'ndim'"),
        breaks="keras<2.4",
        hint="standalone Keras 2.3 cannot fit a tf.data.Dataset: use tf.keras, or feed "
        "arrays or a generator",
    ),
    KnownChange(
        api="scipy",
        kind="dependency",
        message=re.compile(r"Image transformations require SciPy|name 'scipy' is not defined"),
        hint="SciPy is missing, not an API: ImageDataGenerator needs it for transforms; add "
        "scipy to the cell's packages",
    ),
    KnownChange(
        api="numpy2",
        kind="environment",
        message=re.compile(
            r"Unable to convert function return value to a Python type"
            r"|compiled using NumPy 1\.x cannot be run in\s+NumPy 2"
            r"|_ARRAY_API not found"
        ),
        hint="this TensorFlow was built for NumPy 1: pin numpy<2 (the sweep does so for "
        "TensorFlow < 2.12 unless pins are turned off)",
    ),
    KnownChange(
        api="protobuf4",
        kind="environment",
        message=re.compile(r"Descriptors cannot be created directly"),
        hint="this TensorFlow needs protobuf 3: pin protobuf<3.21 (the sweep does so for "
        "TensorFlow < 2.9 unless pins are turned off)",
    ),
    KnownChange(
        api="tf_keras_missing",
        kind="environment",
        message=re.compile(r"No module named '?tf_keras|install(ed)? (the )?`?tf[-_]keras"),
        hint="TF_USE_LEGACY_KERAS=1 needs the tf-keras package matching this TensorFlow "
        "(e.g. tf-keras~=2.16.0 for TensorFlow 2.16)",
    ),
)


def find_change(
    *,
    api: str | None = None,
    names: Iterable[str | None] = (),
    texts: Iterable[str | None] = (),
    changes: tuple[KnownChange, ...] = KNOWN_CHANGES,
) -> KnownChange | None:
    """The known change that explains a missing name, a message, or an API id."""
    names, texts = list(names), list(texts)
    for change in changes:
        if any(change.matches_name(name) for name in names):
            return change
    for change in changes:
        if any(change.matches_message(text) for text in texts):
            return change
    return next((change for change in changes if change.api == api), None)


def api_names(api: str | None) -> tuple[str, ...]:
    """The names whose absence means the API ``api`` is gone (the id itself included)."""
    if api is None:
        return ()
    change = next((change for change in KNOWN_CHANGES if change.api == api), None)
    return (api, *(change.names if change else ()))
