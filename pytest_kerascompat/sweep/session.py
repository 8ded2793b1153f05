"""The pytest side of a sweep: no local collection, one report per square, one table.

Registered on the plugin manager like pytest-xdist's ``DSession``: it takes over
collection and the test loop, forwards every square to pytest as a test report under
the square's own id (so ``-v``, ``-r``, ``--lf``, ``--durations``, JUnit, the summary
line and the exit status work as usual), and renders the table in the terminal summary.
With pytest-xdist's ``-n N`` it runs N cells at a time itself and xdist starts no
workers: a sweep is already parallel, and must run once.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from pytest_kerascompat.cell.protocol import (
    MODE_ALL,
    MODE_BOTH,
    MODE_NAMED,
    MODE_PROBES,
    MODE_USER,
    PROBE_PREFIX,
)
from pytest_kerascompat.config.matrix import Matrix, MatrixError, load_matrix
from pytest_kerascompat.config.options import REBUILD_ALL, Settings
from pytest_kerascompat.env.environments import default_cache_dir, release_holds
from pytest_kerascompat.model.import_failures import spread_import_failures
from pytest_kerascompat.model.notes import Note, plural, pytest_report
from pytest_kerascompat.model.provenance import RunInfo, command_selection
from pytest_kerascompat.model.results import CellReport, Outcome, Report, Result
from pytest_kerascompat.plan.index import PackageIndex
from pytest_kerascompat.plan.plans import CellPlan, PlanOptions, plan_matrix
from pytest_kerascompat.report import ReportsNotWritten, write_report, write_reports
from pytest_kerascompat.report.terminal import write_table
from pytest_kerascompat.sweep._budget import FailureBudget
from pytest_kerascompat.sweep._fingerprint import run_identity
from pytest_kerascompat.sweep._progress import fit_line
from pytest_kerascompat.sweep._rundirs import new_run_dir, report_file, resumable_cells
from pytest_kerascompat.sweep._selection import (
    Selection,
    failed_squares,
    rerun_failed,
    select,
    split_square_id,
    square_id,
)
from pytest_kerascompat.sweep._signals import PLUGIN_NAME as SIGTERM_PLUGIN_NAME
from pytest_kerascompat.sweep._signals import TerminateAsInterrupt
from pytest_kerascompat.sweep._writable import (
    IN_RUNS,
    before_cells,
    check_writable,
    unwritten_lines,
)
from pytest_kerascompat.sweep.controller import (
    CellFinished,
    CellNotStarted,
    CellProgress,
    NothingMarked,
    SweepSettings,
    default_jobs,
    run_sweep,
)

PLUGIN_NAME = "kerascompat-matrix"
#: pytest's own categories (so ``-r``, FAILURES and the summary line count them), with
#: our word and letter in the progress and ``-v`` lines.
STATUS_WORDS = {
    Outcome.DEPRECATED: ("passed", "D", "DEPRECATED", {"yellow": True}),
    Outcome.REMOVED: ("failed", "R", "REMOVED", {"red": True}),
    Outcome.TIMEOUT: ("failed", "T", "TIMEOUT", {"red": True}),
    Outcome.CRASHED: ("failed", "C", "CRASHED", {"red": True}),
}
PYTEST_OUTCOME = {
    Outcome.PASSED: "passed",
    Outcome.DEPRECATED: "passed",
    Outcome.XPASSED: "passed",
    Outcome.SKIPPED: "skipped",
    Outcome.XFAILED: "skipped",
}


def start_matrix_session(config: pytest.Config, settings: Settings) -> None:
    """Validate the matrix now, so a mistake is a usage error before anything runs."""
    if hasattr(config, "workerinput"):
        return  # an xdist worker: the controlling process sweeps (none start, see below)
    jobs = take_over_xdist(config)
    if jobs and not settings.jobs:
        settings = dataclasses.replace(settings, jobs=jobs)
    try:
        matrix = load_matrix(settings.matrix_file)
        every_cell = [cell.name for cell in matrix.cells]
        if settings.cells:
            matrix = matrix.select(settings.cells)
    except MatrixError as error:
        raise pytest.UsageError(str(error)) from None
    check_writable(
        settings,
        Path(config.rootpath),
        settings.cache_dir or default_cache_dir(),
        reports=not config.option.collectonly,
    )
    check_rebuild(settings.rebuild, matrix.path, every_cell)
    chosen = choose_squares(config, every_cell, [cell.name for cell in matrix.cells])
    matrix = matrix.select([c.name for c in matrix.cells if chosen.selection.keeps(c.name)])
    config.pluginmanager.register(MatrixSession(config, settings, matrix, chosen), PLUGIN_NAME)
    config.pluginmanager.register(TerminateAsInterrupt(), SIGTERM_PLUGIN_NAME)


def check_rebuild(names: Sequence[str], matrix_file: Path, cells: Sequence[str]) -> None:
    """``--keras-rebuild=CELL`` naming no cell would rebuild nothing, silently."""
    unknown = [name for name in names if name not in cells and tuple(names) != REBUILD_ALL]
    if unknown:
        raise pytest.UsageError(
            f"{matrix_file}: --keras-rebuild names {', '.join(map(repr, unknown))}, which is "
            f"not a cell here; cells: {', '.join(cells)} (or --keras-rebuild alone for all)"
        )


def take_over_xdist(config: pytest.Config) -> int | None:
    """pytest-xdist's ``-n N``: N cells at a time here, and no xdist workers at all.

    Each xdist worker would run the whole sweep again. xdist turns ``-n`` into
    ``--tx`` in ``pytest_cmdline_main`` and starts its ``DSession`` in a ``trylast``
    ``pytest_configure``, after this one: clearing ``dist`` and ``tx`` here leaves it
    nothing to start. ``-n auto`` has been turned into a number by then.
    """
    if getattr(config.option, "tx", None) is None:
        return None  # pytest-xdist is not installed
    numprocesses = getattr(config.option, "numprocesses", None)
    config.option.dist, config.option.tx = "no", []
    return numprocesses if isinstance(numprocesses, int) and numprocesses > 0 else None


@dataclasses.dataclass(frozen=True)
class Chosen:
    """The squares the command line asks for: by cell, and which run first."""

    selection: Selection
    first: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    note: str | None = None


def choose_squares(
    config: pytest.Config, cells: Sequence[str], selected: Sequence[str] | None = None
) -> Chosen:
    """Paths and square ids from the command line, narrowed by ``--lf`` or ordered by
    ``--ff`` from pytest's ``cache/lastfailed`` (which our reports fill).

    Ids are read against every cell of the matrix, so one naming a cell that
    ``--keras-cells`` leaves out stays that cell's (and does not run) instead of
    reaching the other cells as a path; ``--lf`` looks only at the ``selected`` cells.
    """
    selection = select([str(arg) for arg in config.args], cells)
    for cell, tests in selection.per_cell.items():
        probe = next((test for test in tests if test.startswith(PROBE_PREFIX)), None)
        if probe is not None:
            raise pytest.UsageError(
                f"{square_id(probe, cell)} is a built-in probe's square, which cannot be "
                f"chosen by its id: run the probes in that cell with "
                f"--keras-probes --keras-cells={cell}"
            )
    option = config.option
    lf, ff = getattr(option, "lf", False), getattr(option, "failedfirst", False)
    cache = getattr(config, "cache", None)
    if not (lf or ff) or cache is None:
        return Chosen(selection)
    failed = failed_squares(cache.get("cache/lastfailed", {}), selected or cells)
    rootdir, cwd = Path(config.rootpath), Path(config.invocation_params.dir)
    rerun = rerun_failed(selection, failed, rootdir, cwd)
    if rerun is None:
        if lf and getattr(option, "last_failed_no_failures", "all") == "none":
            return Chosen(Selection(cells=()), note="--lf: no square failed last time; none run")
        return Chosen(selection, note="--lf/--ff: no square failed last time; running them all")
    count = sum(len(tests) for tests in rerun.per_cell.values())
    where = f"{plural(count, 'square')} that failed last time, in {', '.join(rerun.per_cell)}"
    if lf:
        return Chosen(rerun, note=f"--lf: rerunning the {where}")
    first = {cell: failed_ids(tests, rootdir) for cell, tests in rerun.per_cell.items()}
    return Chosen(selection, first=first, note=f"--ff: running first the {where}")


def failed_ids(tests: Sequence[str], rootdir: Path) -> tuple[str, ...]:
    """Node ids as the worker's items have them (relative to the rootdir)."""
    prefix = f"{rootdir}{os.sep}"
    return tuple(test[len(prefix) :] if test.startswith(prefix) else test for test in tests)


class MatrixSession:
    """One sweep, as pytest sees it: registered only under ``--keras-matrix``."""

    def __init__(
        self, config: pytest.Config, settings: Settings, matrix: Matrix, chosen: Chosen
    ) -> None:
        self.config, self.settings, self.matrix, self.chosen = config, settings, matrix, chosen
        self.budget = FailureBudget(config.option.maxfail or 0)
        self.not_started: list[str] = []
        #: ``-q`` letters written on a line that no stage line has ended yet.
        self.letters_pending = False
        self.collected: dict[str, tuple[str, ...]] = {}
        self.cache_dir = settings.cache_dir or default_cache_dir()
        self.jobs = settings.jobs or default_jobs()
        self.report = Report(run=RunInfo.start(command_selection(config, matrix), config.rootpath))
        #: Why the sweep stopped at the first cell: it collected tests, none marked.
        self.nothing_marked: str | None = None
        self.written: list[Path] = []
        #: Reports that could not be written after the sweep, with why.
        self.unwritten: list[tuple[Path, OSError]] = []
        #: This sweep's run directory, once it has one.
        self.run_dir: Path | None = None
        self.progress = StatusLine(config)

    @property
    def mode(self) -> str:
        """Probes alone unless test paths were given too; marked tests unless all are asked."""
        if self.settings.probes and not self.config.option.file_or_dir:
            return MODE_PROBES
        if self.settings.all_tests:
            return MODE_ALL if self.settings.probes else MODE_NAMED
        return MODE_BOTH if self.settings.probes else MODE_USER

    def header(self) -> str:
        return (
            f"kerascompat: {self.matrix.path} ({len(self.matrix.cells)} cells), "
            f"{self.jobs} at a time, environments in {self.cache_dir}"
        )

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """No ``[ NN%]`` after each square, as with ``console_output_style = classic``:
        the total is known only once every cell has collected, so any figure shown
        before the end (pytest's would be 100% from the first cell on) claims too much."""
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None and hasattr(reporter, "_show_progress_info"):
            reporter._show_progress_info = False

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> bool:
        """Tests are collected inside each cell, where their imports work."""
        return True

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        if self.chosen.note:
            self.write_progress("matrix", self.chosen.note)
        plans = self.plan()
        collect_only = bool(session.config.option.collectonly)
        if collect_only:
            self.write_plans(plans)
        events = run_sweep(plans, self.sweep_settings(plans))  # a usage error: no table
        try:
            for event in events:
                self.handle(event)
        except NothingMarked as nothing:
            self.nothing_marked = str(nothing)
        finally:
            events.close()  # the cells stop (if this hook failed) before their holds go
            release_holds()
            # Written even when interrupted: the finished cells are not lost.
            self.add_import_failures()
            self.report.sort([plan.name for plan in plans])
            if self.report.run is not None:
                self.report.run.finish()
            if not collect_only:
                try:
                    self.written = self.write_reports()
                except ReportsNotWritten as error:
                    self.written, self.unwritten = error.written, error.failures
                except OSError as error:
                    self.unwritten = [(Path(error.filename or "report"), error)]
        session.testscollected = len(self.report.results)
        session.testsfailed = len(self.report.failing_results) + len(self.report.broken_cells)
        if collect_only:
            self.list_squares(session, [plan.name for plan in plans])
        if self.nothing_marked:  # no squares, so pytest exits 5 (no tests collected)
            session.shouldfail = self.nothing_marked
        elif self.budget.spent():
            session.shouldfail = self.stop_message()
        elif self.unwritten:  # the table is shown; the run fails (exit 1): a report is missing
            session.shouldfail = f"{plural(len(self.unwritten), 'report')} could not be written"
            session.testsfailed += len(self.unwritten)
        return True

    def handle(self, event: CellProgress | CellFinished | CellNotStarted) -> None:
        if isinstance(event, CellProgress) and event.transient:
            self.progress.update(event.cell, event.message)
        elif isinstance(event, CellProgress):
            self.write_progress(event.cell, event.message)
        elif isinstance(event, CellFinished):
            self.progress.finish(event.report.name)
            self.collected[event.report.name] = event.collected
            self.record(event.report, event.results)
            self.progress.show(after_output=True)
        else:
            self.not_started.append(event.cell)
            self.write_progress(event.cell, "not started: -x/--maxfail was reached")

    def stop_message(self) -> str:
        """What pytest prints between ``!`` lines when ``-x``/``--maxfail`` stopped the run."""
        text = (
            f"stopping after {plural(self.budget.failures, 'failing square')} "
            f"(--maxfail={self.budget.maxfail}): the sweep stopped every cell"
        )
        if self.not_started:
            text += f"; not started: {', '.join(sorted(self.not_started))}"
        return text

    def list_squares(self, session: pytest.Session, cells: Sequence[str]) -> None:
        """``--collect-only``: every square each cell collected, through pytest's own
        collection reporting (``-q`` prints ids, the count and exit status follow)."""
        items: list[pytest.Item | pytest.Collector] = [
            Square.from_parent(session, name=nodeid, nodeid=nodeid)
            for cell in cells
            for nodeid in (square_id(test, cell) for test in self.collected.get(cell, ()))
        ]
        session.items = [item for item in items if isinstance(item, pytest.Item)]
        session.testscollected = len(items)
        self.config.hook.pytest_collectreport(
            report=pytest.CollectReport("", "passed", None, items)
        )
        self.config.hook.pytest_collection_finish(session=session)

    def plan(self) -> list[CellPlan]:
        self.write_progress("matrix", "finding interpreters and resolving cells")
        index = PackageIndex(self.cache_dir)
        plans = plan_matrix(
            self.matrix,
            PlanOptions(probes=self.settings.probes, pins=self.settings.pins),
            index=index,
        )
        if index.cache_problem:  # the plans are whole: only the next sweep asks again
            self.write_progress("matrix", index.cache_problem)
        return plans

    def write_plans(self, plans: list[CellPlan]) -> None:
        """``--collect-only`` shows the plan of each cell before building it: listing a
        cell's squares takes its environment and TensorFlow, as its tests import them."""
        for plan in plans:
            where = (
                f"Python {plan.python} ({plan.executable})" if plan.executable else "no interpreter"
            )
            pins = f"; pins {', '.join(plan.pins)}" if plan.pins else ""
            self.write_progress(plan.name, f"{where}: {', '.join(plan.shown_requirements)}{pins}")
            if not plan.executable:
                self.write_progress(plan.name, plan.python_note)

    def sweep_settings(self, plans: list[CellPlan]) -> SweepSettings:
        rootdir = Path(self.config.rootpath)
        runs_dir = rootdir / ".kerascompat" / "runs"
        settings = SweepSettings(
            cache_dir=self.cache_dir,
            run_dir=self.new_run_dir(runs_dir),
            mode=self.mode,
            cwd=Path(self.config.invocation_params.dir),
            user_args=forwarded_options(self.config, self.cells) + self.chosen.selection.common,
            jobs=self.jobs,
            timeout=self.settings.timeout,
            rootdir=rootdir,
            inifile=Path(self.config.inipath) if self.config.inipath else None,
            report_args=report_args(self.config),
            cell_args=self.cell_args(plans),
            first=self.chosen.first,
            budget=self.budget,
            collect_only=bool(self.config.option.collectonly),
            rebuild=self.settings.rebuild,
            identity=self.identity(plans),
        )
        self.run_dir = settings.run_dir
        if not self.settings.resume:
            return settings
        resumption = resumable_cells(
            runs_dir, settings.run_dir, plans, settings.selection, settings.identity
        )
        for cell, note in resumption.notes:
            self.write_progress(cell, note)
        return dataclasses.replace(settings, resume_from=resumption.cells)

    @staticmethod
    def new_run_dir(runs_dir: Path) -> Path:
        """The disk filled or permissions changed since the check: a usage error."""
        with before_cells("create this run's directory", runs_dir, IN_RUNS):
            return new_run_dir(runs_dir)

    def identity(self, plans: list[CellPlan]) -> dict[str, Any]:
        """What the squares depend on besides their plans: the sources under the rootdir
        and the project (and the ini file), the time limit, the tool. The files the sweep
        writes itself (reports, the cache) are not sources."""
        rootdir = Path(self.config.rootpath).resolve()
        extra = [Path(plan.project.partition("[")[0]) for plan in plans[:1] if plan.project]
        if self.config.inipath:
            extra.append(Path(self.config.inipath))
        roots = [rootdir, *(path for path in extra if not path.resolve().is_relative_to(rootdir))]
        written = [path for path in self.settings.report_destinations.values() if path]
        return run_identity(
            roots,
            skip=[*written, self.cache_dir, rootdir / ".kerascompat"],
            options={"timeout": self.settings.timeout},
        )

    def write_reports(self) -> list[Path]:
        """Every report asked for, and this run's own JSON in its run directory.

        Two sweeps in one project each keep their own report; the default ``report.json``
        is replaced whole (atomically) by whichever finishes last, never half-written.
        """
        own: list[Path] = []
        failures: list[tuple[Path, OSError]] = []
        if self.run_dir is not None:
            try:
                write_report(self.report, "json", report_file(self.run_dir))
            except OSError as error:
                failures.append((report_file(self.run_dir), error))
            else:
                own.append(report_file(self.run_dir))
        try:
            written = write_reports(self.report, self.settings.report_destinations)
        except ReportsNotWritten as error:
            raise ReportsNotWritten(error.written + own, error.failures + failures) from None
        if failures:
            raise ReportsNotWritten(written + own, failures)
        return written + own

    @property
    def cells(self) -> list[str]:
        return [cell.name for cell in self.matrix.cells]

    def cell_args(self, plans: list[CellPlan]) -> dict[str, tuple[str, ...]]:
        """Arguments for the cells a square id (or ``--deselect`` of one) names."""
        selection = self.chosen.selection
        deselected = cell_deselections(self.config, self.cells)
        return {
            plan.name: forwarded_options(self.config, self.cells, plan.name)
            + selection.args_for(plan.name)
            for plan in plans
            if plan.name in selection.per_cell or plan.name in deselected
        }

    def write_progress(self, cell: str, message: str) -> None:
        """One line per stage of a cell: plain text, readable in any CI log."""
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            self.progress.clear()
            reporter.ensure_newline()
            if self.letters_pending:
                reporter.write("\n")
                self.letters_pending = False
            reporter.write_line(f"[{cell}] {message}")
            self.progress.show()

    def record(self, cell: CellReport, results: list[Result]) -> None:
        self.report.cells.append(cell)
        self.report.results.extend(results)
        for result in results:
            self.log_square(result, cell.worker_log)
        # -q writes each square's letter with no file name before it, so pytest's
        # ensure_newline() would not end that line before the next stage line.
        self.letters_pending = bool(results) and self.config.get_verbosity() < 0

    def log_square(self, result: Result, log: str | None) -> None:
        report, hook = test_report(result, log), self.config.hook
        hook.pytest_runtest_logstart(nodeid=report.nodeid, location=report.location)
        hook.pytest_runtest_logreport(report=report)
        hook.pytest_runtest_logfinish(nodeid=report.nodeid, location=report.location)

    def add_import_failures(self) -> None:
        """Once every cell is done: in a cell where a test module failed to import, the
        tests other cells collected from it get its square, reported as every square is."""
        logs = {cell.name: cell.worker_log for cell in self.report.cells}
        for result in spread_import_failures(self.report):
            self.log_square(result, logs.get(result.cell))

    def pytest_report_teststatus(
        self, report: pytest.TestReport, config: pytest.Config
    ) -> tuple[str, str, Any] | None:
        outcome = getattr(report, "kerascompat_outcome", None)
        if outcome is None or Outcome(outcome) not in STATUS_WORDS:
            return None
        category, letter, word, markup = STATUS_WORDS[Outcome(outcome)]
        return category, letter, (word, markup)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.config.option.collectonly:
            return  # the squares are listed; a table would have only empty ones
        write_table(terminalreporter, self.report)
        for path in self.written:
            own = self.run_dir is not None and path == report_file(self.run_dir)
            terminalreporter.write_line(f"{'this run' if own else 'report'}: {path}")
        for line in unwritten_lines(self.unwritten):
            terminalreporter.write_line(line, red=True, bold=True)


class StatusLine:
    """On a terminal, one line rewritten in place with where each running cell is.

    Nothing is drawn when the output is not a terminal, so CI logs hold only the
    plain stage lines and no control codes.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.cells: dict[str, str] = {}
        self.drawn = False

    @property
    def reporter(self) -> Any:
        """Looked up when drawing: the terminal reporter registers after this plugin."""
        return self.config.pluginmanager.get_plugin("terminalreporter")

    @property
    def enabled(self) -> bool:
        reporter = self.reporter
        return reporter is not None and reporter.isatty() and reporter.verbosity >= 0

    def update(self, cell: str, text: str) -> None:
        self.cells[cell] = text
        self.show()

    def finish(self, cell: str) -> None:
        self.cells.pop(cell, None)
        self.clear()

    def show(self, *, after_output: bool = False) -> None:
        if self.enabled and self.cells:
            if after_output:
                self.reporter.ensure_newline()
            self.reporter.rewrite(self.line(shutil.get_terminal_size().columns - 1), erase=True)
            self.drawn = True

    def line(self, width: int) -> str:
        """Every running cell gets its share, cut in the middle to keep its time."""
        return fit_line([f"[{cell}] {text}" for cell, text in self.cells.items()], width)

    def clear(self) -> None:
        if self.enabled and self.drawn:
            self.reporter.rewrite("", erase=True)
            self.reporter.write("\r")
            self.drawn = False


def forwarded_options(
    config: pytest.Config, cells: Sequence[str], cell: str | None = None
) -> tuple[str, ...]:
    """The options a worker honours as the user meant them: selection (``-k``, ``-m``,
    ``--deselect``, ``--ignore``), warning filters (``-W``) and disabled plugins
    (``-p no:NAME``; enabling one is left to the cell's own configuration, where it is
    installed or not). ``--deselect`` of a square id reaches that square's cell only."""
    args: list[str] = []
    option = config.option
    if option.keyword:
        args += ["-k", option.keyword]
    if option.markexpr:
        args += ["-m", option.markexpr]
    for nodeid in option.deselect or ():
        split = split_square_id(str(nodeid), cells)
        if split is None:
            args += ["--deselect", str(nodeid)]
        elif split[1] == cell:
            args += ["--deselect", split[0]]
    for path in option.ignore or ():
        args += ["--ignore", str(path)]
    for spec in option.pythonwarnings or ():
        args += ["-W", spec]
    for name in option.plugins or ():
        if name.startswith("no:"):
            args += ["-p", name]
    return tuple(args)


def cell_deselections(config: pytest.Config, cells: Sequence[str]) -> set[str]:
    """The cells a ``--deselect`` of a square id names."""
    found = (split_square_id(str(nodeid), cells) for nodeid in config.option.deselect or ())
    return {split[1] for split in found if split is not None}


class Square(pytest.Item):
    """A square as ``--collect-only`` lists it: collected in its cell, never run here."""

    def runtest(self) -> None:
        raise NotImplementedError("a square runs in its cell's worker")


def square_location(result: Result) -> tuple[str, None, str]:
    """pytest's ``(path, line, domain)``: the test's file and its name with the cell."""
    path, _, name = square_id(result.test, result.cell).partition("::")
    return path, None, name.replace("::", ".")


def report_args(config: pytest.Config) -> tuple[str, ...]:
    """How the user asked pytest to word failures, for the cells' own pytest to follow:
    ``--tb``, ``--show-capture``, ``-l`` and full assertion diffs (``-vv``)."""
    option = config.option
    args = []
    if option.tbstyle not in ("auto", "no", "line"):
        args.append(f"--tb={option.tbstyle}")
    if option.showcapture != "all":
        args.append(f"--show-capture={option.showcapture}")
    if option.showlocals:
        args.append("--showlocals")
    if option.fulltrace:
        args.append("--full-trace")
    if config.get_verbosity() >= 2:
        args.append("-vv")
    return tuple(args)


def test_report(result: Result, log: str | None) -> pytest.TestReport:
    """A square as pytest sees a test, under its square id, with our outcome attached."""
    failing = result.outcome.is_breaking and not result.probe
    outcome = PYTEST_OUTCOME.get(result.outcome, "failed" if failing else "passed")
    longrepr: Any = None
    if outcome == "failed":
        longrepr = SquareRepr(result, log)
    elif outcome == "skipped":
        longrepr = (result.cell, 0, Note.of(result).headline)
    report = pytest.TestReport(
        nodeid=square_id(result.test, result.cell),
        location=square_location(result),
        keywords={},
        outcome=outcome,  # type: ignore[arg-type]
        longrepr=longrepr,
        when="call",
        duration=result.duration or 0.0,
        kerascompat_outcome=result.outcome.value,
    )
    if result.outcome in (Outcome.XFAILED, Outcome.XPASSED):
        report.wasxfail = Note.of(result).message or "expected to break in this cell"
    return report


@dataclasses.dataclass(frozen=True)
class CrashLine:
    """What pytest's short summary and JUnit writer read from a failure."""

    path: str
    lineno: int
    message: str

    def __str__(self) -> str:
        """What ``--tb=line`` prints, as pytest's ``ReprFileLocation`` does."""
        where = f"{self.path}:{self.lineno}" if self.lineno else self.path
        return f"{where}: {self.message}"


class SquareRepr:
    """A failing square as pytest prints it: outcome, message, hint, scan rule, stack."""

    def __init__(self, result: Result, log: str | None = None) -> None:
        note = Note.of(result)
        self.lines = [f"[{result.cell}] {note.headline}"]
        self.lines += [line for line in (note.hint_line, note.rule_line) if line]
        if note.detail:
            self.lines += ["", *note.detail.splitlines()]
        report = pytest_report(result, log)
        if report:
            self.lines += ["", *report.splitlines()]
        self.reprcrash = CrashLine(square_id(result.test, result.cell), 0, note.headline)

    def toterminal(self, writer: Any) -> None:
        for line in self.lines:
            writer.line(line)

    def __str__(self) -> str:
        return "\n".join(self.lines)
