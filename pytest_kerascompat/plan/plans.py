"""Cell specifications to concrete plans: interpreter, requirements, pins, cache key.

A plan is everything needed to build a cell's environment and nothing about running
it, so both entry points (``pytest --keras-matrix`` and a noxfile) build the same
environment from the same plan, and the plan's key decides when to rebuild.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from pytest_kerascompat.config._validation import absolute_project
from pytest_kerascompat.config.matrix import CellSpec, Matrix
from pytest_kerascompat.plan.index import IndexUnavailable, PackageIndex, pick_interpreter
from pytest_kerascompat.plan.interpreters import (
    Interpreter,
    discover_interpreters,
    find_interpreter,
    unusable_reason,
)
from pytest_kerascompat.plan.pins import pins_for

WORKER_REQUIREMENTS = ("pytest",)
PROBE_REQUIREMENTS = ("scipy",)
BACKEND_REQUIREMENTS = {"jax": "jax", "torch": "torch"}
PLAN_VERSION = 1
PROJECT_FILES = ("pyproject.toml", "setup.cfg", "setup.py")


@dataclasses.dataclass(frozen=True)
class CellPlan:
    """One cell, resolved against this machine."""

    spec: CellSpec
    python: str | None
    executable: str | None
    python_note: str
    requirements: tuple[str, ...]
    pins: tuple[str, ...]
    project: str | None = None
    project_fingerprint: str | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def session_id(self) -> str:
        return session_id(self.name)

    @property
    def env(self) -> dict[str, str]:
        env = self.spec.env_dict
        if self.spec.backend:
            env.setdefault("KERAS_BACKEND", self.spec.backend)
        return env

    @property
    def shown_requirements(self) -> tuple[str, ...]:
        """The requirements as reports list them: the project too, as it is installed."""
        return (*self.requirements, *((f"-e {self.project}",) if self.project else ()))

    @property
    def install_arguments(self) -> tuple[str, ...]:
        """What one installer call gets: every requirement and the project, resolved together."""
        project = ("-e", self.project) if self.project else ()
        return (*self.requirements, *self.pins, *project)

    @property
    def key(self) -> str:
        """The environment's key: changes whenever anything that shapes the environment
        changes (and nothing else, so cells differing only in ``env`` share one)."""
        identity = {
            "plan": PLAN_VERSION,
            "executable": self.executable,
            "python": self.python,
            "install": self.install_arguments,
            "project": self.project_fingerprint,
        }
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()

    @property
    def plan_key(self) -> str:
        """The whole plan's key: the environment's and what else of the cell changes a
        square (its ``env``, its time limit). A run records it and resume compares it."""
        identity = {
            "environment": self.key,
            "env": sorted(self.env.items()),
            "timeout": self.spec.timeout,
        }
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["spec"]["env"] = [list(item) for item in self.spec.env]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CellPlan:
        spec = dict(data["spec"])
        spec["packages"] = tuple(spec["packages"])
        spec["env"] = tuple(tuple(item) for item in spec["env"])
        values = dict(data)
        values["spec"] = CellSpec(**spec)
        values["requirements"] = tuple(values["requirements"])
        values["pins"] = tuple(values["pins"])
        return cls(**values)


#: The nox session that builds a cell and runs its tests (``env/nox_sessions.py``).
SESSION_NAME = "keras_matrix"


def session_param_id(cell: str) -> str:
    """A cell's parameter id in that session, as ``nox.param(..., id=...)`` takes it."""
    return f"cell={cell!r}"


def session_id(cell: str) -> str:
    """The nox session id of a cell, as ``nox -l`` shows it: ``keras_matrix(cell='tf2.16')``."""
    return f"{SESSION_NAME}({session_param_id(cell)})"


@dataclasses.dataclass(frozen=True)
class PlanOptions:
    probes: bool = False
    pins: bool = True


def plan_matrix(
    matrix: Matrix,
    options: PlanOptions,
    *,
    index: PackageIndex,
    interpreters: Sequence[Interpreter] | None = None,
) -> list[CellPlan]:
    """Resolve every cell of a matrix against this machine's interpreters and the index."""
    found = list(interpreters) if interpreters is not None else discover_interpreters()
    project = resolve_project(matrix)
    return [plan_cell(cell, options, found, index, project) for cell in matrix.cells]


def resolve_project(matrix: Matrix) -> str | None:
    """``project: ".[test]"`` is relative to the matrix file."""
    if matrix.project is None:
        return None
    return absolute_project(matrix.project, matrix.path.parent)


def project_fingerprint(project: str | None) -> str | None:
    """A change to the project's packaging metadata rebuilds its cells."""
    if project is None:
        return None
    root = Path(project.partition("[")[0])
    digest = hashlib.sha256(project.encode())
    for name in PROJECT_FILES:
        candidate = root / name
        if candidate.is_file():
            digest.update(candidate.read_bytes())
    return digest.hexdigest()


def plan_cell(
    cell: CellSpec,
    options: PlanOptions,
    interpreters: Sequence[Interpreter],
    index: PackageIndex,
    project: str | None,
) -> CellPlan:
    interpreter, note = choose_interpreter(cell, interpreters, index)
    requirements = cell_requirements(cell, probes=options.probes)
    pins: tuple[str, ...] = ()
    if interpreter is not None and cell.pins and options.pins:
        versions = expected_versions(cell, interpreter, index)
        pins = tuple(pin.requirement for pin in pins_for(versions))
    return CellPlan(
        spec=cell,
        python=interpreter.full_version if interpreter else cell.python,
        executable=str(interpreter.executable) if interpreter else None,
        python_note=note,
        requirements=requirements,
        pins=pins,
        project=project,
        project_fingerprint=project_fingerprint(project),
    )


def cell_requirements(cell: CellSpec, *, probes: bool) -> tuple[str, ...]:
    wanted = [text for text in (cell.tensorflow, cell.keras) if text]
    backend_package = BACKEND_REQUIREMENTS.get(cell.backend or "")
    named = {Requirement(text).name.lower() for text in cell.packages}
    if backend_package and backend_package not in named:
        wanted.append(backend_package)
    wanted.extend(cell.packages)
    wanted.extend(WORKER_REQUIREMENTS)
    if probes:
        wanted.extend(PROBE_REQUIREMENTS)
    return tuple(dict.fromkeys(wanted))


def choose_interpreter(
    cell: CellSpec, interpreters: Sequence[Interpreter], index: PackageIndex
) -> tuple[Interpreter | None, str]:
    """The cell's own ``python``, or the newest installed one its releases support."""
    if cell.python is not None:
        interpreter = find_interpreter(cell.python, interpreters)
        unusable = None if interpreter else unusable_reason(cell.python)
        if unusable:
            return None, f"{unusable}; give the cell's python a CPython 3.7+ (version or path)"
        if interpreter is None:
            return None, (
                f"Python {cell.python} is not installed (looked on PATH, under pyenv and "
                f"among uv's interpreters{installed_summary(interpreters)}); install it, "
                "e.g. `pyenv install " + cell.python + "`, or change the cell's python"
            )
        return interpreter, f"Python {cell.python} as asked"
    anchors = list(cell.anchors)
    if not anchors:
        if not interpreters:
            return None, "no Python interpreter found"
        return interpreters[0], "the newest installed Python"
    choice = pick_interpreter(anchors, interpreters, index)
    if choice.interpreter is None:
        wanted = " and ".join(str(anchor) for anchor in anchors)
        return None, (
            f"no installed Python can install {wanted}{installed_summary(interpreters)}; "
            "install a Python that release supports, or set the cell's python"
        )
    return choice.interpreter, choice.reason


def installed_summary(interpreters: Sequence[Interpreter]) -> str:
    if not interpreters:
        return "; none were found"
    return "; found " + ", ".join(dict.fromkeys(i.minor for i in interpreters))


def expected_versions(
    cell: CellSpec, interpreter: Interpreter, index: PackageIndex
) -> dict[str, Version]:
    """What the resolver will most likely pick, to decide which pins apply."""
    return expected_versions_on(cell, (interpreter.version[0], interpreter.version[1]), index)


def expected_versions_on(
    cell: CellSpec, python: tuple[int, int], index: PackageIndex
) -> dict[str, Version]:
    versions: dict[str, Version] = {}
    for anchor in cell.anchors:
        name = anchor.name.lower()
        try:
            newest = index.newest_installable(name, anchor.specifier, python)
        except IndexUnavailable:
            newest = representative_version(anchor.specifier)
        if newest is not None:
            versions[name] = newest
    return versions


def representative_version(specifier: SpecifierSet) -> Version | None:
    """``==2.15.*`` stands for 2.15.0 when the index cannot be asked."""
    for item in specifier:
        if item.operator in ("==", "===", "~=", ">="):
            return Version(item.version.replace(".*", ""))
    return None


#: The oldest Python a cell may run (the worker's floor), and the newest assumed when
#: the index tells nothing; the index's wheel tags and classifiers reach past it.
OLDEST_PYTHON = (3, 7)
FALLBACK_NEWEST_PYTHON = (3, 13)


def known_pythons(cell: CellSpec, index: PackageIndex) -> list[tuple[int, int]]:
    """Every Python ``3.X`` worth trying for ``cell``, newest first.

    Up to the newest the index knows of: a CPython tag on a wheel of the cell's
    releases (a TensorFlow release candidate's ``cp314``) or a classifier of its
    packages or of pytest, which every cell installs.
    """
    found: set[tuple[int, int]] = set()
    try:
        for anchor in cell.anchors:
            found |= index.tagged_pythons(anchor.name, anchor.specifier)
            found |= index.classified_pythons(anchor.name)
    except IndexUnavailable:
        pass
    for name in WORKER_REQUIREMENTS:
        found |= index.classified_pythons(name)
    newest = max(found, default=FALLBACK_NEWEST_PYTHON)
    return [(3, minor) for minor in range(newest[1], OLDEST_PYTHON[1] - 1, -1)]


def newest_supported_python(cell: CellSpec, index: PackageIndex) -> str | None:
    """The Python a CI job should set up for ``cell``: its own, or the newest with wheels.

    Unlike :func:`choose_interpreter` this asks only the index, because the machine that
    computes a CI matrix does not have the interpreters its jobs will install.
    """
    if cell.python is not None:
        return cell.python
    for minor in known_pythons(cell, index):
        if all(
            index.newest_installable(anchor.name, anchor.specifier, minor) is not None
            for anchor in cell.anchors
        ):
            return f"{minor[0]}.{minor[1]}"
    return None


def ci_cache_key(
    cell: CellSpec, python: str | None, project: str | None, index: PackageIndex
) -> str:
    """The key a CI job caches this cell's environments under: ``kerascompat-<16 hex>``.

    It changes with whatever would change the environment the job builds (the tool's
    version, the Python asked for, requirements, the pins they get, the project's
    packaging files) and with nothing about the machine that computed it, which is not
    the machine that builds: no paths. The sweep still checks each environment against
    its own plan's key, so a cache restored under a stale key is never used wrongly.
    """
    from pytest_kerascompat import __version__

    pins: tuple[str, ...] = ()
    minor = python_minor(python)
    if cell.pins and minor is not None:
        pins = tuple(pin.requirement for pin in pins_for(expected_versions_on(cell, minor, index)))
    identity = {
        "plan": PLAN_VERSION,
        "tool": __version__,
        "python": python,
        "requirements": cell_requirements(cell, probes=False),
        "pins": pins,
        "project": project_contents(project),
    }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    return f"kerascompat-{digest[:16]}"


def python_minor(python: str | None) -> tuple[int, int] | None:
    try:
        release = Version(python or "").release
    except ValueError:
        return None
    return (release[0], release[1]) if len(release) >= 2 else None


def project_contents(project: str | None) -> str | None:
    """The project's extras and packaging files, by content: the same wherever it is checked out."""
    if project is None:
        return None
    path, _, extras = project.partition("[")
    digest = hashlib.sha256(extras.encode())
    for name in PROJECT_FILES:
        candidate = Path(path) / name
        if candidate.is_file():
            digest.update(name.encode() + b"\0" + candidate.read_bytes())
    return digest.hexdigest()
