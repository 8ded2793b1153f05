"""The sweep: every cell built, every worker watched, every square filled.

A worker writes a line before each test starts, so when its process dies or hangs
the controller knows which test did it, records that square as ``crashed`` or
``timeout``, and starts a fresh worker for the tests that remain (much as
pytest-xdist replaces a dead node).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import json
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Collection, Generator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from pytest_kerascompat.cell import protocol
from pytest_kerascompat.config.options import REBUILD_ALL
from pytest_kerascompat.env._files import write_text_atomically
from pytest_kerascompat.env.environments import InstallError, ensure_environment, venv_python
from pytest_kerascompat.model.changes import find_change
from pytest_kerascompat.model.outcomes import classify
from pytest_kerascompat.model.results import (
    WARNINGS_KEPT,
    CellReport,
    CellStatus,
    Outcome,
    Result,
    WarningSeen,
    outcome_counts,
)
from pytest_kerascompat.plan.plans import CellPlan
from pytest_kerascompat.sweep import _rundirs
from pytest_kerascompat.sweep._budget import FailureBudget
from pytest_kerascompat.sweep._config_errors import describe_usage_error
from pytest_kerascompat.sweep._launch import WorkerCall, prepare_cellpath, worker_argv, worker_env
from pytest_kerascompat.sweep._processes import (
    CommandTimeout,
    describe_exit,
    log_tail,
    start_logged,
    stop,
)
from pytest_kerascompat.sweep._progress import IMPORTING, Ticker, import_stage, worker_stage
from pytest_kerascompat.sweep._schedule import CellTimings, start_order
from pytest_kerascompat.sweep._writable import IN_CACHE, IN_RUNS, before_cells

POLL_SECONDS = 0.05
KILL_GRACE_SECONDS = 1.5
IMPORT_LIMIT_SECONDS = 600.0


class Progress(Protocol):
    def __call__(self, cell: str, message: str, *, transient: bool = False) -> None: ...


@dataclasses.dataclass(frozen=True)
class SweepSettings:
    """What every cell of one sweep shares."""

    cache_dir: Path
    run_dir: Path
    mode: str
    cwd: Path
    user_args: tuple[str, ...] = ()
    probes: tuple[str, ...] = ()
    jobs: int = 1
    timeout: float | None = None
    rootdir: Path | None = None
    inifile: Path | None = None
    resume_from: Mapping[str, Path] = dataclasses.field(default_factory=dict)
    #: A cell's own test arguments, in place of ``user_args`` (a square id names one cell).
    cell_args: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    #: Tests a cell runs before the others (``--ff``: the ones that failed there last time).
    first: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    #: ``-x``/``--maxfail``: shared by every cell, spent by failing squares.
    budget: FailureBudget = dataclasses.field(default_factory=FailureBudget)
    #: ``--collect-only``: build and collect in every cell, run nothing.
    collect_only: bool = False

    #: pytest options that decide how a failure is worded (``--tb``, ``-l``...).
    report_args: tuple[str, ...] = ()
    #: ``--keras-rebuild``: the cells whose environments are built anew, or every cell.
    rebuild: Collection[str] = ()
    #: When the sweep started: an environment built since needs no ``--keras-rebuild``.
    started: float = dataclasses.field(default_factory=time.time)
    #: What the squares depended on outside the plans (``_fingerprint.run_identity``).
    identity: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def user_args_for(self, plan: CellPlan) -> tuple[str, ...]:
        return self.cell_args.get(plan.name, self.user_args)

    def timeout_for(self, plan: CellPlan) -> float:
        return self.timeout or plan.spec.timeout

    def rebuild_before(self, plan: CellPlan) -> float | None:
        """For a cell ``--keras-rebuild`` names: environments older than this sweep."""
        wanted = plan.name in self.rebuild or tuple(self.rebuild) == REBUILD_ALL
        return self.started if wanted else None

    @property
    def plan_file(self) -> Path:
        return _rundirs.plan_file(self.run_dir)

    def results_file(self, plan: CellPlan) -> Path:
        return _rundirs.events_file(self.run_dir, plan.name)

    def log_file(self, plan: CellPlan, kind: str) -> Path:
        """``install`` or ``worker``: where a cell's installer and workers write."""
        return _rundirs.log_file(self.run_dir, plan.name, kind)

    @property
    def selection(self) -> dict[str, Any]:
        """What decides which tests a cell runs; a resumed run must have the same."""
        return {
            "mode": self.mode,
            "user_args": list(self.user_args),
            "cell_args": {cell: list(args) for cell, args in sorted(self.cell_args.items())},
            "probes": list(self.probes),
        }


class ProtocolError(Exception):
    """An events file holds an event the cell protocol does not define."""


@dataclasses.dataclass
class CellRun:
    """What the workers of one cell reported, across restarts.

    Each event kind of :mod:`pytest_kerascompat.cell.protocol` has a handler here named
    ``on_<kind>``, as pytest-xdist's ``DSession`` has ``worker_<event>``.
    """

    session: protocol.SessionEvent | None = None
    import_error: protocol.ImportErrorEvent | None = None
    usage_error: protocol.UsageErrorEvent | None = None
    collected: dict[str, protocol.CollectedTest] = dataclasses.field(default_factory=dict)
    finished: dict[str, protocol.FinishEvent] = dataclasses.field(default_factory=dict)
    casualties: dict[str, Result] = dataclasses.field(default_factory=dict)
    collect_errors: dict[str, protocol.CollectErrorEvent] = dataclasses.field(default_factory=dict)
    worker_failure: str | None = None
    #: A worker started but has not finished collecting (no ``collected`` event yet).
    collection_pending: bool = False
    #: The node it was collecting last (``collecting``), while collection is pending.
    collecting: str | None = None
    #: Why collection never finished: the worker died or hung while collecting.
    collect_failure: str | None = None
    #: User tests the workers collected but left out, unmarked (see :class:`NothingMarked`).
    unmarked: int = 0
    done: bool = False
    #: ``-x``/``--maxfail`` stopped this cell: the squares not reached are not run.
    halted: bool = False

    def apply(self, event: Mapping[str, Any], source: Path | None = None) -> None:
        """Hand ``event`` to its kind's handler; ``source`` is the file it came from."""
        kind = event.get("event")
        if kind not in protocol.EVENTS:
            where = f" in {source}" if source else ""
            raise ProtocolError(
                f"unknown event kind {kind!r}{where} (the cell protocol has "
                f"{', '.join(protocol.EVENTS)}): {json.dumps(event, default=repr)[:300]}"
            )
        getattr(self, f"on_{kind}")(event)

    def on_session(self, event: protocol.SessionEvent) -> None:
        self.session = event.copy()
        self.collection_pending, self.collecting = True, None

    def on_collecting(self, event: protocol.CollectingEvent) -> None:
        self.collecting = event["test"]

    def on_import_error(self, event: protocol.ImportErrorEvent) -> None:
        self.import_error = event.copy()

    def on_usage_error(self, event: protocol.UsageErrorEvent) -> None:
        """pytest refused the configuration (maybe only after collecting): nothing ran, so
        the cell has no squares, only its status."""
        self.usage_error = event.copy()
        self.collected.clear()
        self.collect_errors.clear()

    def on_collected(self, event: protocol.CollectedEvent) -> None:
        """A collection finished: a square kept from an earlier worker that died collecting
        (a resumed run's, a casualty at a module, not a test) no longer stands."""
        self.collection_pending, self.collecting = False, None
        for test in event.get("tests", []):
            self.collected.setdefault(test["test"], test.copy())
        for node in [node for node in self.casualties if node not in self.collected]:
            del self.casualties[node]
        self.unmarked = max(self.unmarked, int(event.get("unmarked") or 0))

    def on_collect_error(self, event: protocol.CollectErrorEvent) -> None:
        self.collect_errors[event["test"]] = event.copy()

    def on_start(self, event: protocol.StartEvent) -> None:
        """Nothing to keep: :func:`watch` follows the running test."""

    def on_finish(self, event: protocol.FinishEvent) -> None:
        self.finished[event["test"]] = event.copy()

    def on_casualty(self, event: protocol.CasualtyEvent) -> None:
        result = Result.from_dict(event["result"])
        self.casualties[result.test] = result

    def on_done(self, event: protocol.DoneEvent) -> None:
        self.done = True

    @property
    def settled(self) -> set[str]:
        return set(self.finished) | set(self.casualties)

    @property
    def remaining(self) -> list[str]:
        return [test for test in self.collected if test not in self.settled]


class EventReader:
    """Reads the complete JSON lines a worker appended since the last call."""

    def __init__(self, path: Path, offset: int = 0) -> None:
        self.path, self.offset, self.partial = path, offset, b""

    def read(self) -> list[dict[str, Any]]:
        try:
            with self.path.open("rb") as stream:
                stream.seek(self.offset)
                chunk = stream.read()
        except FileNotFoundError:
            return []
        self.offset += len(chunk)
        lines = (self.partial + chunk).split(b"\n")
        self.partial = lines.pop()
        return parse_events(lines)


def parse_events(lines: Sequence[bytes]) -> list[dict[str, Any]]:
    """Complete JSON lines to events; a line torn by a crash, or no object, is skipped."""
    events = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def write_plan_file(plans: Sequence[CellPlan], settings: SweepSettings) -> None:
    data = {
        "mode": settings.mode,
        "cache_dir": str(settings.cache_dir),
        "selection": settings.selection,
        "plans": [plan.to_dict() for plan in plans],
        "keys": {plan.name: plan.plan_key for plan in plans},
        "identity": dict(settings.identity),
    }
    write_text_atomically(settings.plan_file, json.dumps(data, indent=2) + "\n")


@dataclasses.dataclass(frozen=True)
class CellProgress:
    """A cell moved to a new stage (or, ``transient``, a little further within one)."""

    cell: str
    message: str
    transient: bool = False


@dataclasses.dataclass(frozen=True)
class CellFinished:
    """A cell has its report and every square."""

    report: CellReport
    results: list[Result]
    #: Every test the cell collected (what ``--collect-only`` lists).
    collected: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class CellNotStarted:
    """``-x``/``--maxfail`` was reached before this cell started."""

    cell: str


def run_sweep(
    plans: Sequence[CellPlan], settings: SweepSettings
) -> Generator[CellProgress | CellFinished | CellNotStarted, None, None]:
    """Get the sweep ready now, then run its cells as the events are asked for.

    Ready on this call, not at the first event: a file it cannot write then (run
    directory, plan, cell package) is a usage error before any cell starts, and the
    caller, which has no events yet, writes no empty table over the last one.
    """
    cellpath = prepare_sweep(plans, settings)
    return sweep_cells(plans, settings, cellpath)


def prepare_sweep(plans: Sequence[CellPlan], settings: SweepSettings) -> Path:
    """The run directory and plan file, and the cell package for PYTHONPATH."""
    with before_cells("create the run directory", settings.run_dir, IN_RUNS):
        settings.run_dir.mkdir(parents=True, exist_ok=True)
    with before_cells("write the plan of the sweep", settings.plan_file, IN_RUNS):
        write_plan_file(plans, settings)
    cellpath_dir = settings.cache_dir / "cellpath"
    with before_cells("copy the cell package into the cache", cellpath_dir, IN_CACHE):
        return prepare_cellpath(settings.cache_dir)


def sweep_cells(
    plans: Sequence[CellPlan], settings: SweepSettings, cellpath: Path
) -> Generator[CellProgress | CellFinished | CellNotStarted, None, None]:
    """Run every cell, ``settings.jobs`` at a time, yielding progress and finished cells.

    Cells run in threads (each one mostly waits on its subprocesses); every event is
    yielded on the caller's thread, so pytest's hooks and terminal are only touched there.
    """
    timings = CellTimings(settings.cache_dir)
    ordered = start_order(plans, timings, settings.cache_dir) if settings.jobs > 1 else plans
    # --ff: the cells with last time's failures start first too (a stable sort).
    ordered = sorted(ordered, key=lambda plan: plan.name not in settings.first)
    messages: queue.Queue[CellProgress] = queue.Queue()
    stopping = threading.Event()

    def progress(cell: str, message: str, *, transient: bool = False) -> None:
        if stopping.is_set():
            raise Interrupted
        messages.put(CellProgress(cell, message, transient))

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(settings.jobs, 1)) as pool:
        pending = {
            pool.submit(
                run_cell_or_file_error, plan, settings, cellpath, progress, stopping, timings
            )
            for plan in ordered
        }
        try:
            while pending:
                done, pending = concurrent.futures.wait(
                    pending, timeout=0.2, return_when=concurrent.futures.FIRST_COMPLETED
                )
                yield from drain(messages)
                for future in sorted(done, key=stopped_by_another):
                    yield future.result()
            yield from drain(messages)
        finally:
            # Ctrl-C reaches only this thread: tell the cells to stop their processes now.
            stopping.set()
            for future in pending:
                future.cancel()
            unsaved = timings.save()
    if unsaved:  # every cell is done: a line under them, and the table is whole
        yield CellProgress("matrix", unsaved)


def run_cell_or_file_error(
    plan: CellPlan,
    settings: SweepSettings,
    cellpath: Path,
    progress: Progress,
    stopping: threading.Event,
    timings: CellTimings | None = None,
) -> CellFinished | CellNotStarted:
    """:func:`run_cell`, with a file it cannot write or read (a full disk, a cache gone
    read-only) made the cell's ``file-error`` status naming the path, so the other cells
    go on and the table is kept instead of the whole sweep ending in an INTERNALERROR."""
    try:
        return run_cell(plan, settings, cellpath, progress, stopping, timings)
    except OSError as error:
        detail = file_error_detail(plan, error)
        with contextlib.suppress(Interrupted):
            progress(plan.name, f"file-error: {detail.splitlines()[0]}")
        return CellFinished(base_report(plan, CellStatus.FILE_ERROR, detail), [])


def file_error_detail(plan: CellPlan, error: OSError) -> str:
    where = f"{error.filename}: " if error.filename else ""
    return (
        f"{where}{error.strerror or error}\nthe cell stopped here, so its squares are not "
        "known: free space or make the directory writable, then run it again "
        f"(--keras-cells={plan.name})"
    )


def drain(messages: queue.Queue[CellProgress]) -> Iterator[CellProgress]:
    while True:
        try:
            yield messages.get_nowait()
        except queue.Empty:
            return


def stopped_by_another(future: concurrent.futures.Future[Any]) -> bool:
    """Sorts last the cells interrupted because another stopped the sweep, so that the
    reason (:class:`NothingMarked`) is what the caller sees."""
    return isinstance(future.exception(), Interrupted)


class NothingMarked(Exception):
    """A cell collected tests but none marked ``keras_compat``: every other cell would find
    the same, so the sweep stops before building another environment."""

    def __init__(self, cell: str, unmarked: int) -> None:
        super().__init__(cell, unmarked)
        self.cell, self.unmarked = cell, unmarked

    def __str__(self) -> str:
        tests = "1 test" if self.unmarked == 1 else f"{self.unmarked} tests"
        return (
            f"cell {self.cell} collected {tests}, none marked keras_compat, so no cell has "
            "anything to run; stopped before building more environments. Select them by "
            "marking them (pytestmark = pytest.mark.keras_compat in a module, or the marker "
            "on each test), or run every collected test with --keras-all-tests (ini "
            "keras_all_tests = true, or KERASCOMPAT_ALL_TESTS=1)"
        )


class Interrupted(Exception):
    """The sweep is stopping; a cell abandons its work (its events file keeps what it did)."""


def run_cell(
    plan: CellPlan,
    settings: SweepSettings,
    cellpath: Path,
    progress: Progress,
    stopping: threading.Event,
    timings: CellTimings | None = None,
) -> CellFinished | CellNotStarted:
    started = time.monotonic()
    if settings.budget.spent():
        return CellNotStarted(plan.name)
    if plan.executable is None:
        progress(plan.name, f"no interpreter: {plan.python_note}")
        return CellFinished(base_report(plan, CellStatus.NO_INTERPRETER, plan.python_note), [])
    results = settings.results_file(plan)
    run = replay(settings.resume_from.get(plan.name), results, lambda x: progress(plan.name, x))
    if run.done:
        progress(plan.name, "every square kept from the interrupted run")
        return CellFinished(*assemble(plan, run, settings, time.monotonic() - started))
    if run.settled:
        progress(plan.name, f"{len(run.settled)} squares kept from the interrupted run")
    progress(plan.name, f"Python {plan.python}: building or reusing the environment")
    try:
        location, built = ensure_environment(
            plan,
            cache_dir=settings.cache_dir,
            plan_file=settings.plan_file,
            log=settings.log_file(plan, "install"),
            cwd=settings.cwd,
            should_stop=stopping.is_set,
            progress=lambda text: progress(plan.name, text, transient=True),
            say=lambda text: progress(plan.name, text),
            rebuild_before=settings.rebuild_before(plan),
        )
    except (InstallError, CommandTimeout) as error:
        detail = getattr(error, "detail", str(error))
        log = settings.log_file(plan, "install")
        progress(plan.name, f"install-error: {detail.splitlines()[-1] if detail else ''}")
        return CellFinished(
            base_report(plan, CellStatus.INSTALL_ERROR, f"{detail}\nfull log: {log}"), []
        )
    if settings.budget.spent():  # built while the last failure came in: keep it, run nothing
        return CellNotStarted(plan.name)
    progress(plan.name, f"environment {'built' if built else 'reused'}; running tests")
    testing = time.monotonic()
    run_workers(plan, settings, location, cellpath, progress, run, stopping)
    if settings.mode == protocol.MODE_USER and run.unmarked and not run.collected:
        stopping.set()  # now: the next cell must not start building
        raise NothingMarked(plan.name, run.unmarked)
    if timings is not None:
        timings.record(plan, time.monotonic() - testing)
    report, squares = assemble(plan, run, settings, time.monotonic() - started)
    if settings.collect_only:
        progress(plan.name, f"collected {len(run.collected)} tests in {report.duration:.1f} s")
    else:
        progress(plan.name, f"done in {report.duration:.1f} s: {summarize(squares)}")
    return CellFinished(report, squares, tuple(run.collected))


def summarize(results: Sequence[Result]) -> str:
    counts = outcome_counts(results)
    return ", ".join(f"{count} {outcome.value}" for outcome, count in counts.items()) or "no tests"


def replay(
    previous: Path | None, results: Path, say: Callable[[str], None] = lambda text: None
) -> CellRun:
    """Start this run's events file from an interrupted run's, and what it had settled;
    ``say`` hears of each line of it that had to be skipped."""
    run = CellRun()
    results.parent.mkdir(parents=True, exist_ok=True)
    data, events, skipped = _rundirs.read_events(previous)
    results.write_bytes(data)
    for note in skipped:
        say(f"--keras-resume: {note}")
    for event in events:
        try:
            run.apply(event, previous)
        except (KeyError, TypeError, AttributeError, ValueError) as error:
            say(f"--keras-resume: {previous}: skipped a {event['event']} event: {error!r}")
    return run


def append_event(results: Path, event: Mapping[str, Any]) -> None:
    """The controller's own events (crashes, timeouts) go in the cell's file too.

    A worker killed mid-line leaves a torn last line; it is ended first so the event
    stays a line of its own.
    """
    with results.open("a+b") as stream:  # appends land at the end whatever we read
        size = stream.seek(0, os.SEEK_END)
        if size:
            stream.seek(size - 1)
            if stream.read(1) != b"\n":
                stream.write(b"\n")
        stream.write(json.dumps(event).encode() + b"\n")


def base_report(plan: CellPlan, status: CellStatus, detail: str | None = None) -> CellReport:
    return CellReport(
        name=plan.name,
        python=plan.python,
        executable=plan.executable,
        tensorflow=plan.spec.tensorflow,
        keras=plan.spec.keras,
        backend=plan.spec.backend,
        status=status,
        detail=detail,
        requirements=plan.shown_requirements,
        pins=plan.pins,
        env=plan.env,
        keras_module=plan.spec.keras_module,
    )


def run_workers(
    plan: CellPlan,
    settings: SweepSettings,
    location: Path,
    cellpath: Path,
    progress: Progress,
    run: CellRun,
    stopping: threading.Event,
) -> None:
    """Run workers in the environment at ``location`` until every collected test has a
    square, replacing dead ones."""
    results = settings.results_file(plan)
    reader = EventReader(results, offset=results.stat().st_size)  # replayed events are in run
    timeout = settings.timeout_for(plan)

    def charge(finish: Mapping[str, Any]) -> None:
        """Count a finished square against ``-x``/``--maxfail`` as soon as it is known."""
        if settings.budget.maxfail and finish["test"] in run.collected:
            settings.budget.charge(square(plan, run, finish["test"], installed_versions(run)))

    for attempt in range(1, 10_000):
        if settings.budget.spent():
            run.halted = True
            return
        call = worker_call(plan, settings, cellpath, results, run, attempt)
        argv = worker_argv(venv_python(location), plan, call)
        process = start_logged(
            argv,
            env={
                **worker_env(plan, cellpath, location, coverage_file=call.coverage_file),
                protocol.PARENT_VARIABLE: str(os.getpid()),  # an orphan leaves at once
            },
            cwd=settings.cwd,
            log=settings.log_file(plan, "worker"),
        )
        running, returncode, timed_out = watch(
            process,
            reader,
            run,
            timeout,
            stopping,
            lambda text: progress(plan.name, text, transient=True),
            finished=charge,
            halt=lambda: settings.budget.spent(),
            importing=import_stage(plan),
        )
        if running is None and run.collection_pending and not run.done and not run.halted:
            collection_failed(plan, run, returncode, timed_out, call)
            return
        if run.done or run.import_error or running is None:
            if not run.done and not run.import_error and not run.halted:
                run.worker_failure = describe_exit(returncode)
            return
        lost = casualty(plan, run, running, returncode, timed_out, call)
        append_event(
            results, protocol.CasualtyEvent(event=protocol.CASUALTY, result=lost.to_dict())
        )
        run.casualties[running] = lost
        settings.budget.charge(lost)
        progress(plan.name, f"{running}: {lost.outcome.value}")
        if not run.remaining:
            return


def worker_call(
    plan: CellPlan,
    settings: SweepSettings,
    cellpath: Path,
    results: Path,
    run: CellRun,
    attempt: int,
) -> WorkerCall:
    skip_file = None
    if run.settled:
        skip_file = _rundirs.skip_file(settings.run_dir, plan.name)
        skip_file.write_text("".join(f"{test}\n" for test in sorted(run.settled)))
    return WorkerCall(
        results=results,
        mode=settings.mode,
        cellpath=cellpath,
        user_args=settings.user_args_for(plan),
        probes=settings.probes,
        timeout=settings.timeout_for(plan),
        skip_file=skip_file,
        stack_file=_rundirs.stack_file(settings.run_dir, plan.name, attempt),
        rootdir=settings.rootdir,
        inifile=settings.inifile,
        first_file=first_file(plan, settings),
        collect_only=settings.collect_only,
        report_args=settings.report_args,
        coverage_file=_rundirs.coverage_file(settings.run_dir, plan.name),
    )


def first_file(plan: CellPlan, settings: SweepSettings) -> Path | None:
    """``--ff``: the file of tests this cell's worker runs before the others."""
    first = settings.first.get(plan.name)
    if not first:
        return None
    path = _rundirs.first_file(settings.run_dir, plan.name)
    path.write_text("".join(f"{test}\n" for test in first), encoding="utf-8")
    return path


def watch(
    process: Any,
    reader: EventReader,
    run: CellRun,
    timeout: float,
    stopping: threading.Event,
    status: Callable[[str], None] = lambda text: None,
    *,
    finished: Callable[[Mapping[str, Any]], None] = lambda event: None,
    halt: Callable[[], bool] = lambda: False,
    importing: str = IMPORTING,
) -> tuple[str | None, int | None, bool]:
    """Follow a worker until it exits or overruns; return the test it died in, if any.

    ``finished`` sees every ``finish`` event; when ``halt`` says so (``-x``), the worker
    is stopped between or during tests and the run marked ``halted``.
    """
    running: str | None = None
    since = time.monotonic()
    imported, tick = False, Ticker(status)
    try:
        while True:
            for event in reader.read():
                run.apply(event, reader.path)
                if event.get("event") == protocol.START:
                    running, since = event["test"], time.monotonic()
                elif event.get("event") in (protocol.FINISH, protocol.SESSION):
                    running, since = None, time.monotonic()
                    if event.get("event") == protocol.FINISH:
                        finished(event)
                    imported = True
                elif event.get("event") == protocol.COLLECTING:
                    since = time.monotonic()
            seconds = time.monotonic() - since
            done, total = len(run.settled), len(run.collected)
            tick(worker_stage(imported, running, done, total, seconds, importing))
            returncode = process.poll()
            if returncode is not None:
                for event in reader.read():
                    run.apply(event, reader.path)
                    if event.get("event") == protocol.FINISH and event.get("test") == running:
                        running = None
                # Dying after the limit (TensorFlow can crash while faulthandler dumps the
                # stack) is still that test's timeout, not a crash of its own.
                late = (running is not None or run.collection_pending) and (
                    time.monotonic() - since >= timeout
                )
                stop(process)  # what its tests forked is still in its group: end it too
                return running, returncode, late
            if overran(run, running, since, timeout):
                stop(process)
                return running, process.returncode, True
            if halt():
                stop(process)
                run.halted = True
                return None, process.returncode, False
            if stopping.wait(POLL_SECONDS):
                raise Interrupted
    except BaseException:
        stop(process)
        raise


def overran(run: CellRun, running: str | None, since: float, timeout: float) -> bool:
    """A test, and collection (each directory, module or class), each get the time limit;
    TensorFlow's import before the session starts gets the longer import limit."""
    elapsed = time.monotonic() - since
    if running is not None or run.collection_pending:
        return elapsed > timeout + KILL_GRACE_SECONDS
    return run.session is None and elapsed > max(timeout, IMPORT_LIMIT_SECONDS)


def collection_failed(
    plan: CellPlan, run: CellRun, returncode: int | None, timed_out: bool, call: WorkerCall
) -> None:
    """The worker died or hung before it finished collecting: no test list, so no test runs.

    The node it was collecting gets the square (``crashed`` with the signal, ``timeout``
    with the stack), and the cell's status says collection never finished.
    """
    where = run.collecting
    if timed_out:
        stack = read_stack(call.stack_file)
        stuck = f"; stuck in {innermost_frame(stack)}" if stack else ""
        why = f"ran past the {call.timeout:g} s limit{stuck}"
    else:
        why = f"the interpreter died: {describe_exit(returncode)}"
        if returncode == -signal.SIGKILL:
            why += " (usually the system running out of memory)"
    place = f"collecting {where}" if where else "collecting, before reaching any test module"
    run.collect_failure = run.worker_failure = f"{why} while {place}"
    if where:
        lost = casualty(plan, run, where, returncode, timed_out, call)
        run.casualties[where] = dataclasses.replace(lost, message=run.collect_failure)
        append_event(
            call.results,
            protocol.CasualtyEvent(event=protocol.CASUALTY, result=run.casualties[where].to_dict()),
        )


def casualty(
    plan: CellPlan,
    run: CellRun,
    test: str,
    returncode: int | None,
    timed_out: bool,
    call: WorkerCall,
) -> Result:
    info: Mapping[str, Any] = run.collected.get(test, {})
    api, probe = info.get("api"), bool(info.get("probe"))
    if timed_out:
        stack = read_stack(call.stack_file)
        where = f"; stuck in {innermost_frame(stack)}" if stack else ""
        return Result(
            cell=plan.name, test=test, api=api, probe=probe, outcome=Outcome.TIMEOUT,
            message=f"ran past the {call.timeout:g} s limit{where}", detail=stack or None,
            duration=call.timeout,
        )  # fmt: skip
    return Result(
        cell=plan.name, test=test, api=api, probe=probe, outcome=Outcome.CRASHED,
        message=f"the interpreter died: {describe_exit(returncode)}",
    )  # fmt: skip


def read_stack(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""


def innermost_frame(stack: str) -> str:
    """Where the main thread (the last one faulthandler's format lists) was stuck.

    The innermost frame of the user's own code when there is one (a hang usually sits
    deep inside TensorFlow, which says little), followed by the innermost frame overall.
    """
    blocks = [block for block in stack.split("\n\n") if block.strip()]
    frames = [line.strip() for line in (blocks[-1].splitlines() if blocks else ())]
    frames = [line for line in frames if line.startswith("File ")]
    if not frames:
        return "an unknown place"
    own = next((line for line in frames if not is_library_frame(line)), None)
    if own is None or own == frames[0]:
        return frames[0]
    return f"{own} (innermost: {frames[0]})"


def is_library_frame(line: str) -> bool:
    """Frames of installed packages, the standard library and the cell's own worker."""
    path = line.split('"')[1] if line.count('"') >= 2 else line
    return any(
        marker in path
        for marker in (
            "/site-packages/",
            "/dist-packages/",
            "/lib/python3",
            f"/{protocol.CELL_PACKAGE}/",
        )
    )


def assemble(
    plan: CellPlan, run: CellRun, settings: SweepSettings, duration: float
) -> tuple[CellReport, list[Result]]:
    report = dataclasses.replace(
        base_report(plan, *cell_status(plan, run, settings)),
        duration=round(duration, 2),
        worker_log=str(settings.log_file(plan, "worker")),
    )
    if run.session:
        report = dataclasses.replace(
            report,
            python=run.session.get("python") or report.python,
            tensorflow=run.session.get("tensorflow"),
            keras=run.session.get("keras"),
            keras_module=run.session.get("keras_module") or report.keras_module,
            backend=run.session.get("backend") or report.backend,
            installed=tuple(run.session.get("installed") or ()),
        )
    versions = installed_versions(run)
    ran = [test for test in run.collected if test in run.settled or not run.halted]
    results = [] if settings.collect_only else [square(plan, run, t, versions) for t in ran]
    results += [
        verdict_result(plan.name, event, versions)
        for test, event in run.collect_errors.items()
        if test not in run.collected
    ]
    results += [  # the node a worker died or hung collecting
        lost for test, lost in run.casualties.items() if test not in run.collected
    ]
    return report, results


def cell_status(
    plan: CellPlan, run: CellRun, settings: SweepSettings
) -> tuple[CellStatus, str | None]:
    log = settings.log_file(plan, "worker")
    if run.usage_error:
        return CellStatus.USAGE_ERROR, f"{describe_usage_error(run.usage_error)}\nlog: {log}"
    if run.import_error:
        error = run.import_error
        text = f"{error.get('exc_type')}: {error.get('message')}"
        change = find_change(texts=[text, error.get("traceback")])
        hint = f"\nhint: {change.hint}" if change else ""
        return CellStatus.IMPORT_ERROR, f"importing {error.get('module')}: {text}{hint}\nlog: {log}"
    if run.session is None:
        tail = log_tail(log, 6)
        return CellStatus.IMPORT_ERROR, (
            f"the worker died before its session started: while loading pytest, your "
            f"conftest.py and plugins, or importing TensorFlow/Keras "
            f"({run.worker_failure or 'no session started'})\n{tail}\nlog: {log}"
        )
    if run.collect_failure:
        return CellStatus.COLLECT_ERROR, f"{run.collect_failure}: {not_run(run)}\nlog: {log}"
    if run.worker_failure and run.remaining:
        return CellStatus.OK, f"the worker stopped early ({run.worker_failure}); log: {log}"
    if run.halted and run.remaining:
        return CellStatus.OK, (
            f"stopped by -x/--maxfail: {len(run.remaining)} of {len(run.collected)} "
            f"tests not run; log: {log}"
        )
    return CellStatus.OK, None


def not_run(run: CellRun) -> str:
    """What a collection that never finished cost: the tests are unknown, or were left."""
    if not run.collected:
        return (
            "collection never finished, so which tests this cell would run is unknown "
            "and none of them ran"
        )
    return f"collection never finished; {len(run.remaining)} of {len(run.collected)} tests not run"


def installed_versions(run: CellRun) -> dict[str, str | None]:
    session: Mapping[str, Any] = run.session or {}
    return {
        "tensorflow": session.get("tensorflow"),
        "keras": session.get("keras"),
        "python": session.get("python"),
    }


def square(plan: CellPlan, run: CellRun, test: str, versions: Mapping[str, str | None]) -> Result:
    info = run.collected[test]
    if test in run.casualties:
        return run.casualties[test]
    finish = run.finished.get(test)
    if finish is None:
        return Result(
            cell=plan.name, test=test, api=info.get("api"), probe=bool(info.get("probe")),
            outcome=Outcome.ERROR, message=f"not run: the worker stopped ({run.worker_failure})",
        )  # fmt: skip
    libraries = run.session.get("library_paths", ()) if run.session else ()
    return verdict_result(plan.name, {**info, **finish}, versions, libraries)


def verdict_result(
    cell: str,
    event: Mapping[str, Any],
    versions: Mapping[str, str | None],
    library_paths: Sequence[str] = (),
) -> Result:
    """A square from what the worker saw (a finished test or a module that failed to import)."""
    verdict = classify(event, versions, library_paths)
    seen, omitted = kept_warnings(event.get("warnings") or ())
    return Result(
        cell=cell,
        test=event["test"],
        api=event.get("api"),
        probe=bool(event.get("probe")),
        outcome=verdict.outcome,
        message=verdict.message,
        exc_type=verdict.exc_type,
        hint=verdict.hint,
        longrepr=event.get("longrepr"),
        change=verdict.change,
        duration=event.get("duration"),
        warnings=seen,
        warnings_omitted=omitted,
    )


def kept_warnings(entries: Sequence[Mapping[str, Any]]) -> tuple[tuple[WarningSeen, ...], int]:
    """The first :data:`WARNINGS_KEPT` distinct warnings of a test, and how many more."""
    distinct = list(dict.fromkeys(WarningSeen.of(entry) for entry in entries))
    return tuple(distinct[:WARNINGS_KEPT]), max(0, len(distinct) - WARNINGS_KEPT)


def default_jobs() -> int:
    """One cell per core, but no more than memory allows (a TensorFlow worker needs ~3 GB)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        memory_gb = 8.0
    return max(1, min(cpus or 1, int(memory_gb // 3)))
