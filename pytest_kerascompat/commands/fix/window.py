"""The support window: the oldest TensorFlow and Keras a project's code must still run on.

A rewrite is safe only if its new spelling works in every release the project
supports. That floor comes from the project's declared requirements (pyproject
``dependencies``, or ``--supports``) and from the cells of its matrix; a matrix cell
below a declared floor tests a release the project no longer supports, so it does
not lower the floor.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from pytest_kerascompat.config._validation import CommandError
from pytest_kerascompat.config.matrix import CellSpec, Matrix

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the 3.9 and 3.10 backport
    import tomli as tomllib  # type: ignore[import-not-found, no-redef, unused-ignore]

TENSORFLOW = "tensorflow"
KERAS = "keras"
TF_KERAS = "tf-keras"
TENSORFLOW_DISTRIBUTIONS = frozenset(
    {"tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-macos", "tensorflow-intel"}
)
# Keras became tf.keras's Keras 3 in this TensorFlow release.
KERAS_3_TENSORFLOW = Version("2.16")
LOWER_BOUND_OPERATORS = (">=", ">", "==", "~=", "===")


class WindowError(CommandError):
    """A requirement given to ``--supports`` or found in pyproject that cannot be read."""


@dataclasses.dataclass(frozen=True)
class Window:
    """The lowest TensorFlow and Keras supported (None: nothing says), and where they came from.

    ``keras`` is the Keras a cell runs, standalone or tf.keras: below TensorFlow 2.16
    tf.keras is Keras 2, so a TensorFlow floor gives a Keras 2 floor.
    """

    tensorflow: Version | None
    keras: Version | None
    sources: tuple[str, ...] = ()

    def floor(self, package: str) -> Version | None:
        return self.tensorflow if package == TENSORFLOW else self.keras

    def refusal(self, requires: Iterable[str]) -> str | None:
        """Why a rewrite needing ``requires`` (``tensorflow>=2.4``) is unsafe here; None if safe."""
        for text in requires:
            requirement = Requirement(text)
            floor = self.floor(requirement.name)
            if floor is None:
                return (
                    f"needs {text}, and the support window does not say the oldest "
                    f"{requirement.name} supported (declare it in pyproject dependencies "
                    f'or pass --supports "{requirement.name}>=X")'
                )
            if not requirement.specifier.contains(floor, prereleases=True):
                return f"needs {text}, and the oldest {requirement.name} supported is {floor}"
        return None

    def describe(self) -> str:
        parts = [
            f"{name} >= {floor}"
            for name, floor in ((TENSORFLOW, self.tensorflow), (KERAS, self.keras))
            if floor is not None
        ]
        where = f" (from {', '.join(self.sources)})" if self.sources else ""
        return (", ".join(parts) or "unknown") + where


def lower_bound(specifier: SpecifierSet) -> Version | None:
    """The lowest version a specifier admits, as far as its lower bounds say."""
    bounds = []
    for spec in specifier:
        if spec.operator in LOWER_BOUND_OPERATORS:
            text = spec.version.removesuffix(".*")
            try:
                bounds.append(Version(text))
            except ValueError:
                continue
    return max(bounds) if bounds else None


def tf_keras_floor(tensorflow: Version, legacy: bool) -> Version:
    """The Keras that tf.keras is in a TensorFlow release: Keras 2 before 2.16 or in legacy mode."""
    if tensorflow >= KERAS_3_TENSORFLOW and not legacy:
        return Version("3.0")
    return Version(f"2.{tensorflow.minor}") if tensorflow.major == 2 else Version("2.0")


@dataclasses.dataclass
class _Floors:
    tensorflow: list[Version] = dataclasses.field(default_factory=list)
    keras: list[Version] = dataclasses.field(default_factory=list)

    def add(self, tensorflow: Version | None, keras: Version | None, legacy: bool) -> None:
        if tensorflow is not None:
            self.tensorflow.append(tensorflow)
        if keras is not None:
            self.keras.append(keras)
        elif tensorflow is not None:
            self.keras.append(tf_keras_floor(tensorflow, legacy))


def declared_floors(requirements: Sequence[str], origin: str) -> _Floors:
    """Floors from requirement strings (TensorFlow under any of its distribution names).

    Named several times (dependencies and extras), a package's floor is the lowest; named
    once without a lower bound, it has none. A tf-keras requirement means Keras 2 on any
    TensorFlow.
    """
    bounds: dict[str, list[Version | None]] = {TENSORFLOW: [], KERAS: []}
    legacy = False
    for text in requirements:
        try:
            requirement = Requirement(text)
        except InvalidRequirement as error:
            raise WindowError(f"{origin}: {text!r} is not a requirement: {error}") from None
        name: str = canonicalize_name(requirement.name)
        name = TENSORFLOW if name in TENSORFLOW_DISTRIBUTIONS else name
        if name in bounds:
            bounds[name].append(lower_bound(requirement.specifier))
        legacy = legacy or name == TF_KERAS
    tensorflow, keras = (lowest(bounds[TENSORFLOW]), lowest(bounds[KERAS]))
    floors = _Floors()
    floors.add(tensorflow, keras, legacy)
    return floors


def lowest(bounds: list[Version | None]) -> Version | None:
    if not bounds or None in bounds:
        return None
    return min(bound for bound in bounds if bound is not None)


def cell_floors(cell: CellSpec) -> tuple[Version | None, Version | None, bool]:
    tensorflow = lower_bound(Requirement(cell.tensorflow).specifier) if cell.tensorflow else None
    keras = lower_bound(Requirement(cell.keras).specifier) if cell.keras else None
    legacy = cell.env_dict.get("TF_USE_LEGACY_KERAS") == "1"
    return tensorflow, keras, legacy


def pyproject_dependencies(root: Path) -> list[str]:
    """``[project] dependencies`` and every optional dependency of ``root/pyproject.toml``.

    TensorFlow often sits in an extra (``pip install project[tf]``); it is still supported.
    """
    path = root / "pyproject.toml"
    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise WindowError(f"{path}: cannot read: {error}") from None
    project = data.get("project", {})
    found = strings(project.get("dependencies", []), path, "project.dependencies")
    extras = project.get("optional-dependencies", {})
    if not isinstance(extras, dict):
        raise WindowError(f"{path}: key 'project.optional-dependencies' must be a table")
    for extra, requirements in extras.items():
        found += strings(requirements, path, f"project.optional-dependencies.{extra}")
    return found


def strings(value: object, path: Path, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise WindowError(f"{path}: key {key!r} must be a list of requirement strings")
    return list(value)


def support_window(
    root: Path, supports: Sequence[str], matrix: Matrix | None, matrix_label: str | None = None
) -> Window:
    """The window from ``--supports`` (else pyproject) and the matrix cells inside it.

    ``matrix_label`` names the matrix among the window's sources (default: its path).
    """
    sources: list[str] = []
    if supports:
        declared = declared_floors(supports, "--supports")
        sources.append("--supports")
    else:
        dependencies = pyproject_dependencies(root)
        declared = declared_floors(dependencies, str(root / "pyproject.toml"))
        if declared.tensorflow or declared.keras:
            sources.append("pyproject.toml")
    floors = _Floors(list(declared.tensorflow), list(declared.keras))
    used = False
    for cell in matrix.cells if matrix else ():
        tensorflow, keras, legacy = cell_floors(cell)
        below = (declared.tensorflow and tensorflow and tensorflow < declared.tensorflow[0]) or (
            declared.keras and keras and keras < declared.keras[0]
        )
        if not below:
            floors.add(tensorflow, keras, legacy)
            used = True
    if matrix and used:
        sources.append(matrix_label or str(matrix.path))
    return Window(
        min(floors.tensorflow, default=None), min(floors.keras, default=None), tuple(sources)
    )
