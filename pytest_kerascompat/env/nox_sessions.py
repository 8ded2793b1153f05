"""nox sessions for the cells of a matrix, for this package's noxfile and for users'.

``register_sessions("matrix.yaml")`` in a noxfile gives one session per cell, with
ids such as ``keras_matrix(cell='tf2.16')`` and the tag ``keras_matrix``. Each session
is ``pytest --keras-matrix --keras-cells=<cell>`` run from the noxfile's directory, so
the session and the sweep cannot disagree: the same rootdir and configuration, the
same ids, the same table, and the same environment in the kerascompat cache (nox
creates none of its own under ``.nox``).

The sweep builds its environments through :func:`register_planned_sessions` (its
bundled noxfile, run with ``--install-only``), and only there does nox own a
virtual environment.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import nox

from pytest_kerascompat.config.matrix import load_matrix
from pytest_kerascompat.env.environments import holds_a_build, is_ready, mark_building, mark_ready
from pytest_kerascompat.plan.plans import SESSION_NAME, CellPlan, session_param_id
from pytest_kerascompat.sweep._launch import compiles_at_install

#: ``nox -t keras_matrix`` runs every cell's session.
SESSION_TAGS = [SESSION_NAME]


def register_sessions(
    matrix_file: str | os.PathLike[str] = "matrix.yaml",
    *,
    probes: bool = False,
    pins: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
) -> list[str]:
    """Register one ``keras_matrix(cell=...)`` session per cell of ``matrix_file``.

    Each session runs that one cell as ``pytest --keras-matrix`` would (the tests marked
    ``keras_compat``, or the built-in probes with ``probes=True``), with
    ``session.posargs`` passed on to pytest. Unset, ``pins`` and ``cache_dir`` come from
    the project's pytest configuration as they do for a sweep. Returns the cell names.
    """
    path = Path(matrix_file).resolve()
    names = [cell.name for cell in load_matrix(path).cells]
    base = sweep_argv(path, probes=probes, pins=pins, cache_dir=cache_dir)

    @nox.session(name=SESSION_NAME, venv_backend="none", tags=SESSION_TAGS)
    @nox.parametrize("cell", [nox.param(name, id=session_param_id(name)) for name in names])
    def keras_matrix(session: nox.Session, cell: str) -> None:
        """Run one cell of the Keras matrix: its environment, its tests, its table."""
        session.run(*base, f"--keras-cells={cell}", *session.posargs, external=True)

    return names


def sweep_argv(
    matrix_file: Path,
    *,
    probes: bool,
    pins: bool,
    cache_dir: str | os.PathLike[str] | None,
) -> list[str]:
    """pytest in nox's own interpreter, which imported this plugin to read the noxfile."""
    argv = [sys.executable, "-m", "pytest", "--keras-probes" if probes else "--keras-matrix"]
    argv.append(f"--keras-matrix-file={matrix_file}")
    if not pins:
        argv.append("--keras-no-pins")
    if cache_dir is not None:
        argv.append(f"--keras-cache-dir={Path(cache_dir).resolve()}")
    return argv


def register_planned_sessions(plan_file: str | os.PathLike[str]) -> None:
    """Register the build sessions of plans the sweep already resolved (its bundled noxfile)."""
    data = json.loads(Path(plan_file).read_text(encoding="utf-8"))
    define_build_sessions([CellPlan.from_dict(item) for item in data["plans"]])


def define_build_sessions(plans: Sequence[CellPlan]) -> None:
    by_name = {plan.name: plan for plan in plans}
    params = [
        nox.param(plan.name, plan.executable or False, id=session_param_id(plan.name))
        for plan in plans
    ]

    @nox.session(name=SESSION_NAME, venv_backend="uv|virtualenv", reuse_venv=True)
    @nox.parametrize(["cell", "python"], params)
    def keras_matrix(session: nox.Session, cell: str) -> None:
        """Build one cell's environment (the sweep runs its tests)."""
        plan = by_name[cell]
        if plan.executable is None:
            session.skip(f"no interpreter: {plan.python_note}")
        build_cell(session, plan)


def build_cell(session: nox.Session, plan: CellPlan) -> Path:
    """Install the plan into the session's environment unless it already holds it.

    The installer's output goes to the log as it comes (not held back by nox until it
    fails), so the sweep can say what it is doing while it does it.
    """
    location = Path(session.virtualenv.location)
    if is_ready(location, plan):
        session.log(f"reusing the environment of cell {plan.name!r} ({location})")
        return location
    venv = session.virtualenv
    if holds_a_build(location):
        # nox reused an environment built for other requirements, or half-built: start over.
        venv.reuse_existing = False  # type: ignore[attr-defined]
        venv.create()
    mark_building(location)
    if plan.pins:
        session.log(f"known-good pins for {plan.name!r}: {', '.join(plan.pins)}")
    compile_now = {"UV_COMPILE_BYTECODE": "1"} if compiles_at_install(plan) else {}
    session.install(*plan.install_arguments, env=compile_now, silent=False)
    mark_ready(location, plan)
    return location
