"""The pytest side of a sweep: no local collection, one report per square, one table.

Registered on the plugin manager like pytest-xdist's ``DSession``: it takes over
collection and the test loop, forwards every square to pytest as a test report (so
``-v``, the summary line and the exit status work as usual), and renders the table
in the terminal summary.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pytest

from pytest_kerascompat.cell.protocol import MODE_ALL, MODE_BOTH, MODE_NAMED, MODE_PROBES, MODE_USER
from pytest_kerascompat.config.matrix import Matrix, MatrixError, load_matrix
from pytest_kerascompat.config.options import Settings
from pytest_kerascompat.env.environments import default_cache_dir
from pytest_kerascompat.model.notes import Note, pytest_report
from pytest_kerascompat.model.results import CellReport, Outcome, Report, Result
from pytest_kerascompat.plan.index import PackageIndex
from pytest_kerascompat.plan.plans import CellPlan, PlanOptions, plan_matrix
from pytest_kerascompat.report import write_reports
from pytest_kerascompat.report.terminal import write_table
from pytest_kerascompat.sweep._progress import fit_line
from pytest_kerascompat.sweep._rundirs import new_run_dir, resumable_cells
from pytest_kerascompat.sweep.controller import (
    CellFinished,
    CellProgress,
    NothingMarked,
    SweepSettings,
    default_jobs,
    run_sweep,
)

PLUGIN_NAME = "kerascompat-matrix"
STATUS_WORDS = {
    Outcome.DEPRECATED: ("deprecated", "D", "DEPRECATED", {"yellow": True}),
    Outcome.REMOVED: ("removed", "R", "REMOVED", {"red": True}),
    Outcome.TIMEOUT: ("timeout", "T", "TIMEOUT", {"red": True}),
    Outcome.CRASHED: ("crashed", "C", "CRASHED", {"red": True}),
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
    try:
        matrix = load_matrix(settings.matrix_file)
        if settings.cells:
            matrix = matrix.select(settings.cells)
    except MatrixError as error:
        raise pytest.UsageError(str(error)) from None
    config.pluginmanager.register(MatrixSession(config, settings, matrix), PLUGIN_NAME)


class MatrixSession:
    """One sweep, as pytest sees it: registered only under ``--keras-matrix``."""

    def __init__(self, config: pytest.Config, settings: Settings, matrix: Matrix) -> None:
        self.config, self.settings, self.matrix = config, settings, matrix
        self.cache_dir = settings.cache_dir or default_cache_dir()
        self.jobs = settings.jobs or default_jobs()
        self.report = Report()
        #: Why the sweep stopped at the first cell: it collected tests, none marked.
        self.nothing_marked: str | None = None
        self.written: list[Path] = []
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

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> bool:
        """Tests are collected inside each cell, where their imports work."""
        return True

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        plans = self.plan()
        if session.config.option.collectonly:
            self.write_plans(plans)
            return True
        try:
            for event in run_sweep(plans, self.sweep_settings(plans)):
                if isinstance(event, CellProgress) and event.transient:
                    self.progress.update(event.cell, event.message)
                elif isinstance(event, CellProgress):
                    self.write_progress(event.cell, event.message)
                elif isinstance(event, CellFinished):
                    self.progress.finish(event.report.name)
                    self.record(event.report, event.results)
                    self.progress.show(after_output=True)
        except NothingMarked as nothing:
            self.nothing_marked = str(nothing)
        finally:
            # Written even when interrupted: the finished cells are not lost.
            self.report.sort([plan.name for plan in plans])
            self.written = write_reports(self.report, self.settings.report_destinations)
        session.testscollected = len(self.report.results)
        session.testsfailed = len(self.report.failing_results) + len(self.report.broken_cells)
        if self.nothing_marked:  # no squares, so pytest exits 5 (no tests collected)
            session.shouldfail = self.nothing_marked
        return True

    def plan(self) -> list[CellPlan]:
        self.write_progress("matrix", "finding interpreters and resolving cells")
        return plan_matrix(
            self.matrix,
            PlanOptions(probes=self.settings.probes, pins=self.settings.pins),
            index=PackageIndex(self.cache_dir),
        )

    def write_plans(self, plans: list[CellPlan]) -> None:
        """``--collect-only`` shows what would be built, and builds nothing."""
        for plan in plans:
            where = (
                f"Python {plan.python} ({plan.executable})" if plan.executable else "no interpreter"
            )
            pins = f"; pins {', '.join(plan.pins)}" if plan.pins else ""
            self.write_progress(plan.name, f"{where}: {', '.join(plan.requirements)}{pins}")
            if not plan.executable:
                self.write_progress(plan.name, plan.python_note)

    def sweep_settings(self, plans: list[CellPlan]) -> SweepSettings:
        rootdir = Path(self.config.rootpath)
        runs_dir = rootdir / ".kerascompat" / "runs"
        settings = SweepSettings(
            cache_dir=self.cache_dir,
            run_dir=new_run_dir(runs_dir),
            mode=self.mode,
            cwd=Path(self.config.invocation_params.dir),
            user_args=forwarded_args(self.config),
            jobs=self.jobs,
            timeout=self.settings.timeout,
            rootdir=rootdir,
            inifile=Path(self.config.inipath) if self.config.inipath else None,
            report_args=report_args(self.config),
        )
        if not self.settings.resume:
            return settings
        resume_from = resumable_cells(runs_dir, settings.run_dir, plans, settings.selection)
        if not resume_from:
            self.write_progress("matrix", "--keras-resume: no earlier run to resume")
        return dataclasses.replace(settings, resume_from=resume_from)

    def write_progress(self, cell: str, message: str) -> None:
        """One line per stage of a cell: plain text, readable in any CI log."""
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            self.progress.clear()
            reporter.ensure_newline()
            reporter.write_line(f"[{cell}] {message}")
            self.progress.show()

    def record(self, cell: CellReport, results: list[Result]) -> None:
        self.report.cells.append(cell)
        self.report.results.extend(results)
        hook = self.config.hook
        for result in results:
            report = test_report(result, cell.worker_log)
            hook.pytest_runtest_logstart(nodeid=report.nodeid, location=report.location)
            hook.pytest_runtest_logreport(report=report)
            hook.pytest_runtest_logfinish(nodeid=report.nodeid, location=report.location)

    def pytest_report_teststatus(
        self, report: pytest.TestReport, config: pytest.Config
    ) -> tuple[str, str, Any] | None:
        outcome = getattr(report, "kerascompat_outcome", None)
        if outcome is None or Outcome(outcome) not in STATUS_WORDS:
            return None
        category, letter, word, markup = STATUS_WORDS[Outcome(outcome)]
        return category, letter, (word, markup)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        write_table(terminalreporter, self.report)
        for path in self.written:
            terminalreporter.write_line(f"report: {path}")


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


def forwarded_args(config: pytest.Config) -> tuple[str, ...]:
    """What selects tests in a cell: the paths given and the selection options."""
    args = [str(arg) for arg in config.args]
    option = config.option
    if option.keyword:
        args += ["-k", option.keyword]
    if option.markexpr:
        args += ["-m", option.markexpr]
    for nodeid in option.deselect or ():
        args += ["--deselect", nodeid]
    for path in option.ignore or ():
        args += ["--ignore", str(path)]
    return tuple(args)


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
    """A square as pytest sees a test: ``cell::test``, with our outcome attached."""
    failing = result.outcome.is_breaking and not result.probe
    outcome = PYTEST_OUTCOME.get(result.outcome, "failed" if failing else "passed")
    longrepr: Any = None
    if outcome == "failed":
        longrepr = SquareRepr(result, log)
    elif outcome == "skipped":
        longrepr = (result.cell, 0, Note.of(result).headline)
    report = pytest.TestReport(
        nodeid=f"{result.cell}::{result.test}",
        location=(result.cell, None, f"{result.cell}::{result.test}"),
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
        self.reprcrash = CrashLine(result.cell, 0, note.headline)

    def toterminal(self, writer: Any) -> None:
        for line in self.lines:
            writer.line(line)

    def __str__(self) -> str:
        return "\n".join(self.lines)
