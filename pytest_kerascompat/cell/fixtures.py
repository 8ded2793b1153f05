"""The ``keras_cell``, ``keras`` and ``tf`` fixtures, and the import of the Keras under test.

This module runs both inside a cell's worker (any Python from 3.7, any pytest from 7.4)
and in the controller's own environment, so it imports only the standard library and
pytest, and works whether or not the worker's ``--kc-*`` options exist.  Register it
with ``config.pluginmanager.register(module)`` or list it in ``pytest_plugins``.

The Keras stack is imported once per process and cached here: the worker imports it at
session start (to time it and report its versions) and the fixtures hand out the very
same modules, so no test pays for, or observes, a second import.
"""

from __future__ import annotations

import importlib
import importlib.util
import platform
import sys
import time
from types import ModuleType
from typing import Any, Dict, NamedTuple, Optional

import pytest

from . import protocol

#: Values of ``--kc-keras-module``: which Keras a cell puts under test.
TF_KERAS = "tf.keras"
STANDALONE_KERAS = "keras"
#: Reported instead of ``tf.keras`` when TensorFlow 2.16+ hands out the ``tf_keras``
#: package (``TF_USE_LEGACY_KERAS=1``): a different Keras than the one ``tf.keras`` means
#: elsewhere, so the table must be able to tell them apart.
LEGACY_TF_KERAS = "tf_keras"
KERAS_MODULES = (TF_KERAS, STANDALONE_KERAS)

#: Name of the ``keras_cell`` outside a matrix worker.
LOCAL_CELL = "local"


class ModuleLoadError(Exception):
    """A module of the Keras stack is installed but could not be imported.

    Carries the dotted name that failed, so the worker can report *which* import broke
    the cell rather than only the exception it raised.
    """

    def __init__(self, module: str, original: BaseException) -> None:
        super().__init__(f"{module} failed to import: {first_line(str(original))}")
        self.module = module
        self.original = original


class KerasStack(NamedTuple):
    """The modules one process tests with, imported once."""

    tensorflow: Optional[ModuleType]
    keras: Optional[Any]
    keras_module: Optional[str]
    import_seconds: float

    @property
    def tensorflow_version(self) -> Optional[str]:
        return module_version(self.tensorflow)

    @property
    def keras_version(self) -> Optional[str]:
        return keras_version(self.keras)

    @property
    def backend(self) -> Optional[str]:
        return keras_backend(self.keras)


class KerasCell(NamedTuple):
    """What the ``keras_cell`` fixture describes: the cell a test is running in."""

    name: str
    python: str
    tensorflow: Optional[str]
    keras: Optional[str]
    keras_module: Optional[str]
    backend: Optional[str]

    def as_dict(self) -> Dict[str, Optional[str]]:
        return dict(self._asdict())


_STACKS: Dict[Optional[str], KerasStack] = {}


def first_line(text: str) -> str:
    """The first non-empty line: exception texts often continue with pages of detail."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def is_installed(name: str) -> bool:
    """Whether a top-level module can be found, without importing it."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def import_module(name: str) -> ModuleType:
    """Import ``name``, wrapping any failure in :class:`ModuleLoadError`."""
    try:
        return importlib.import_module(name)
    except Exception as exc:
        raise ModuleLoadError(name, exc) from exc


def load_keras_stack(requested: Optional[str] = None) -> KerasStack:
    """Import TensorFlow (when installed) and the Keras under test, once per process.

    ``requested`` is ``"tf.keras"``, ``"keras"`` or ``None``; ``None`` (outside a worker)
    means ``tf.keras`` when TensorFlow is installed, else standalone ``keras``.  A module
    that is not installed is ``None`` in the result; one that is installed but fails to
    import raises :class:`ModuleLoadError`, because every test would fail the same way.
    """
    if requested not in _STACKS:
        _STACKS[requested] = _import_keras_stack(requested)
    return _STACKS[requested]


def _import_keras_stack(requested: Optional[str]) -> KerasStack:
    started = time.perf_counter()
    tensorflow = import_module("tensorflow") if is_installed("tensorflow") else None
    choice = requested or (TF_KERAS if tensorflow is not None else STANDALONE_KERAS)
    if choice == TF_KERAS:
        keras = _resolve_tf_keras(tensorflow)
        flavour = tf_keras_flavour(keras) if keras is not None else None
    else:
        keras = import_module("keras") if is_installed("keras") else None
        flavour = STANDALONE_KERAS if keras is not None else None
    return KerasStack(tensorflow, keras, flavour, time.perf_counter() - started)


def _resolve_tf_keras(tensorflow: Optional[ModuleType]) -> Optional[Any]:
    """``tf.keras``, loaded for real: TF 2.15+ hands out a lazy loader until first use."""
    if tensorflow is None:
        return None
    try:
        keras = tensorflow.keras
        keras.layers  # noqa: B018 - touching an attribute performs the deferred import
    except Exception as exc:
        raise ModuleLoadError("tensorflow.keras", exc) from exc
    return keras


def tf_keras_flavour(keras: Any) -> str:
    """``"tf_keras"`` when ``tf.keras`` is the legacy ``tf_keras`` package, else ``"tf.keras"``."""
    names = (_safe_getattr(keras, "__name__"), _safe_getattr(keras, "Model", "__module__"))
    if any(isinstance(name, str) and name.split(".")[0] == "tf_keras" for name in names):
        return LEGACY_TF_KERAS
    return TF_KERAS


def _safe_getattr(obj: Any, *names: str) -> Any:
    """Follow an attribute path, returning ``None`` on any failure (lazy modules raise)."""
    for name in names:
        try:
            obj = getattr(obj, name)
        except Exception:
            return None
    return obj


def module_version(module: Any) -> Optional[str]:
    """``module.__version__`` as a string, or ``None``; never raises."""
    version = _safe_getattr(module, "__version__")
    return str(version) if version else None


def keras_version(keras: Any) -> Optional[str]:
    """The version of a Keras module, whichever of its spellings this release offers.

    ``tf.keras`` on TF 2.15 and under ``TF_USE_LEGACY_KERAS`` has no ``__version__`` of
    its own, so fall back to the top-level package it lives in (``keras``, ``tf_keras``),
    but never to ``tensorflow``, whose version is not Keras's.
    """
    if keras is None:
        return None
    version = module_version(keras) or _call_version(keras)
    if version:
        return version
    root = str(_safe_getattr(keras, "__name__") or "").split(".")[0]
    if root and root != "tensorflow" and root in sys.modules:
        return module_version(sys.modules[root])
    return None


def _call_version(keras: Any) -> Optional[str]:
    """Keras 3 also exposes ``keras.version()``."""
    version = _safe_getattr(keras, "version")
    if not callable(version):
        return None
    try:
        return str(version())
    except Exception:
        return None


def keras_backend(keras: Any) -> Optional[str]:
    """``keras.backend.backend()`` (``"tensorflow"``, ``"jax"``...), or ``None``."""
    backend = _safe_getattr(keras, "backend", "backend")
    if not callable(backend):
        return None
    try:
        return str(backend())
    except Exception:
        return None


def _requested_keras(config: pytest.Config) -> Optional[str]:
    """The worker's ``--kc-keras-module``, or ``None`` where that option does not exist."""
    value = config.getoption(protocol.KERAS_MODULE_FLAG, None)
    return value if value in KERAS_MODULES else None


def describe_cell(name: str, stack: Optional[KerasStack]) -> KerasCell:
    """Build a :class:`KerasCell` from an imported stack (``None`` when it failed)."""
    return KerasCell(
        name=name,
        python=platform.python_version(),
        tensorflow=stack.tensorflow_version if stack else None,
        keras=stack.keras_version if stack else None,
        keras_module=stack.keras_module if stack else None,
        backend=stack.backend if stack else None,
    )


@pytest.fixture(scope="session")
def keras_cell(pytestconfig: pytest.Config) -> KerasCell:
    """The cell this session runs in: ``"local"`` with this environment's versions outside
    a matrix.  Never skips: describing a cell without Keras is still useful."""
    name = pytestconfig.getoption(protocol.CELL_FLAG, None) or LOCAL_CELL
    try:
        stack: Optional[KerasStack] = load_keras_stack(_requested_keras(pytestconfig))
    except ModuleLoadError:
        stack = None
    return describe_cell(name, stack)


@pytest.fixture(scope="session")
def keras(pytestconfig: pytest.Config) -> Any:
    """The Keras under test (``tf.keras``, ``tf_keras`` or standalone ``keras``)."""
    requested = _requested_keras(pytestconfig)
    try:
        stack = load_keras_stack(requested)
    except ModuleLoadError as exc:
        pytest.skip(f"Keras under test is not importable: {exc}")
    if stack.keras is None:
        wanted = requested or "tf.keras or keras"
        pytest.skip(f"Keras under test ({wanted}) is not installed")
    return stack.keras


@pytest.fixture(scope="session")
def tf() -> ModuleType:
    """The ``tensorflow`` module, or a skip where TensorFlow is not installed."""
    if not is_installed("tensorflow"):
        pytest.skip("TensorFlow is not installed")
    try:
        return import_module("tensorflow")
    except ModuleLoadError as exc:
        pytest.skip(str(exc))
