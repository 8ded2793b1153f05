"""nox sessions for the cells of a matrix, for this package's noxfile and for users'.

``register_sessions("matrix.yaml")`` in a noxfile gives one session per cell, with
ids such as ``keras_matrix(cell='tf2.16')``. ``pytest --keras-matrix`` builds its
environments through the very same session function, so the two never disagree.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import nox

from pytest_kerascompat.cell.protocol import MODE_PROBES, MODE_USER
from pytest_kerascompat.config.matrix import load_matrix
from pytest_kerascompat.env.environments import (
    default_cache_dir,
    holds_a_build,
    is_ready,
    mark_building,
    mark_ready,
    venv_python,
)
from pytest_kerascompat.plan.index import PackageIndex
from pytest_kerascompat.plan.plans import (
    SESSION_NAME,
    CellPlan,
    PlanOptions,
    plan_matrix,
    session_param_id,
)
from pytest_kerascompat.sweep._launch import (
    WorkerCall,
    compiles_at_install,
    prepare_cellpath,
    worker_argv,
    worker_env,
)
from pytest_kerascompat.sweep._rundirs import events_file


def register_sessions(
    matrix_file: str | os.PathLike[str] = "matrix.yaml",
    *,
    probes: bool = False,
    pins: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
) -> list[CellPlan]:
    """Register one ``keras_matrix(cell=...)`` session per cell of ``matrix_file``.

    Each session builds (or reuses) its cell's environment, then runs the tests marked
    ``keras_compat`` in it (or the built-in probes with ``probes=True``), passing
    ``session.posargs`` on to pytest.
    """
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    matrix = load_matrix(Path(matrix_file))
    plans = plan_matrix(matrix, PlanOptions(probes=probes, pins=pins), index=PackageIndex(cache))
    define_sessions(plans, mode=MODE_PROBES if probes else MODE_USER, cache_dir=cache)
    return plans


def register_planned_sessions(plan_file: str | os.PathLike[str]) -> None:
    """Register the sessions of plans the sweep already resolved (its bundled noxfile)."""
    data = json.loads(Path(plan_file).read_text(encoding="utf-8"))
    plans = [CellPlan.from_dict(item) for item in data["plans"]]
    define_sessions(plans, mode=data["mode"], cache_dir=Path(data["cache_dir"]))


def define_sessions(plans: Sequence[CellPlan], *, mode: str, cache_dir: Path) -> None:
    by_name = {plan.name: plan for plan in plans}
    params = [
        nox.param(plan.name, plan.executable or False, id=session_param_id(plan.name))
        for plan in plans
    ]

    @nox.session(name=SESSION_NAME, venv_backend="uv|virtualenv", reuse_venv=True)
    @nox.parametrize(["cell", "python"], params)
    def keras_matrix(session: nox.Session, cell: str) -> None:
        """Build one cell of the Keras matrix and run its tests."""
        plan = by_name[cell]
        if plan.executable is None:
            session.skip(f"no interpreter: {plan.python_note}")
        location = build_cell(session, plan)
        run_cell_tests(session, plan, location, mode=mode, cache_dir=cache_dir)


def build_cell(session: nox.Session, plan: CellPlan) -> Path:
    """Install the plan into the session's environment unless it already holds it."""
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
    session.install(*plan.install_arguments, env=compile_now)
    mark_ready(location, plan)
    return location


def run_cell_tests(
    session: nox.Session, plan: CellPlan, location: Path, *, mode: str, cache_dir: Path
) -> None:
    """Run the worker as ``pytest --keras-matrix`` would, with pytest's own output."""
    cellpath = prepare_cellpath(cache_dir)
    results = events_file(Path(".kerascompat") / "nox", plan.name)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.unlink(missing_ok=True)
    call = WorkerCall(
        results=results.resolve(),
        mode=mode,
        cellpath=cellpath,
        user_args=tuple(session.posargs),
        timeout=plan.spec.timeout,
    )
    argv = worker_argv(venv_python(location), plan, call)
    env = worker_env(plan, cellpath, location)
    session.run(*argv, env=env, include_outer_env=False, external=True)
