"""How fast is a sweep, against its floor and against the noxfile a maintainer would write?

Run from the repository root (takes 10 to 20 minutes; it builds environments):

    python benchmarks/sweep_speed.py                 # the bundled matrix, every figure
    python benchmarks/sweep_speed.py --skip-cold      # warm figures only (minutes)

Every figure is a ratio of two timings taken in this one run, alternating sides where
they are paired, so a slow or busy machine moves both. It prints; it never fails.

The floor of a sweep is, for each cell, `python -c "import tensorflow"` in that cell's
environment (compiled bytecode) plus the time of the probes' bodies as the worker
measured them, summed over cells.

The baseline is the hand-written way: a noxfile with one session per cell on nox's
default virtualenv/pip backend, each running pytest on the same probe tests (with a
conftest that provides the same `keras` and `tf` fixtures).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from pytest_kerascompat.config.matrix import load_matrix
from pytest_kerascompat.env.environments import (
    ensure_environment,
    envdir_for,
    find_ready,
    venv_python,
)
from pytest_kerascompat.model.results import Report
from pytest_kerascompat.plan.index import PackageIndex
from pytest_kerascompat.plan.plans import CellPlan, PlanOptions, plan_matrix
from pytest_kerascompat.sweep._launch import SOURCE, bytecode_env
from pytest_kerascompat.sweep.controller import SweepSettings, write_plan_file

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {
    "warm sequential / floor": ("<=", 1.15),
    "warm --keras-jobs 2 / floor": ("<=", 0.75),
    "cold build of one cell / bare uv install": ("<=", 1.3),
    # Ours writes bytecode on first import instead of at install: count that import too.
    "cold build + first import / bare install + first import": ("<=", 1.3),
    "baseline cold / ours cold": (">=", 3.0),
    "baseline warm / ours warm": (">=", 1.5),
    "plugin load on a plain pytest run (ms)": ("<", 30.0),
}

BASELINE_NOXFILE = '''
"""One session per cell, as a maintainer would write it by hand."""
import json
import nox

CELLS = json.loads({cells!r})


@nox.session(venv_backend="virtualenv")
@nox.parametrize(
    ["cell", "python"], [nox.param(c["name"], c["python"], id=c["name"]) for c in CELLS]
)
def probes(session, cell):
    spec = next(c for c in CELLS if c["name"] == cell)
    session.install(*spec["install"])
    session.run("pytest", "-q", "-p", "no:cacheprovider", {probes!r}, env=spec["env"])
'''

BASELINE_CONFTEST = """
import importlib
import os

import pytest


@pytest.fixture(scope="session")
def tf():
    return importlib.import_module("tensorflow")


@pytest.fixture(scope="session")
def keras(tf):
    if os.environ.get("BASELINE_STANDALONE_KERAS"):
        return importlib.import_module("keras")
    return tf.keras
"""


LOG_DIR = Path(tempfile.gettempdir())
LOGS: list[Path] = []
FAILURES: list[str] = []


def timed(argv: list[str], cwd: Path, env: dict[str, str] | None = None, label: str = "") -> float:
    """Wall time of one command; its output goes to a log, and a failure is remembered."""
    log = LOG_DIR / f"{len(LOGS):02d}-{label or Path(argv[0]).name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    LOGS.append(log)
    started = time.perf_counter()
    with log.open("w") as stream:
        status = subprocess.run(  # noqa: S603 - an argument list
            argv, cwd=cwd, env=env, check=False, stdout=stream, stderr=subprocess.STDOUT
        ).returncode
    elapsed = time.perf_counter() - started
    if status != 0 and not only_tests_failed(log):
        FAILURES.append(f"{label or argv[0]} exited {status} (log: {log})")
    return elapsed


def only_tests_failed(log: Path) -> bool:
    """Probes fail where an API is gone; a run is broken only if something else failed.

    For nox, that is a command other than pytest; for a sweep, anything but exit 1.
    """
    text = log.read_text(errors="replace")
    if "nox > " in text:
        broken = re.findall(r"nox > Command (?!pytest)\S+.* failed", text)
        return not broken and "Interpreter" not in text
    return bool(re.search(r"^=+ .*(failed|removed).* in [\d.]+s", text, re.MULTILINE))


def sweep_argv(cache: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "--keras-matrix", "--keras-probes",
            f"--keras-cache-dir={cache}", "-p", "no:cacheprovider", *extra]  # fmt: skip


def plans_for(matrix: Path, cache: Path, cells: list[str] | None) -> list[CellPlan]:
    loaded = load_matrix(matrix)
    if cells:
        loaded = loaded.select(cells)
    plans = plan_matrix(loaded, PlanOptions(probes=True), index=PackageIndex(cache))
    return [plan for plan in plans if plan.executable]


def floor(plans: list[CellPlan], cache: Path, report: Report) -> float:
    """Import of TensorFlow in each cell's environment plus the probes' bodies."""
    total = 0.0
    for plan in plans:
        location = find_ready(envdir_for(cache, plan), plan)
        assert location is not None, f"{plan.name} is not built"
        imports = [import_seconds(plan, location, f"import-{plan.name}") for _ in range(3)]
        bodies = sum(r.duration or 0.0 for r in report.results if r.cell == plan.name)
        total += statistics.median(imports) + bodies
    return total


def cell_env(plan: CellPlan, location: Path) -> dict[str, str]:
    """The cell's variables, reading the bytecode its sweeps wrote (compiled, as the floor
    assumes: measured after the sweeps, every module ``import tensorflow`` needs is)."""
    return {**bytecode_env(plan, location, os.environ), **plan.env, "TF_CPP_MIN_LOG_LEVEL": "2"}


def import_seconds(plan: CellPlan, location: Path, label: str, *, ours: bool = True) -> float:
    """``import tensorflow`` in a cell's environment; ``ours=False`` for a bare venv, whose
    bytecode uv compiled into ``__pycache__`` at install."""
    argv = [str(venv_python(location)), "-c", "import tensorflow"]
    env = cell_env(plan, location) if ours else {**os.environ, **plan.env}
    return timed(argv, ROOT, env, label)


def write_baseline(workdir: Path, plans: list[CellPlan], probes: Path) -> Path:
    cells = [
        {
            "name": plan.name,
            "install": [*plan.requirements, *plan.pins],
            "env": {**plan.env, **({"BASELINE_STANDALONE_KERAS": "1"} if plan.spec.keras else {})},
            "python": plan.executable,
        }
        for plan in plans
    ]
    noxfile = BASELINE_NOXFILE.format(cells=json.dumps(cells), probes=str(probes))
    (workdir / "noxfile.py").write_text(textwrap.dedent(noxfile))
    shutil.copytree(SOURCE / "probes", probes, dirs_exist_ok=True)
    (probes / "conftest.py").write_text(BASELINE_CONFTEST)
    (probes / "pytest.ini").write_text("[pytest]\n")
    return workdir / "noxfile.py"


def baseline_argv(noxfile: Path, envdir: Path, plans: list[CellPlan], *extra: str) -> list[str]:
    sessions = [f"probes({plan.name})" for plan in plans]
    return [sys.executable, "-m", "nox", "-f", str(noxfile), "--envdir", str(envdir),
            "--sessions", *sessions, *extra]  # fmt: skip


def bare_uv_install(plan: CellPlan, target: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["uv", "venv", "-q", "-p", str(plan.executable), str(target)], check=True)  # noqa: S603
    subprocess.run(  # noqa: S603
        ["uv", "pip", "install", "-q", "--compile-bytecode",
         "--python", str(target / "bin" / "python"), *plan.install_arguments],
        check=True,
    )  # fmt: skip
    return time.perf_counter() - started


def our_cold_build(plan: CellPlan, cache: Path, workdir: Path) -> tuple[float, Path]:
    """Only the environment: the plugin's own build path (nox session, uv, ready marker)."""
    settings = SweepSettings(
        cache_dir=cache, run_dir=workdir / "cold-run", mode="probes", cwd=workdir
    )
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    write_plan_file([plan], settings)
    started = time.perf_counter()
    location, _ = ensure_environment(
        plan, cache_dir=cache, plan_file=settings.plan_file, log=LOG_DIR / "our-cold-build.log",
        cwd=workdir,
    )  # fmt: skip
    return time.perf_counter() - started, location


def plugin_overhead(workdir: Path, rounds: int = 15) -> float:
    test = workdir / "test_plain.py"
    test.write_text("def test_plain():\n    pass\n")
    base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)]
    with_plugin, without = [], []
    for _ in range(rounds):
        with_plugin.append(timed(base, workdir, label="plain-with-plugin"))
        without.append(timed([*base, "-p", "no:kerascompat"], workdir, label="plain-without"))
    return (statistics.median(with_plugin) - statistics.median(without)) * 1000


def version_tuple(text: str | None) -> tuple[int, ...]:
    return tuple(int(part) for part in (text or "0").split(".")[:2])


def verdict(name: str, value: float) -> str:
    relation, target = TARGETS[name]
    met = {"<=": value <= target, ">=": value >= target, "<": value < target}[relation]
    return f"{name:<45} {value:8.2f}   target {relation} {target:<5}  {'met' if met else 'NOT met'}"


def main() -> None:
    global LOG_DIR
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matrix", type=Path, default=ROOT / "matrix.yaml")
    parser.add_argument("--cells", help="comma-separated cells (default: all usable)")
    parser.add_argument("--cold-cell", default="tf2.15", help="the cell for the one-cell build")
    parser.add_argument("--skip-cold", action="store_true", help="warm figures only")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="kerascompat-bench-"))
    LOG_DIR = workdir / "logs"
    cache = workdir / "cache"
    plans = plans_for(args.matrix, cache, args.cells.split(",") if args.cells else None)
    names = ",".join(plan.name for plan in plans)
    # nox's default virtualenv backend no longer seeds environments for Python < 3.9, so
    # the figures against the baseline use the cells both sides can build.
    paired = [plan for plan in plans if version_tuple(plan.python) >= (3, 9)]
    paired_names = ",".join(plan.name for plan in paired)
    noxfile = write_baseline(workdir, paired, workdir / "probes")
    print(f"machine: {os.cpu_count()} CPUs; cells: {names}; paired with the baseline: "
          f"{paired_names}; work dir: {workdir}", flush=True)  # fmt: skip
    timings: dict[str, float] = {}
    figures: dict[str, float] = {}

    if not args.skip_cold:
        timings["baseline cold (paired)"] = timed(
            baseline_argv(noxfile, workdir / "nox-envs", paired), workdir, label="baseline-cold"
        )
        timings["ours cold (paired)"] = timed(
            sweep_argv(workdir / "paired-cache", f"--keras-cells={paired_names}"), workdir,
            label="ours-cold-paired",
        )  # fmt: skip
        figures["baseline cold / ours cold"] = (
            timings["baseline cold (paired)"] / timings["ours cold (paired)"]
        )
        cold = next(plan for plan in plans if plan.name == args.cold_cell)
        timings["bare uv install"] = bare_uv_install(cold, workdir / "bare-venv")
        timings["our cold build"], built = our_cold_build(cold, workdir / "cold-cache", workdir)
        figures["cold build of one cell / bare uv install"] = (
            timings["our cold build"] / timings["bare uv install"]
        )
        bare_import = import_seconds(cold, workdir / "bare-venv", "bare-import", ours=False)
        our_import = import_seconds(cold, built, "our-first-import")
        figures["cold build + first import / bare install + first import"] = (
            timings["our cold build"] + our_import
        ) / (timings["bare uv install"] + bare_import)
    timings["ours cold (all)"] = timed(
        sweep_argv(cache, f"--keras-cells={names}"), workdir, label="ours-cold-all"
    )
    # One untimed run of each side first: the first run after a build pays the page cache.
    timed(sweep_argv(cache, f"--keras-cells={names}"), workdir, label="ours-warm-up")
    if not args.skip_cold:
        timed(baseline_argv(noxfile, workdir / "nox-envs", paired, "-R"), workdir, label="warm-up")
        timings["baseline warm (paired)"] = timed(
            baseline_argv(noxfile, workdir / "nox-envs", paired, "-R"), workdir,
            label="baseline-warm",
        )  # fmt: skip
        timings["ours warm (paired)"] = timed(
            sweep_argv(workdir / "paired-cache", f"--keras-cells={paired_names}"), workdir,
            label="ours-warm-paired",
        )  # fmt: skip
        figures["baseline warm / ours warm"] = (
            timings["baseline warm (paired)"] / timings["ours warm (paired)"]
        )
    timings["ours warm sequential"] = timed(
        sweep_argv(cache, f"--keras-cells={names}", "--keras-jobs=1"), workdir, label="ours-warm-1"
    )
    report = Report.read_json(workdir / ".kerascompat" / "report.json")
    timings["floor"] = floor(plans, cache, report)
    timings["ours warm --keras-jobs 2"] = timed(
        sweep_argv(cache, f"--keras-cells={names}", "--keras-jobs=2"), workdir, label="ours-warm-2"
    )
    figures["warm sequential / floor"] = timings["ours warm sequential"] / timings["floor"]
    figures["warm --keras-jobs 2 / floor"] = timings["ours warm --keras-jobs 2"] / timings["floor"]
    figures["plugin load on a plain pytest run (ms)"] = plugin_overhead(workdir)

    print("\ntimings (s):")
    for name, seconds in timings.items():
        print(f"  {name:<28} {seconds:8.2f}")
    print("\nfigures:")
    for name, value in figures.items():
        print("  " + verdict(name, value))
    print(f"\nlogs: {LOG_DIR}")
    for failure in FAILURES:
        print(f"FAILED (a figure that uses it is not valid): {failure}")


if __name__ == "__main__":
    main()
