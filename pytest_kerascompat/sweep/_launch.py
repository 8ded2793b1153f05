"""How a cell is entered: the cell-side package on ``PYTHONPATH`` and the worker's argv.

The worker code is copied (not installed) into a content-addressed directory, so a
cell never sees the controller's site-packages and an edit to the plugin reaches
every cell on the next run without a rebuild.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.version import InvalidVersion, Version

from pytest_kerascompat.cell import protocol
from pytest_kerascompat.cell.protocol import CELL_PACKAGE, PROBES_DIR, PROBES_MODULE

if TYPE_CHECKING:  # only annotations: keeps `python -m pytest_kerascompat scan` light
    from pytest_kerascompat.plan.plans import CellPlan

SOURCE = Path(__file__).parents[1] / "cell"
PROBES_INI = "kerascompat-probes.ini"
#: Inside an environment: where its modules' bytecode is written on first import.
PYCACHE_DIR = "pycache"


@dataclasses.dataclass(frozen=True)
class WorkerCall:
    """One worker run inside a cell."""

    results: Path
    mode: str
    cellpath: Path
    user_args: tuple[str, ...] = ()
    #: Probe functions to run (``test_fit_generator``...); empty runs every probe.
    probes: tuple[str, ...] = ()
    timeout: float | None = None
    skip_file: Path | None = None
    #: ``--ff``: a file of the tests to run before the others.
    first_file: Path | None = None
    collect_only: bool = False
    stack_file: Path | None = None
    rootdir: Path | None = None
    inifile: Path | None = None
    #: How pytest words a failure in the cell (``--tb``, ``-l``...), as the user asked.
    report_args: tuple[str, ...] = ()
    #: Where pytest-cov (if the configuration runs it) writes this cell's coverage data.
    coverage_file: Path | None = None

    @property
    def probes_dir(self) -> Path:
        return self.cellpath / CELL_PACKAGE / PROBES_DIR


def cell_sources() -> list[Path]:
    return sorted(path for path in SOURCE.rglob("*.py") if "__pycache__" not in path.parts)


def prepare_cellpath(cache_dir: Path) -> Path:
    """Copy the cell-side package once per content; return the directory for PYTHONPATH."""
    digest = hashlib.sha256()
    generated = {protocol.HOST_OPTIONS_FILE: host_options_json()}
    for path in cell_sources():
        digest.update(str(path.relative_to(SOURCE)).encode())
        digest.update(path.read_bytes())
    for name, text in sorted(generated.items()):
        digest.update(name.encode() + text.encode())
    target = cache_dir / "cellpath" / digest.hexdigest()[:16]
    if (target / CELL_PACKAGE).is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".staging-"))
    for path in cell_sources():
        destination = staging / CELL_PACKAGE / path.relative_to(SOURCE)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
    for name, text in generated.items():
        (staging / CELL_PACKAGE / name).write_text(text, encoding="utf-8")
    (staging / PROBES_INI).write_text("[pytest]\n", encoding="utf-8")
    try:
        staging.rename(target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not (target / CELL_PACKAGE).is_dir():
            raise
    return target


def host_options_json() -> str:
    """The controller plugin's options and ini keys, which a cell accepts and ignores.

    From the one declaration of them (``config/options.py``), imported here only: the
    cell side reads this file, since it cannot import the controller (see
    ``cell/user_config.py``).
    """
    from pytest_kerascompat.config.options import OPTIONS

    declared = [
        {
            "flags": [option.option],
            "takes_value": not option.switch,
            "ini": option.name if option.mirrored else None,
        }
        for option in OPTIONS
    ]
    return json.dumps(declared, indent=1) + "\n"


def worker_argv(python: Path, plan: CellPlan, call: WorkerCall) -> list[str]:
    """``python -m kerascompat_cell``: pytest with the worker registered before parsing."""
    argv = [
        str(python), "-m", CELL_PACKAGE, "-p", "no:kerascompat", "-p", "no:cacheprovider",
        "--continue-on-collection-errors", protocol.QUICK_EXIT_FLAG,
        protocol.RESULTS_FLAG, str(call.results),
        protocol.CELL_FLAG, plan.name,
        protocol.KERAS_MODULE_FLAG, plan.spec.keras_module,
        protocol.MODE_FLAG, call.mode,
        protocol.PROBES_DIR_FLAG, str(call.probes_dir),
    ]  # fmt: skip
    for module in required_modules(plan):
        argv += [protocol.REQUIRE_FLAG, module]
    if call.timeout:
        argv += [protocol.TIMEOUT_FLAG, f"{call.timeout:g}"]
    if call.stack_file:
        argv += [protocol.STACK_FILE_FLAG, str(call.stack_file)]
    if call.skip_file:
        argv += [protocol.SKIP_FLAG, str(call.skip_file)]
    if call.first_file:
        argv += [protocol.FIRST_FLAG, str(call.first_file)]
    if call.collect_only:
        argv.append("--collect-only")
    argv += list(call.report_args)
    argv += configuration_args(call)
    if call.mode in protocol.PROBE_MODES:
        argv += probe_paths(call)
    if call.mode in protocol.USER_MODES:
        argv += list(call.user_args)
    return argv


def probe_paths(call: WorkerCall) -> list[str]:
    """The probes directory, or node ids of the chosen probes within it."""
    if not call.probes:
        return [str(call.probes_dir)]
    return [f"{call.probes_dir / PROBES_MODULE}::{name}" for name in call.probes]


def configuration_args(call: WorkerCall) -> list[str]:
    """Probes alone run under an empty configuration, away from the user's addopts."""
    if call.mode == protocol.MODE_PROBES:
        return ["-c", str(call.cellpath / PROBES_INI), "--rootdir", str(call.cellpath)]
    args = []
    if call.inifile:
        args += ["-c", str(call.inifile)]
    if call.rootdir:
        args += ["--rootdir", str(call.rootdir)]
    return args


def required_modules(plan: CellPlan) -> list[str]:
    modules = []
    if plan.spec.tensorflow:
        modules.append("tensorflow")
    if plan.spec.keras:
        modules.append("keras")
    return modules


def worker_env(
    plan: CellPlan,
    cellpath: Path,
    location: Path,
    base: Mapping[str, str] | None = None,
    coverage_file: Path | None = None,
) -> dict[str, str]:
    """The cell's own variables over the caller's, with only the cell package importable
    besides what the cell's own ``PYTHONPATH`` adds (its entries first, as it asked).

    With ``coverage_file``, a configuration running pytest-cov writes each cell's data
    apart (``coverage combine`` joins them) instead of cells overwriting one ``.coverage``.
    """
    env = bytecode_env(plan, location, os.environ if base is None else base)
    env.pop("PYTHONPATH", None)
    env.update(plan.env)
    env["PYTHONPATH"] = os.pathsep.join(
        entry for entry in (plan.env.get("PYTHONPATH"), str(cellpath)) if entry
    )
    if coverage_file is not None:
        env["COVERAGE_FILE"] = str(coverage_file)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def bytecode_env(plan: CellPlan, location: Path, base: Mapping[str, str]) -> dict[str, str]:
    """Bytecode written once, on first import, into the environment's own cache.

    Compiling every module at install time (``uv --compile-bytecode``) costs ~10 s per
    TensorFlow environment, more than half of them never imported; and where
    ``PYTHONDONTWRITEBYTECODE`` is set nothing would ever be written, so each import
    would compile thousands of modules again. With a pycache prefix inside the
    environment, Python 3.8+ writes each imported module's bytecode there the first
    time, never into the user's tree. Python 3.7 has no prefix: its cells compile at
    install time instead (:func:`compiles_at_install`).
    """
    env = dict(base)
    if not compiles_at_install(plan):
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(location / PYCACHE_DIR)
    return env


def compiles_at_install(plan: CellPlan) -> bool:
    """Whether the cell's Python lacks ``PYTHONPYCACHEPREFIX`` (before 3.8), or is unknown."""
    try:
        return Version(plan.python or "").release < (3, 8)
    except InvalidVersion:
        return True
