"""How fast is a sweep, against its floor and against the noxfile a maintainer would write?

Run from the repository root. Every figure by default (about an hour on 2 cores: it
builds environments, many times):

    python benchmarks/sweep_speed.py
    python benchmarks/sweep_speed.py --figures floor,plugin --cells tf2.15 --runs 2  # minutes
    python benchmarks/sweep_speed.py --cold-downloads  # adds both tools' download caches cold

Each figure compares the same work on both sides and prints its one-line definition.
Every timing is the median of ``--runs`` valid runs (3 by default) with min and max; the
two sides of a figure alternate (A B A B ...), after one untimed run of each. A sweep run
counts only if its JSON report shows every cell ``ok`` with a square for every probe and
none crashed or timed out; a baseline run only if each session's JUnit XML has every
probe. A rejected run is reported and run again (up to twice ``--runs`` tries per side).
It prints and never fails.

The floor of a sweep is, for each cell in turn, that cell's interpreter with nothing of
ours: import TensorFlow and the cell's Keras, call every probe function with them, flush
and leave with ``os._exit`` as the workers do; summed over cells.

The baseline is the hand-written way: a noxfile with one session per cell on nox's
default virtualenv/pip backend, each running pytest on the same probes (with a conftest
that provides the same ``keras`` and ``tf`` fixtures). At N jobs its sessions are split
round-robin over N nox processes running at once, as a maintainer would parallelise it.
nox's virtualenv no longer seeds Python < 3.9, so those figures use the cells both can build.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from pathlib import Path

from pytest_kerascompat.config.matrix import load_matrix
from pytest_kerascompat.env.environments import (
    ensure_environment,
    envdir_for,
    find_ready,
    venv_python,
)
from pytest_kerascompat.plan.index import PackageIndex
from pytest_kerascompat.plan.plans import CellPlan, PlanOptions, plan_matrix
from pytest_kerascompat.sweep._launch import SOURCE, bytecode_env
from pytest_kerascompat.sweep.controller import SweepSettings, default_jobs, write_plan_file

ROOT = Path(__file__).resolve().parents[1]
PROBES = SOURCE / "probes"
FIGURES = ("floor", "build", "baseline-warm", "baseline-cold", "plugin")
OPT_IN_FIGURES = ("baseline-cold-downloads",)
PLUGIN_ROUNDS = 15

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
    session.run("pytest", "-q", "-p", "no:cacheprovider", {probes!r},
                "--junitxml", {junit!r} + "/" + cell + ".xml", env=spec["env"],
                success_codes=[0, 1])
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

# The floor: what a worker does that no sweep can avoid, with nothing of ours around it.
FLOOR_SCRIPT = """
import inspect, os, sys
import tensorflow as tf
if sys.argv[1] == "keras":
    import keras
else:
    keras = tf.keras
    keras.layers
import test_data_feeding as probes
fixtures = {"keras": keras, "tf": tf}
for name, probe in sorted(vars(probes).items()):
    if name.startswith("test_") and callable(probe):
        try:
            probe(**{p: fixtures[p] for p in inspect.signature(probe).parameters})
            print(name, "passed")
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as error:  # a failure where an API is gone; a skip or xfail
            print(name, type(error).__name__)
sys.stdout.flush()
sys.stderr.flush()
os._exit(0)
"""


class Bench:
    """Where one benchmark run keeps its files, and the command runner that logs them."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def log(self, label: str) -> Path:
        self.count += 1
        return self.logs / f"{self.count:03d}-{label}.log"

    def start(
        self,
        argv: list[str],
        label: str,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> tuple[subprocess.Popen[bytes], Path]:
        log = self.log(label)
        with log.open("wb") as stream:
            process = subprocess.Popen(  # noqa: S603 - an argument list
                argv, cwd=cwd or self.workdir, env=env, stdout=stream, stderr=subprocess.STDOUT
            )
        return process, log

    def run(
        self,
        argv: list[str],
        label: str,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> tuple[float, int, Path]:
        """Wall time, exit status and log of one command."""
        started = time.perf_counter()
        process, log = self.start(argv, label, env, cwd)
        status = process.wait()
        return time.perf_counter() - started, status, log


@dataclasses.dataclass
class Series:
    """The valid timings of one side of a figure, and why other runs were rejected."""

    label: str
    values: list[float] = dataclasses.field(default_factory=list)
    rejected: list[str] = dataclasses.field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    def describe(self, unit: str = "s") -> str:
        if not self.values:
            return f"{self.label}: no valid run"
        text = (
            f"{self.label}: median {self.median:.2f} {unit} (min {min(self.values):.2f}, "
            f"max {max(self.values):.2f}; {len(self.values)} runs)"
        )
        return text + (f"; {len(self.rejected)} rejected" if self.rejected else "")


@dataclasses.dataclass
class Figure:
    name: str
    definition: str
    value: float
    target: tuple[str, float] | None
    sides: list[Series]
    unit: str = "x"

    def verdict(self) -> str:
        if any(not side.values for side in self.sides) or self.value != self.value:
            return "NOT VALID (a side has no valid run)"
        if self.target is None:
            return "no target"
        relation, bound = self.target
        met = {"<=": self.value <= bound, ">=": self.value >= bound, "<": self.value < bound}
        return f"target {relation} {bound:g}: {'met' if met[relation] else 'NOT met'}"


Side = Callable[[str], tuple[float, str | None]]


def alternate(runs: int, sides: dict[str, Side]) -> dict[str, Series]:
    """Run the sides A B A B ... until each has ``runs`` valid timings (or twice as many
    tries); each side first runs once untimed. A side returns (seconds, why rejected)."""
    series = {label: Series(label) for label in sides}
    for label, side in sides.items():
        side(f"{label} (untimed warm-up)")
    tries = dict.fromkeys(sides, 0)
    while True:
        wanting = [
            label for label in sides if len(series[label].values) < runs and tries[label] < 2 * runs
        ]
        if not wanting:
            return series
        for label in wanting:
            tries[label] += 1
            seconds, rejected = sides[label](f"{label} #{tries[label]}")
            if rejected is None:
                series[label].values.append(seconds)
                print(f"    {label} #{tries[label]}: {seconds:.2f} s", flush=True)
            else:
                series[label].rejected.append(rejected)
                print(f"    {label} #{tries[label]}: REJECTED ({rejected})", flush=True)


# ------------------------------------------------------------------- our sweep


def probe_names() -> set[str]:
    tree = ast.parse((PROBES / "test_data_feeding.py").read_text(encoding="utf-8"))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


def sweep_rejection(report_file: Path, cells: list[str], status: int) -> str | None:
    """Why a sweep did not do the full work, read from its JSON report; None if it did."""
    if status not in (0, 1):  # 1: some probes fail where an API is gone
        return f"the sweep exited {status}"
    try:
        data = json.loads(report_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return f"no JSON report ({error})"
    statuses = {cell.get("name"): cell.get("status") for cell in data.get("cells", [])}
    for cell in cells:
        if statuses.get(cell) != "ok":
            return f"cell {cell} is {statuses.get(cell, 'missing')}"
    wanted = probe_names()
    for cell in cells:
        results = [r for r in data.get("results", []) if r.get("cell") == cell]
        seen = {str(r.get("test")).rsplit("::", 1)[-1] for r in results}
        if wanted - seen:
            return f"cell {cell} has no square for {', '.join(sorted(wanted - seen))}"
        broken = [r["test"] for r in results if r.get("outcome") in ("crashed", "timeout")]
        if broken:
            return f"cell {cell}: {broken[0]} crashed or timed out"
    return None


def our_sweep(
    bench: Bench,
    matrix: Path,
    cache: Path,
    cells: list[str],
    jobs: int,
    env: dict[str, str] | None = None,
) -> Side:
    def side(label: str) -> tuple[float, str | None]:
        report = bench.workdir / "report.json"
        report.unlink(missing_ok=True)
        argv = [
            sys.executable,
            "-m",
            "pytest",
            "--keras-matrix",
            "--keras-probes",
            f"--keras-matrix-file={matrix}",
            f"--keras-cache-dir={cache}",
            f"--keras-cells={','.join(cells)}",
            f"--keras-jobs={jobs}",
            f"--keras-report-json={report}",
            "-p",
            "no:cacheprovider",
        ]
        seconds, status, log = bench.run(argv, slug(label), env)
        rejected = sweep_rejection(report, cells, status)
        return seconds, rejected and f"{rejected}; log {log}"

    return side


def slug(label: str) -> str:
    return "".join(c if c.isalnum() or c in ".-" else "-" for c in label).strip("-")


# ------------------------------------------------------------------- the floor


def floor_side(bench: Bench, plans: list[CellPlan], cache: Path) -> Side:
    """Each cell's bare interpreter importing TensorFlow and Keras and running the probe
    bodies, leaving with ``os._exit``; summed over cells."""
    probes = bench.workdir / "floor-probes"
    shutil.copytree(PROBES, probes, dirs_exist_ok=True)
    (probes / "floor.py").write_text(FLOOR_SCRIPT)

    def side(label: str) -> tuple[float, str | None]:
        total = 0.0
        for plan in plans:
            location = find_ready(envdir_for(cache, plan), plan)
            if location is None:
                return 0.0, f"{plan.name} is not built"
            env = {**bytecode_env(plan, location, os.environ), **plan.env}
            env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
            env["PYTHONPATH"] = str(probes)
            argv = [str(venv_python(location)), str(probes / "floor.py"), plan.spec.keras_module]
            seconds, status, log = bench.run(argv, slug(f"{label}-{plan.name}"), env)
            if status != 0:
                return 0.0, f"{plan.name} exited {status}; log {log}"
            total += seconds
        return total, None

    return side


# ------------------------------------------------------------------- one cold build


def bare_build(bench: Bench, plan: CellPlan, with_import: bool) -> Side:
    """``uv venv`` + plain ``uv pip install`` (no bytecode compiled), then optionally the
    first ``import tensorflow`` (which writes its bytecode next to the modules)."""

    def side(label: str) -> tuple[float, str | None]:
        target = bench.workdir / "bare-venv"
        shutil.rmtree(target, ignore_errors=True)
        started = time.perf_counter()
        for argv in (
            ["uv", "venv", "-q", "-p", str(plan.executable), str(target)],
            [
                "uv",
                "pip",
                "install",
                "-q",
                "--python",
                str(target / "bin" / "python"),
                *plan.install_arguments,
            ],
        ):
            _, status, log = bench.run(argv, slug(label))
            if status != 0:
                return 0.0, f"{argv[:3]} exited {status}; log {log}"
        if with_import:
            env = {**os.environ, **plan.env, "TF_CPP_MIN_LOG_LEVEL": "2"}
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            argv = [str(target / "bin" / "python"), "-c", "import tensorflow"]
            _, status, log = bench.run(argv, slug(f"{label}-import"), env)
            if status != 0:
                return 0.0, f"import exited {status}; log {log}"
        return time.perf_counter() - started, None

    return side


def our_build(bench: Bench, plan: CellPlan, with_import: bool) -> Side:
    """The plugin's own build path (nox session, uv, ready marker) into an empty cache,
    then optionally the first ``import tensorflow`` as a worker runs it (bytecode written
    into the environment on first use)."""

    def side(label: str) -> tuple[float, str | None]:
        cache = bench.workdir / "build-cache"
        shutil.rmtree(cache, ignore_errors=True)
        settings = SweepSettings(
            cache_dir=cache,
            run_dir=bench.workdir / "build-run",
            mode="probes",
            cwd=bench.workdir,
        )
        settings.run_dir.mkdir(parents=True, exist_ok=True)
        write_plan_file([plan], settings)
        started = time.perf_counter()
        try:
            location, _ = ensure_environment(
                plan,
                cache_dir=cache,
                plan_file=settings.plan_file,
                log=bench.log(slug(label)),
                cwd=bench.workdir,
            )
        except Exception as error:  # a rejected run, reported
            return 0.0, f"build failed: {error}"
        if with_import:
            env = {**bytecode_env(plan, location, os.environ), **plan.env}
            env["TF_CPP_MIN_LOG_LEVEL"] = "2"
            argv = [str(venv_python(location)), "-c", "import tensorflow"]
            _, status, log = bench.run(argv, slug(f"{label}-import"), env)
            if status != 0:
                return 0.0, f"import exited {status}; log {log}"
        return time.perf_counter() - started, None

    return side


# ------------------------------------------------------------------- the pip noxfile


def write_baseline(bench: Bench, plans: list[CellPlan]) -> Path:
    probes, junit = bench.workdir / "baseline-probes", bench.workdir / "baseline-junit"
    cells = [
        {
            "name": plan.name,
            "install": list(plan.install_arguments),
            "env": {**plan.env, **({"BASELINE_STANDALONE_KERAS": "1"} if plan.spec.keras else {})},
            "python": plan.executable,
        }
        for plan in plans
    ]
    noxfile = BASELINE_NOXFILE.format(cells=json.dumps(cells), probes=str(probes), junit=str(junit))
    path = bench.workdir / "noxfile.py"
    path.write_text(textwrap.dedent(noxfile))
    shutil.copytree(PROBES, probes, dirs_exist_ok=True)
    (probes / "conftest.py").write_text(BASELINE_CONFTEST)
    (probes / "pytest.ini").write_text("[pytest]\nmarkers =\n    keras_compat: probe\n")
    return path


def baseline_rejection(bench: Bench, cells: list[str], statuses: list[int]) -> str | None:
    if any(statuses):
        return f"nox exited {statuses}"
    wanted = probe_names()
    for cell in cells:
        path = bench.workdir / "baseline-junit" / f"{cell}.xml"
        try:
            cases = ElementTree.parse(path).getroot().iter("testcase")
        except (OSError, ElementTree.ParseError) as error:
            return f"no JUnit XML for {cell} ({error})"
        missing = wanted - {case.get("name", "") for case in cases}
        if missing:
            return f"{cell} ran no {', '.join(sorted(missing))}"
    return None


def baseline(
    bench: Bench,
    noxfile: Path,
    envdir: Path,
    cells: list[str],
    jobs: int,
    *,
    warm: bool,
    env: dict[str, str] | None = None,
) -> Side:
    """The noxfile's sessions split round-robin over ``jobs`` nox processes at once;
    ``warm`` reuses the environments (``nox -R``), cold starts from none."""
    groups = [cells[start::jobs] for start in range(jobs) if cells[start::jobs]]

    def side(label: str) -> tuple[float, str | None]:
        if not warm:
            shutil.rmtree(envdir, ignore_errors=True)
        shutil.rmtree(bench.workdir / "baseline-junit", ignore_errors=True)
        started = time.perf_counter()
        processes = []
        for number, group in enumerate(groups):
            argv = [
                sys.executable,
                "-m",
                "nox",
                "-f",
                str(noxfile),
                "--envdir",
                str(envdir),
                "--sessions",
                *(f"probes({cell})" for cell in group),
                *(["-R"] if warm else []),
            ]
            processes.append(bench.start(argv, slug(f"{label}-{number}"), env))
        statuses = [process.wait() for process, _ in processes]
        seconds = time.perf_counter() - started
        rejected = baseline_rejection(bench, cells, statuses)
        logs = ", ".join(str(log) for _, log in processes)
        return seconds, rejected and f"{rejected}; logs {logs}"

    return side


def our_cold(
    bench: Bench,
    matrix: Path,
    cache: Path,
    cells: list[str],
    jobs: int,
    env: dict[str, str] | None = None,
    whole: bool = False,
) -> Side:
    """A sweep after its environments are deleted (``whole``: its whole cache, index too)."""
    sweep = our_sweep(bench, matrix, cache, cells, jobs, env)

    def side(label: str) -> tuple[float, str | None]:
        shutil.rmtree(cache if whole else cache / "envs", ignore_errors=True)
        return sweep(label)

    return side


def emptied(caches: Path, side: Side) -> Side:
    """``side`` run each time with ``caches`` (the download caches it is given) emptied."""

    def run(label: str) -> tuple[float, str | None]:
        shutil.rmtree(caches, ignore_errors=True)
        return side(label)

    return run


# ------------------------------------------------------------------- plugin load


def plugin_load(bench: Bench, rounds: int) -> tuple[Series, Series, list[float]]:
    test = bench.workdir / "plain" / "test_plain.py"
    test.parent.mkdir(exist_ok=True)
    test.write_text("def test_plain():\n    pass\n")
    base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)]
    loaded, bare = Series("plain pytest run with the plugin"), Series("without (-p no:kerascompat)")
    for number in range(rounds + 1):
        with_seconds, status_a, _ = bench.run(base, "plain-with-plugin", cwd=test.parent)
        without_seconds, status_b, _ = bench.run(
            [*base, "-p", "no:kerascompat"], "plain-without", cwd=test.parent
        )
        if number and status_a == status_b == 0:  # the first round is untimed
            loaded.values.append(with_seconds * 1000)
            bare.values.append(without_seconds * 1000)
    differences = [a - b for a, b in zip(loaded.values, bare.values)]
    return loaded, bare, differences


# ------------------------------------------------------------------- main


def plans_for(matrix: Path, cache: Path, cells: list[str] | None) -> list[CellPlan]:
    loaded = load_matrix(matrix)
    if cells:
        loaded = loaded.select(cells)
    plans = plan_matrix(loaded, PlanOptions(probes=True), index=PackageIndex(cache))
    return [plan for plan in plans if plan.executable]


def version_tuple(text: str | None) -> tuple[int, ...]:
    return tuple(int(part) for part in (text or "0").split(".")[:2])


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(  # noqa: S603
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False
        ).stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no")
    return (git("rev-parse", "--short", "HEAD") or "unknown") + (
        " with uncommitted changes" if dirty else ""
    )


def ratio(
    name: str, definition: str, top: Series, bottom: Series, target: tuple[str, float] | None
) -> Figure:
    value = top.median / bottom.median if top.values and bottom.values else float("nan")
    return Figure(name, definition, value, target, [top, bottom])


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--matrix", type=Path, default=ROOT / "matrix.yaml")
    parser.add_argument("--cells", help="comma-separated cells (default: every usable one)")
    parser.add_argument(
        "--figures",
        default=",".join(FIGURES),
        help=f"comma-separated, from {', '.join(FIGURES + OPT_IN_FIGURES)} (default: all "
        "but the opt-in baseline-cold-downloads)",
    )
    parser.add_argument("--runs", type=int, default=3, help="valid runs per side (default 3)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=default_jobs(),
        help="the parallel figure's --keras-jobs (default: the sweep's default)",
    )
    parser.add_argument("--build-cell", default="tf2.15", help="the cell of the build figures")
    parser.add_argument(
        "--cold-downloads",
        action="store_true",
        help="also the baseline with both download caches empty (downloads gigabytes per run)",
    )
    parser.add_argument("--workdir", type=Path, help="default: a new temporary directory")
    args = parser.parse_args()
    args.figures = [name for name in args.figures.split(",") if name]
    if args.cold_downloads and "baseline-cold-downloads" not in args.figures:
        args.figures.append("baseline-cold-downloads")
    unknown = set(args.figures) - set(FIGURES + OPT_IN_FIGURES)
    if unknown:
        parser.error(f"unknown figures: {', '.join(sorted(unknown))}")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main() -> None:
    args = parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="kerascompat-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    bench = Bench(workdir)
    cache = workdir / "cache"
    matrix = args.matrix.resolve()
    plans = plans_for(matrix, cache, args.cells.split(",") if args.cells else None)
    names = [plan.name for plan in plans]
    paired = [plan for plan in plans if version_tuple(plan.python) >= (3, 9)]
    paired_names = [plan.name for plan in paired]
    jobs = sorted({1, args.jobs})
    print(
        f"commit {commit()}; {os.cpu_count()} CPUs; default --keras-jobs {default_jobs()}; "
        f"--runs {args.runs}",
        flush=True,
    )
    print(f"cells: {', '.join(names)}; paired with the pip noxfile: {', '.join(paired_names)}")
    print(f"figures: {', '.join(args.figures)}; work dir: {workdir}\n", flush=True)
    figures: list[Figure] = []

    if "floor" in args.figures:
        print("floor: building the environments (untimed)", flush=True)
        our_sweep(bench, matrix, cache, names, args.jobs)("build")
        sides = {"floor": floor_side(bench, plans, cache)}
        for count in jobs:
            sides[f"sweep --keras-jobs {count}"] = our_sweep(bench, matrix, cache, names, count)
        series = alternate(args.runs, sides)
        for count in jobs:
            figures.append(
                ratio(
                    f"warm sweep --keras-jobs {count} / floor ({len(names)} cell(s))",
                    f"a warm `pytest --keras-matrix --keras-probes --keras-jobs {count}` against, "
                    "for each cell in turn, its bare interpreter importing TensorFlow and Keras, "
                    "calling every probe and leaving with os._exit, summed",
                    series[f"sweep --keras-jobs {count}"],
                    series["floor"],
                    ("<=", 1.15 if count == 1 else 0.75),
                )
            )

    build_plan = next((plan for plan in plans if plan.name == args.build_cell), None)
    if "build" in args.figures and build_plan is None:
        print(f"build: cell {args.build_cell} is not among the cells; skipped\n")
    elif "build" in args.figures:
        assert build_plan is not None
        for with_import in (False, True):
            extra = " + first import" if with_import else ""
            print(f"build{extra}: {build_plan.name}", flush=True)
            series = alternate(
                args.runs,
                {
                    f"plain uv pip install{extra}": bare_build(bench, build_plan, with_import),
                    f"our build{extra}": our_build(bench, build_plan, with_import),
                },
            )
            definition = (
                "the plugin's build of one cell (nox session, uv, ready marker) into an empty "
                "cache against `uv venv` + plain `uv pip install` (no --compile-bytecode) of "
                "the same requirements, uv's download cache warm on both"
            )
            if with_import:
                definition += (
                    "; each followed by its first `import tensorflow` (which "
                    "writes the bytecode on both sides)"
                )
            figures.append(
                ratio(
                    f"cold build{extra} of {build_plan.name} / plain uv pip install{extra}",
                    definition,
                    series[f"our build{extra}"],
                    series[f"plain uv pip install{extra}"],
                    None,
                )
            )

    baseline_figures = [name for name in args.figures if name.startswith("baseline-")]
    if baseline_figures and not paired:
        print("pip noxfile: no cell both tools can build; skipped\n")
    elif baseline_figures:
        noxfile = write_baseline(bench, paired)
        envdir = workdir / "nox-envs"
        if "baseline-warm" in baseline_figures or "baseline-cold" in baseline_figures:
            print(
                "pip noxfile: filling pip's cache and both sides' environments (untimed)",
                flush=True,
            )
            baseline(bench, noxfile, envdir, paired_names, 1, warm=False)("fill")
            our_sweep(bench, matrix, cache, paired_names, args.jobs)("fill")
        for count in jobs:
            if "baseline-warm" in baseline_figures:
                print(f"pip noxfile warm, {count} job(s)", flush=True)
                series = alternate(
                    args.runs,
                    {
                        "pip noxfile": baseline(
                            bench, noxfile, envdir, paired_names, count, warm=True
                        ),
                        "sweep": our_sweep(bench, matrix, cache, paired_names, count),
                    },
                )
                figures.append(
                    ratio(
                        f"pip noxfile warm / sweep warm, {count} job(s) ({len(paired)} cell(s))",
                        "both with their environments built (`nox -R`; a repeated sweep), "
                        f"{count} job(s) each",
                        series["pip noxfile"],
                        series["sweep"],
                        (">=", 1.5),
                    )
                )
            if "baseline-cold" in baseline_figures:
                print(f"pip noxfile cold, {count} job(s)", flush=True)
                series = alternate(
                    args.runs,
                    {
                        "pip noxfile": baseline(
                            bench, noxfile, envdir, paired_names, count, warm=False
                        ),
                        "sweep": our_cold(
                            bench, matrix, workdir / "cold-cache", paired_names, count
                        ),
                    },
                )
                figures.append(
                    ratio(
                        f"pip noxfile cold / sweep cold, {count} job(s) ({len(paired)} cell(s))",
                        "both building every environment from none, pip's and uv's download "
                        f"caches warm, {count} job(s) each",
                        series["pip noxfile"],
                        series["sweep"],
                        (">=", 3.0),
                    )
                )
            if "baseline-cold-downloads" in baseline_figures:
                print(f"pip noxfile cold, download caches empty, {count} job(s)", flush=True)
                empty = workdir / "empty-caches"
                env = {
                    **os.environ,
                    "UV_CACHE_DIR": str(empty / "uv"),
                    "PIP_CACHE_DIR": str(empty / "pip"),
                }

                series = alternate(
                    args.runs,
                    {
                        "pip noxfile": emptied(
                            empty,
                            baseline(
                                bench, noxfile, envdir, paired_names, count, warm=False, env=env
                            ),
                        ),
                        "sweep": emptied(
                            empty,
                            our_cold(
                                bench,
                                matrix,
                                workdir / "cold-dl-cache",
                                paired_names,
                                count,
                                env,
                                whole=True,
                            ),
                        ),
                    },
                )
                figures.append(
                    ratio(
                        f"pip noxfile / sweep, all cold, {count} job(s) ({len(paired)} cell(s))",
                        "both building every environment with pip's and uv's download caches "
                        f"empty (every wheel downloaded), {count} job(s) each",
                        series["pip noxfile"],
                        series["sweep"],
                        (">=", 3.0),
                    )
                )

    if "plugin" in args.figures:
        print("plugin load", flush=True)
        loaded, bare, differences = plugin_load(bench, max(PLUGIN_ROUNDS, args.runs))
        spread = Series("with - without", differences)
        figures.append(
            Figure(
                "plugin load on a plain pytest run (ms)",
                "a plain one-test `pytest` run with the plugin installed minus the same run "
                "without it (`-p no:kerascompat`), the two alternating: median of the differences",
                spread.median,
                ("<", 30.0),
                [loaded, bare, spread],
                unit="ms",
            )
        )

    print(f"\nfigures (commit {commit()}; median of {args.runs} valid runs per side):")
    for figure in figures:
        unit = "" if figure.unit == "x" else f" {figure.unit}"
        print(f"\n  {figure.name}: {figure.value:.2f}{unit}  {figure.verdict()}")
        print(f"    = {figure.definition}")
        for side in figure.sides:
            print(f"    {side.describe('ms' if figure.unit == 'ms' else 's')}")
            for reason in side.rejected:
                print(f"      rejected: {reason}")
    print(f"\nlogs: {bench.logs}")


if __name__ == "__main__":
    main()
