"""The one table of known Keras/TensorFlow changes, and the hints they give.

The sweep attaches these hints to outcomes it measured; it never derives an outcome
from this table. The static scanner (``python -m pytest_kerascompat scan``) reads the
same table: a change with a ``scan`` pattern is a scan rule named by its ``api`` id, so
a finding and a square of the sweep give the same version range and the same fix.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import Union

KERAS_ROOTS = ("keras", "tensorflow.keras")


@dataclasses.dataclass(frozen=True)
class MethodCall:
    """A call ``anything.<method>(...)``, whatever the receiver is.

    With ``keywords``, only a call that passes one of them (by name, or as the
    positional argument at ``position``) matches.
    """

    methods: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    position: int | None = None


@dataclasses.dataclass(frozen=True)
class QualifiedName:
    """A name that the file's imports resolve to one of ``names`` (or to a name inside one).

    ``tf.keras.x`` resolves to ``tensorflow.keras.x`` and ``keras.x`` to ``keras.x``, so
    the two spellings never match each other's pattern. With ``keywords``, only a call of
    exactly one of ``names`` that passes one of them matches.
    """

    names: tuple[str, ...]
    keywords: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class GeneratorWithClassWeight:
    """``fit(<data>, class_weight=...)`` where the data is surely a Python generator."""


@dataclasses.dataclass(frozen=True)
class DatasetWithoutSuperInit:
    """A ``keras.utils.Sequence``/``PyDataset`` subclass whose ``__init__`` skips the base's."""


ScanPattern = Union[MethodCall, QualifiedName, GeneratorWithClassWeight, DatasetWithoutSuperInit]


@dataclasses.dataclass(frozen=True)
class KnownChange:
    """A change users meet, recognised by the names or message it involves.

    ``kind`` is ``api`` for an API that arrived, warns or went away (a failure showing
    one that breaks in the cell's versions is ``removed``); ``unsupported`` for a
    combination that never worked; ``dependency`` and ``environment`` for what is
    missing or broken around the code, never the code's API.

    ``scan`` is what the static scanner looks for in source code; a change without
    one cannot be seen without running the code. ``scan_by_default`` is False for a
    rule that flags the modern spelling (useful only to projects that still support
    the old releases), so it runs only when selected by name.
    """

    api: str
    hint: str
    names: tuple[str, ...] = ()
    message: re.Pattern[str] | None = None
    breaks: str | None = None
    warns: str | None = None
    kind: str = "api"
    scan: ScanPattern | None = None
    scan_by_default: bool = True

    def matches_name(self, name: str | None) -> bool:
        return name is not None and name in self.names

    def matches_message(self, text: str | None) -> bool:
        return bool(text and self.message and self.message.search(text))

    @property
    def rule(self) -> str | None:
        """The id of the scan rule that finds this change in source code, if there is one."""
        return self.api if self.scan is not None else None


def keras_names(*paths: str) -> tuple[str, ...]:
    """``keras.<path>`` and ``tensorflow.keras.<path>`` for each path: both spellings."""
    return tuple(f"{root}.{path}" for path in paths for root in KERAS_ROOTS)


GENERATOR_METHODS = ("fit_generator", "evaluate_generator", "predict_generator")
OPTIMIZERS = ("SGD", "Adam", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam", "Ftrl")
# Standalone Keras 2 also named its optimizers in lowercase (keras.optimizers.adam); Keras 3 not.
OPTIMIZER_ALIASES = ("sgd", "rmsprop", "adagrad", "adadelta", "adam", "adamax", "nadam")


KNOWN_CHANGES: tuple[KnownChange, ...] = (
    KnownChange(
        api="fit_generator",
        names=("fit_generator",),
        breaks="keras>=3",
        warns="tensorflow>=2.1,<2.16",
        hint="fit_generator is gone from Keras 3: use model.fit(generator, steps_per_epoch=...)",
        scan=MethodCall(("fit_generator",)),
    ),
    KnownChange(
        api="evaluate_generator",
        names=("evaluate_generator",),
        breaks="keras>=3",
        warns="tensorflow>=2.1,<2.16",
        hint="evaluate_generator is gone from Keras 3: use model.evaluate(generator, steps=...)",
        scan=MethodCall(("evaluate_generator",)),
    ),
    KnownChange(
        api="predict_generator",
        names=("predict_generator",),
        breaks="keras>=3",
        warns="tensorflow>=2.1,<2.16",
        hint="predict_generator is gone from Keras 3: use model.predict(generator, steps=...)",
        scan=MethodCall(("predict_generator",)),
    ),
    KnownChange(
        api="fit_workers",
        names=("workers", "use_multiprocessing", "max_queue_size"),
        breaks="keras>=3",
        hint="Keras 3 fit() takes no workers=/use_multiprocessing=/max_queue_size=: pass them "
        "to keras.utils.PyDataset.__init__(workers=..., use_multiprocessing=...)",
        # The *_generator methods too: their fix (fit) must not keep these arguments.
        scan=MethodCall(
            ("fit", "evaluate", "predict", *GENERATOR_METHODS),
            keywords=("workers", "use_multiprocessing", "max_queue_size"),
        ),
    ),
    KnownChange(
        api="image_data_generator",
        names=("ImageDataGenerator",),
        breaks="keras>=3",
        hint="keras.preprocessing.image.ImageDataGenerator is gone from standalone Keras 3: "
        "use tf.keras.preprocessing.image.ImageDataGenerator (legacy, TF 2.16+) or "
        "keras.utils.image_dataset_from_directory with preprocessing layers",
        scan=QualifiedName(("keras.preprocessing.image.ImageDataGenerator",)),
    ),
    KnownChange(
        api="tf_data_from_generator",
        names=("output_signature",),
        breaks="tensorflow<2.4",
        hint="Dataset.from_generator(output_signature=...) arrived in TensorFlow 2.4: before it, "
        "pass output_types= and output_shapes=",
        scan=MethodCall(("from_generator",), keywords=("output_signature",)),
        scan_by_default=False,
    ),
    KnownChange(
        api="from_generator_output_types",
        names=("output_types",),
        warns="tensorflow>=2.4",
        hint="Dataset.from_generator(output_types=...) is deprecated since TensorFlow 2.4: "
        "pass output_signature=(tf.TensorSpec(...), ...)",
        scan=MethodCall(("from_generator",), keywords=("output_types",), position=1),
    ),
    KnownChange(
        api="class_weight_generator",
        message=re.compile(r"class_weight.*not supported for Python generator", re.IGNORECASE),
        breaks="keras>=3",
        hint="Keras 3 rejects class_weight= with a Python generator: yield "
        "(x, y, sample_weight) from the generator instead",
        scan=GeneratorWithClassWeight(),
    ),
    KnownChange(
        api="sequence_super_init",
        message=re.compile(r"should call `super\(\)\.__init__\(\*\*kwargs\)`"),
        warns="keras>=3",
        hint="Keras 3 warns when a PyDataset (keras.utils.Sequence is now its alias) skips "
        "super().__init__(**kwargs) in __init__: call it, and pass workers=/"
        "use_multiprocessing=/max_queue_size= there rather than to fit()",
        scan=DatasetWithoutSuperInit(),
    ),
    KnownChange(
        api="predict_classes",
        names=("predict_classes",),
        breaks="keras>=2.6",
        hint="Sequential.predict_classes was removed in TensorFlow/Keras 2.6: use "
        "np.argmax(model.predict(x), axis=-1) (softmax output) or "
        '(model.predict(x) > 0.5).astype("int32") (sigmoid output)',
        scan=MethodCall(("predict_classes",)),
    ),
    KnownChange(
        api="optimizer_lr",
        message=re.compile(r"Argument\(s\) not recognized: \{'lr'"),
        breaks="keras>=3",
        hint="optimizers take learning_rate=, not lr= (renamed in Keras 2.3); Keras 3 "
        "rejects lr= with ValueError: Argument(s) not recognized",
        scan=QualifiedName(
            keras_names(*(f"optimizers.{name}" for name in OPTIMIZERS))
            + tuple(f"keras.optimizers.{alias}" for alias in OPTIMIZER_ALIASES),
            ("lr",),
        ),
    ),
    KnownChange(
        api="optimizers_legacy",
        message=re.compile(r"`keras\.optimizers\.legacy` is not supported in Keras 3"),
        breaks="keras>=3",
        hint="keras.optimizers.legacy raises ImportError in Keras 3: use keras.optimizers.<Name>, "
        "or install tf_keras and set TF_USE_LEGACY_KERAS=1 to stay on Keras 2",
        scan=QualifiedName(keras_names("optimizers.legacy")),
    ),
    KnownChange(
        api="removed_layers",
        names=("ThresholdedReLU", "LocallyConnected1D", "LocallyConnected2D"),
        breaks="keras>=3",
        hint="Keras 3 removed ThresholdedReLU (use keras.layers.ReLU(threshold=...)) and "
        "LocallyConnected1D/2D (copy their implementation into your code)",
        scan=QualifiedName(
            keras_names(
                "layers.ThresholdedReLU", "layers.LocallyConnected1D", "layers.LocallyConnected2D"
            )
        ),
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
        # Never supported there, rather than gone: a failure, with this hint.
        kind="unsupported",
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


def change_by_id(api: str | None) -> KnownChange | None:
    """The known change whose id (its ``api``) this is."""
    return next((change for change in KNOWN_CHANGES if change.api == api), None) if api else None


def rule_of_change(api: str | None) -> str | None:
    """The scan rule of the known change with this id (None if it has none)."""
    change = change_by_id(api)
    return change.rule if change else None


def api_names(api: str | None) -> tuple[str, ...]:
    """The names whose absence means the API ``api`` is gone (the id itself included)."""
    if api is None:
        return ()
    change = change_by_id(api)
    return (api, *(change.names if change else ()))
