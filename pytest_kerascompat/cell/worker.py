"""The pytest plugin a cell's worker runs with: select tests, run them, log JSON events.

The controller starts ``<cell python> -m kerascompat_cell --kc-results=FILE ...``
(pytest with this plugin registered before parsing) inside every cell and reads ``FILE``
back, one JSON object per line.  The file is the only channel back: it is flushed after
every line so that when TensorFlow segfaults or a test hangs and is killed, everything up
to the ``start`` of the guilty test is already on disk.

Runs on Python 3.7+ with pytest 7.4+, imports only the standard library and pytest, and
imports its siblings relatively (it is loaded both as ``kerascompat_cell.worker`` and as
``pytest_kerascompat.cell.worker``).
"""

from __future__ import annotations

import contextlib
import faulthandler
import io
import json
import logging
import os
import platform
import re
import site
import sys
import sysconfig
import threading
import time
import traceback
import warnings
from pathlib import Path
from typing import IO, Any, Dict, Generator, Iterable, List, NamedTuple, Optional, Set, Tuple, Union

import pytest

from . import fixtures, protocol, user_config

MARKER = "keras_compat"
MARKER_HELP = (
    f"{MARKER}(api=None, breaks=None): run this test in every cell of the Keras "
    "compatibility matrix; api names the API under test, breaks a requirement-style "
    'range such as "keras>=3" where failure is expected'
)
#: Lines of the import traceback kept in an ``import_error`` event.
TRACEBACK_LINES = 15
#: TF 2.1-2.3 log deprecations through this logger, which need not propagate to root.
TENSORFLOW_LOGGER = "tensorflow"
DEFAULT_PROBES_DIR = Path(__file__).resolve().parent / protocol.PROBES_DIR


# --------------------------------------------------------------------------- options


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    user_config.add_stand_ins(parser, pluginmanager)
    group = parser.getgroup("kerascompat worker")
    group.addoption(
        protocol.RESULTS_FLAG,
        metavar="PATH",
        help="append JSON-lines events to PATH; without it this plugin records nothing",
    )
    group.addoption(protocol.CELL_FLAG, metavar="NAME", help="name of the cell, reported back")
    group.addoption(
        protocol.KERAS_MODULE_FLAG,
        choices=fixtures.KERAS_MODULES,
        help="the Keras under test (default: tf.keras if TensorFlow is installed, else keras)",
    )
    group.addoption(
        protocol.REQUIRE_FLAG,
        action="append",
        default=[],
        metavar="MODULE",
        help="module that must import, else the session stops (repeatable)",
    )
    group.addoption(
        protocol.MODE_FLAG,
        choices=protocol.MODES,
        default=protocol.MODE_USER,
        help="user: tests marked keras_compat; probes: the probes only; both; named: every "
        "test the command line names, marked or not; all: those and the probes (default: user)",
    )
    group.addoption(
        protocol.PROBES_DIR_FLAG,
        metavar="PATH",
        default=str(DEFAULT_PROBES_DIR),
        help="directory whose tests are probes (default: the bundled probes)",
    )
    group.addoption(
        protocol.SKIP_FLAG, metavar="PATH", help="file of test ids (one per line) to deselect"
    )
    group.addoption(
        protocol.FIRST_FLAG, metavar="PATH", help="file of test ids (one per line) to run first"
    )
    group.addoption(
        protocol.TIMEOUT_FLAG,
        type=float,
        metavar="SECONDS",
        help="dump every thread's stack when one test runs longer than this",
    )
    group.addoption(
        protocol.STACK_FILE_FLAG,
        metavar="PATH",
        help=f"where {protocol.TIMEOUT_FLAG} dumps stacks (default: stderr)",
    )
    group.addoption(
        protocol.QUICK_EXIT_FLAG,
        action="store_true",
        help="end the process with os._exit once every event is written, skipping the "
        "interpreter teardown (0.3 to 0.6 s for TensorFlow, and it decides nothing)",
    )


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_cmdline_parse(pluginmanager: Any, args: List[str]) -> Generator[None, Any, None]:
    """The user's configuration made inert where the controller applies it; a refusal
    recorded, since no ``--kc-*`` option (nor the Recorder) exists when parsing fails.

    Seen only when this plugin is registered before parsing (``python -m kerascompat_cell``).
    The innermost wrapper: pluggy 1.2 (Python 3.7 cells) skips the outer wrappers' ends
    once pytest's own (helpconfig's) re-raises the error.
    """
    outcome = yield
    if outcome.excinfo is None:
        user_config.neutralise(outcome.get_result().option)
    elif user_config.is_refusal(outcome.excinfo[1]):
        path = user_config.results_path(args)
        if path:
            log = EventLog(path)
            log.write(protocol.USAGE_ERROR, **user_config.usage_error_fields(outcome.excinfo[1]))
            log.write(protocol.DONE, exitstatus=user_config.USAGE_ERROR_STATUS)
            log.close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    manager = config.pluginmanager
    if not manager.is_registered(fixtures) and manager.get_plugin(fixtures.__name__) is None:
        manager.register(fixtures, fixtures.__name__)
    results = config.getoption(protocol.RESULTS_FLAG)
    if results:
        manager.register(Recorder(config, EventLog(results)), "kerascompat-worker-recorder")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    """``--ff`` in a sweep: the tests that failed in this cell last time run first."""
    first = read_skip_file(config.getoption(protocol.FIRST_FLAG))
    if first:
        items.sort(key=lambda item: item.nodeid not in first)  # stable: otherwise in order


# ----------------------------------------------------------------------- events file


class EventLog:
    """Append-only JSON-lines file, pushed to the OS after every event.

    Opened once: reopening per event would cost time and could interleave with a
    restarted worker writing to the same file.
    """

    def __init__(self, path: str) -> None:
        self._file = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115

    def write(self, event: str, **fields: Any) -> None:
        record: Dict[str, Any] = {"event": event, "time": time.time()}
        record.update(fields)
        self._file.write(json.dumps(record, default=repr) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


# ------------------------------------------------------------------ exception facts


def qualified_name(cls: type) -> str:
    """``module.QualName``, or just ``QualName`` for builtins such as ``AttributeError``."""
    module = getattr(cls, "__module__", None)
    name = getattr(cls, "__qualname__", None) or cls.__name__
    if not module or module == "builtins":
        return name
    return f"{module}.{name}"


def first_line(text: str) -> Optional[str]:
    """First non-empty line of ``text``, or ``None`` when there is none."""
    return fixtures.first_line(text) or None


def describe_exception(exc: BaseException) -> Dict[str, Any]:
    """``exc_type``, ``message`` and ``missing`` for an exception, as events carry them."""
    try:
        text = str(exc)
    except Exception:
        text = ""
    return {
        "exc_type": qualified_name(type(exc)),
        "message": first_line(text),
        "missing": describe_missing(exc, text),
    }


#: "<owner> has no attribute <name>" as modules, classes and instances phrase it.
_ATTRIBUTE_PATTERNS = (
    re.compile(r"^module '([^']+)' has no attribute '([^']+)'"),
    re.compile(r"^type object '([^']+)' has no attribute '([^']+)'"),
    re.compile(r"^'([^']+)' object has no attribute '([^']+)'"),
)
_ANY_ATTRIBUTE = re.compile(r"has no attribute '([^']+)'")
_CANNOT_IMPORT = re.compile(r"cannot import name '([^']+)'(?: from '([^']+)')?")
_NO_MODULE = re.compile(r"No module named '([^']+)'")
_UNEXPECTED_KEYWORD = re.compile(
    r"(?:([\w.<>]+)\(\) )?got an unexpected keyword argument '([^']+)'"
)
#: Keras 3's own "this keyword is gone" (a ValueError or TypeError, not Python's).
_UNRECOGNIZED_KEYWORD = re.compile(r"Unrecognized keyword arguments? passed to (\w+): \{'([^']+)'")


def describe_missing(exc: BaseException, text: str) -> Optional[Dict[str, Any]]:
    """What name an exception says is gone, or ``None`` when it is not that kind of error.

    A removed API surfaces as one of three errors: an attribute that is no longer there,
    an import that no longer resolves, or a keyword argument no longer accepted. Whose
    class or callable it was is sent along (``mro``, ``raised_by``): a user's subclass of
    a Keras model lives in user code, yet what is missing from it is Keras's API.
    """
    if isinstance(exc, AttributeError):
        return _missing_attribute(exc, text)
    if isinstance(exc, ImportError):
        return _missing_import(exc, text)
    if isinstance(exc, (TypeError, ValueError)):
        return _missing_keyword(exc, text)
    return None


def _missing(
    kind: str,
    name: str,
    owner: Optional[str],
    mro: Optional[List[str]] = None,
    raised_by: Optional[str] = None,
) -> Dict[str, Any]:
    return {"kind": kind, "name": name, "owner": owner, "mro": mro, "raised_by": raised_by}


def _missing_attribute(exc: AttributeError, text: str) -> Optional[Dict[str, Any]]:
    # Python 3.10+ sets ``name``/``obj`` when the interpreter raised it; a module or
    # class ``__getattr__`` (TensorFlow's lazy modules) usually does not, so parse too.
    name = getattr(exc, "name", None)
    obj = getattr(exc, "obj", None) if name else None
    owner = _owner_name(obj) if obj is not None else None
    mro = _class_mro(obj) if obj is not None else None
    for pattern in _ATTRIBUTE_PATTERNS:
        match = pattern.search(text)
        if match:
            if mro is None and not text.startswith("module "):
                mro = _class_mro(_class_near(exc, match.group(1)))
            name, owner = name or match.group(2), owner or match.group(1)
            return _missing("attribute", name, owner, mro, _raising_module(exc))
    match = _ANY_ATTRIBUTE.search(text)
    if match:
        name = name or match.group(1)
    return _missing("attribute", name, owner, mro, _raising_module(exc)) if name else None


def _raising_module(exc: BaseException) -> Optional[str]:
    """The module whose code raised ``exc``: the user's line, or deep inside a library."""
    frame = _innermost_frame(exc)
    return frame.f_globals.get("__name__") if frame is not None else None


def _class_mro(obj: Any) -> Optional[List[str]]:
    """``module.QualName`` of each class in the MRO of ``obj``'s class (or of ``obj``, a
    class); ``None`` for a module or nothing."""
    if obj is None or isinstance(obj, type(sys)):
        return None
    cls = obj if isinstance(obj, type) else type(obj)
    try:
        return [qualified_name(base) for base in cls.__mro__]
    except Exception:
        return None


def _innermost_frame(exc: BaseException) -> Any:
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame if tb is not None else None


def _nearby_objects(exc: BaseException) -> List[Any]:
    """The objects the failing line could have used: the innermost frame's locals, their
    attributes one level down, and its globals (Python < 3.10 does not say which object an
    attribute was missing from, and no Python says whose method rejected a keyword)."""
    frame = _innermost_frame(exc)
    if frame is None:
        return []
    found: List[Any] = []
    for value in list(frame.f_locals.values()):
        found.append(value)
        with contextlib.suppress(TypeError):
            found.extend(list(vars(value).values())[:200])
    found.extend(value for value in frame.f_globals.values() if callable(value))
    return found


def _class_near(exc: BaseException, name: str) -> Optional[type]:
    """The class called ``name`` (an object's class or one of its bases) near the error."""
    for value in _nearby_objects(exc):
        cls = value if isinstance(value, type) else type(value)
        for base in getattr(cls, "__mro__", ()):
            if base.__name__ == name or getattr(base, "__qualname__", None) == name:
                return base  # type: ignore[no-any-return]
    return None


def _rejecting_callable(
    exc: BaseException, owner: Optional[str]
) -> Tuple[Optional[List[str]], Optional[str]]:
    """The MRO of the class whose method rejected a keyword, and the module of that callable.

    Python 3.10+ names it ``Class.method()``; older ones only ``method()``. Keras 3 drops
    its own frames from tracebacks, so the callable is looked for among the objects the
    failing line could use. Failing that, nothing is claimed: Python raises the error in
    the caller's frame, which says whose line it was, not whose callable.
    """
    if owner:
        cls_name, _, method = owner.rpartition(".")
        if cls_name:
            cls = _class_near(exc, cls_name.rsplit(".", 1)[-1])
            if cls is not None:
                return _class_mro(cls), getattr(cls, "__module__", None)
        for value in _nearby_objects(exc):
            func = value if getattr(value, "__name__", None) == method else None
            if func is None and not isinstance(value, type(sys)):
                try:
                    func = getattr(value, method, None)
                except Exception:
                    func = None
            if callable(func):
                module = getattr(func, "__module__", None)
                if module:
                    return _class_mro(value) if func is not value else None, module
    return None, None


def _owner_name(obj: Any) -> Optional[str]:
    """Dotted name of the module, class or instance's class an attribute was looked up on."""
    try:
        if isinstance(obj, type(sys)):
            return str(obj.__name__)
        cls = obj if isinstance(obj, type) else type(obj)
        return qualified_name(cls)
    except Exception:
        return None


def _missing_import(exc: ImportError, text: str) -> Optional[Dict[str, Any]]:
    match = _CANNOT_IMPORT.search(text)
    if match:
        return _missing("attribute", match.group(1), match.group(2) or exc.name)
    match = _NO_MODULE.search(text)
    if match or isinstance(exc, ModuleNotFoundError):
        module = match.group(1) if match else exc.name
        if module:
            parent = module.rpartition(".")[0] or None
            return _missing("import", module, parent)
    return None


def _missing_keyword(exc: BaseException, text: str) -> Optional[Dict[str, Any]]:
    match = _UNEXPECTED_KEYWORD.search(text) or _UNRECOGNIZED_KEYWORD.search(text)
    if not match:
        return None
    mro, raised_by = _rejecting_callable(exc, match.group(1))
    return _missing("keyword", match.group(2), match.group(1), mro, raised_by)


def import_error_event(module: str, exc: BaseException) -> Dict[str, Any]:
    """Fields of the ``import_error`` event for a module that failed to import."""
    lines = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).splitlines()
    return {
        "module": module,
        "exc_type": qualified_name(type(exc)),
        "message": first_line(str(exc)),
        "traceback": "\n".join(lines[-TRACEBACK_LINES:]),
    }


# ------------------------------------------------------------ what the cell holds


def library_paths() -> List[str]:
    """Where the standard library, the installed packages and this worker live.

    A warning raised from a file anywhere else comes from the user's own code: the
    tests, or the project under test (installed editable, so its files stay in place).
    """
    paths = sysconfig.get_paths()
    found = [paths.get(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")]
    if hasattr(site, "getsitepackages"):
        found.extend(site.getsitepackages())
    found.append(str(Path(__file__).parent.parent))
    # Both spellings: a warning names the file as imported, through any symlink.
    forms = (form for path in found if path for form in (Path(path), Path(path).resolve()))
    return sorted({str(form) for form in forms})


def installed_distributions() -> List[str]:
    """``name==version`` of each distribution in the environment's site-packages.

    Read from the ``.dist-info`` folders directly: ``importlib.metadata`` is 3.8+.
    """
    paths = sysconfig.get_paths()
    found: Dict[str, str] = {}
    for directory in {paths.get("purelib"), paths.get("platlib")}:
        for entry in sorted(Path(directory).glob("*.dist-info")) if directory else ():
            name, version = _name_and_version(entry / "METADATA")
            if name and version:
                found.setdefault(name.lower(), f"{name}=={version}")
    return [found[key] for key in sorted(found)]


def _name_and_version(metadata: Path) -> Tuple[Optional[str], Optional[str]]:
    name = version = None
    try:
        with metadata.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.strip():
                    break  # the headers end at the first blank line
                if line.startswith("Name:"):
                    name = line[5:].strip()
                elif line.startswith("Version:"):
                    version = line[8:].strip()
    except OSError:
        pass
    return name, version


# ------------------------------------------------------------------ test selection


class TestInfo(NamedTuple):
    """How the controller names and groups one collected test."""

    test: str
    api: Optional[str]
    probe: bool
    breaks: Optional[Union[str, List[str]]]

    def as_dict(self) -> Dict[str, Any]:
        return dict(self._asdict())


def is_inside(path: Path, directory: Optional[Path]) -> bool:
    """Whether ``path`` lies under ``directory`` (``Path.is_relative_to`` is 3.9+)."""
    if directory is None:
        return False
    return directory in Path(path).resolve().parents


def marker_argument(marker: Any, keyword: str, position: int) -> Any:
    """A marker argument given by keyword or position, or ``None``."""
    if marker is None:
        return None
    value = marker.kwargs.get(keyword)
    if value is None and len(marker.args) > position:
        value = marker.args[position]
    return value


def as_text(value: Any) -> Optional[str]:
    return None if value is None else str(value)


def as_ranges(value: Any) -> Optional[Union[str, List[str]]]:
    """``breaks`` as JSON can carry it: one range, or a list when several were given."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        return [str(item) for item in value]
    return str(value)


def describe_item(item: pytest.Item, probes_dir: Optional[Path]) -> TestInfo:
    probe = is_inside(item.path, probes_dir)
    marker = item.get_closest_marker(MARKER)
    return TestInfo(
        test=protocol.PROBE_PREFIX + item.name if probe else item.nodeid,
        api=as_text(marker_argument(marker, "api", 0)),
        probe=probe,
        breaks=as_ranges(marker_argument(marker, "breaks", 1)),
    )


def wanted(info: TestInfo, marked: bool, mode: str) -> bool:
    """Whether ``--kc-mode`` keeps a test: user tests need the marker (unless ``named`` or
    ``all``, where the command line or ``--keras-all-tests`` chose them), probes the mode."""
    if info.probe:
        return mode in protocol.PROBE_MODES
    return mode in protocol.UNMARKED_MODES or (
        marked and mode in (protocol.MODE_USER, protocol.MODE_BOTH)
    )


def read_skip_file(path: Optional[str]) -> Set[str]:
    """Test ids to leave out, e.g. the ones that crashed or hung a previous worker."""
    if not path:
        return set()
    with open(path, encoding="utf-8") as handle:
        return {line.strip() for line in handle if line.strip()}


# ------------------------------------------------------------------- test outcomes


class Phase(NamedTuple):
    """What one of setup/call/teardown produced."""

    when: str
    outcome: str
    wasxfail: Optional[str]
    exc: Optional[BaseException]
    duration: float
    longrepr: Optional[str]
    #: pytest's whole report text when the phase did not pass (:func:`report_text`).
    report: Optional[str] = None

    @classmethod
    def from_report(
        cls, report: pytest.TestReport, call: pytest.CallInfo[None], showcapture: str = "all"
    ) -> Phase:
        return cls(
            when=report.when,
            outcome=report.outcome,
            wasxfail=getattr(report, "wasxfail", None),
            exc=call.excinfo.value if call.excinfo is not None else None,
            duration=float(getattr(report, "duration", 0.0) or 0.0),
            longrepr=_longrepr_line(report),
            report=report_text(report, showcapture),
        )


def report_text(report: Any, showcapture: str = "all") -> Optional[str]:
    """What pytest prints for a report under FAILURES (or ERRORS): the traceback in the
    ``--tb`` style of this run, then the captured output ``--show-capture`` keeps.

    ``None`` for a pass or a skip, which have no traceback.
    """
    if report.passed or report.longrepr is None or isinstance(report.longrepr, tuple):
        return None
    parts = [terminal_text(report)]
    if showcapture != "no":
        for title, content in report.sections:
            if showcapture == "all" or showcapture in title:
                parts += [f" {title} ".center(80, "-"), content.rstrip("\n")]
    return clip("\n".join(parts), protocol.LONGREPR_LIMIT)


def terminal_text(report: Any) -> str:
    """``report.toterminal`` without markup. (``longreprtext`` strips the text, and with it
    the indent of the first source line.)"""
    try:
        from _pytest._io import TerminalWriter
    except ImportError:  # pragma: no cover - a pytest that moved it
        return str(report.longreprtext)
    buffer = io.StringIO()
    writer = TerminalWriter(buffer)
    writer.hasmarkup = False
    report.toterminal(writer)
    return buffer.getvalue().strip("\n")


def clip(text: str, limit: int) -> str:
    """``text`` whole if short enough, else its head and tail around a note of the cut."""
    if len(text) <= limit:
        return text
    head, tail = text[: limit * 2 // 3], text[-(limit // 3) :]
    cut = len(text) - len(head) - len(tail)
    return f"{head}\n[... {cut} characters cut here; the worker log has them ...]\n{tail}"


def _longrepr_line(report: pytest.TestReport) -> Optional[str]:
    """The reason line of a report's ``longrepr``: a skip tuple or a ``[XPASS(strict)]``."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
        return reason[len("Skipped: ") :] if reason.startswith("Skipped: ") else reason
    if isinstance(longrepr, str):
        return first_line(longrepr)
    return None


def phase_outcome(phase: Phase) -> str:
    """One phase in pytest's own terms; a failing setup or teardown is an error."""
    xfail = phase.wasxfail is not None
    if phase.outcome == "passed":
        return "xpassed" if xfail else "passed"
    if phase.outcome == "skipped":
        return "xfailed" if xfail else "skipped"
    return "failed" if phase.when == "call" else "error"


def decisive_phase(phases: Iterable[Phase]) -> Optional[Tuple[str, Phase]]:
    """The outcome of a whole test, and the phase that decided it.

    Setup decides when it does not pass (the call never runs); otherwise the call does,
    unless teardown then errors: a broken teardown outranks anything but a failure.
    """
    decided: Optional[Tuple[str, Phase]] = None
    for phase in phases:
        outcome = phase_outcome(phase)
        if phase.when == "teardown":
            if outcome == "error" and (decided is None or decided[0] not in ("failed", "error")):
                decided = (outcome, phase)
        elif decided is None or decided[0] == "passed":
            decided = (outcome, phase)
    return decided


def phase_details(outcome: str, phase: Phase) -> Dict[str, Any]:
    """``exc_type``, ``message`` and ``missing`` of the deciding phase.

    Skips and xfails report their reason as the message; an xfail caused by a real
    exception keeps that exception's type and missing name, which is what a "breaks"
    expectation is about.
    """
    exc = phase.exc
    pytest_outcome = exc is not None and isinstance(
        exc, (pytest.skip.Exception, pytest.xfail.Exception)
    )
    details: Dict[str, Any] = {"exc_type": None, "message": None, "missing": None}
    if exc is not None and not pytest_outcome:
        details.update(describe_exception(exc))
    elif exc is not None:
        details["message"] = first_line(str(getattr(exc, "msg", None) or exc))
    if outcome in ("xfailed", "xpassed") and not isinstance(exc, pytest.xfail.Exception):
        details["message"] = first_line(phase.wasxfail or "")
    if details["message"] is None and outcome != "passed":
        details["message"] = phase.longrepr
    return details


def summarize(phases: List[Phase], interrupted: Optional[BaseException]) -> Dict[str, Any]:
    """Fields of a ``finish`` event from the phases that ran.

    ``interrupted`` is an exception that escaped the whole protocol (``pytest.exit``,
    ``KeyboardInterrupt``): the test then counts as an error in the phase it stopped.
    """
    duration = sum(phase.duration for phase in phases)
    decided = decisive_phase(phases)
    if interrupted is not None and (decided is None or decided[0] == "passed"):
        when = _next_phase(phases)
        decided = ("error", Phase(when, "failed", None, interrupted, 0.0, None))
    fields: Dict[str, Any] = {"outcome": "error", "when": "setup"}
    fields.update(exc_type=None, message=None, missing=None)
    if decided is not None:
        outcome, phase = decided
        fields.update(outcome=outcome, when=phase.when, **phase_details(outcome, phase))
    fields["duration"] = duration
    fields["longrepr"] = decided[1].report if decided is not None else None
    return fields


def _next_phase(phases: List[Phase]) -> str:
    order = ("setup", "call", "teardown")
    if not phases:
        return order[0]
    index = order.index(phases[-1].when) if phases[-1].when in order else 2
    return order[min(index + 1, 2)]


# ---------------------------------------------------------------- warnings, logging


def warning_entry(message: warnings.WarningMessage) -> Dict[str, Any]:
    """A recorded :class:`warnings.WarningMessage` as a ``warnings`` entry."""
    category = message.category
    return {
        "category": qualified_name(category) if category else None,
        "message": first_line(str(message.message)),
        "filename": message.filename,
        "lineno": message.lineno,
    }


class DeprecationLogs(logging.Handler):
    """Collects WARNING+ log records that talk about deprecation during one test.

    TF 2.1-2.3 announce ``fit_generator``'s deprecation through the ``tensorflow`` logger
    instead of :mod:`warnings`, and that logger may not propagate, so this handler sits
    on both it and the root logger and keeps each record once.
    """

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.entries: List[Dict[str, Any]] = []
        self._seen: Set[int] = set()
        self._records: List[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if id(record) in self._seen:
            return
        self._seen.add(id(record))
        self._records.append(record)  # keeps ids unique while they are remembered
        try:
            text = record.getMessage()
        except Exception:
            text = str(record.msg)
        if protocol.DEPRECATION_WORD in text.lower():
            self.entries.append(
                {
                    "category": f"logging:{record.name}",
                    "message": first_line(text),
                    "filename": record.pathname,
                    "lineno": record.lineno,
                }
            )


class _LoggingCapture:
    """Attach a :class:`DeprecationLogs` to the root and TensorFlow loggers for a while."""

    def __init__(self) -> None:
        self.handler = DeprecationLogs()
        self._loggers = [logging.getLogger(), logging.getLogger(TENSORFLOW_LOGGER)]

    def __enter__(self) -> DeprecationLogs:
        for logger in self._loggers:
            logger.addHandler(self.handler)
        return self.handler

    def __exit__(self, *exc_info: Any) -> None:
        for logger in self._loggers:
            logger.removeHandler(self.handler)


def unique(entries: Iterable[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Entries in first-seen order without repeats (an epoch loop warns every step)."""
    seen: Set[Tuple[Any, ...]] = set()
    kept = []
    for entry in entries:
        key = tuple(entry.get(field) for field in ("category", "message", "filename", "lineno"))
        if key not in seen:
            seen.add(key)
            kept.append(entry)
    return kept


# ---------------------------------------------------------------------- watchdog


class Watchdog:
    """Dumps every thread's stack when a test outlives ``--kc-timeout``.

    The controller kills a hung worker shortly after the limit; this leaves behind where
    it was stuck.  First from Python, which can sample the main thread a few times and
    keep its deepest stack (:func:`format_stacks`); ``faulthandler``, which takes a single
    look, follows a moment later only if that could not run, because the hang holds the
    GIL inside TensorFlow's native code, where only C can still write.
    """

    #: How much later faulthandler dumps, if the Python dump has not cancelled it.
    FALLBACK_SECONDS = 0.5

    def __init__(self, timeout: Optional[float], stack_path: Optional[str]) -> None:
        self.timeout = timeout if timeout and timeout > 0 else None
        self._file: Optional[IO[str]] = None
        self._timer: Optional[threading.Timer] = None
        self._armed_at = 0.0
        if self.timeout and stack_path:
            self._file = open(stack_path, "a", encoding="utf-8")  # noqa: SIM115

    def arm(self) -> None:
        """Start the clock again (a test starts, or collection reaches another node)."""
        self.cancel()
        # The real stderr, not pytest's capture of it, which dies with the process.
        target = self._file or sys.__stderr__
        if self.timeout is None or target is None:
            return
        faulthandler.dump_traceback_later(
            self.timeout + self.FALLBACK_SECONDS, exit=False, file=target
        )
        self._armed_at = time.monotonic()
        self._timer = threading.Timer(self.timeout, self._dump, args=(target,))
        self._timer.daemon = True
        self._timer.start()

    def _dump(self, target: IO[str]) -> None:
        faulthandler.cancel_dump_traceback_later()
        late = time.monotonic() - self._armed_at >= (self.timeout or 0.0) + self.FALLBACK_SECONDS
        if late:
            return  # the GIL came back only after faulthandler had written the stacks
        target.write(format_stacks(self.timeout or 0.0))
        target.flush()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.timeout:
            faulthandler.cancel_dump_traceback_later()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def format_stacks(timeout: float, samples: int = 4, interval: float = 0.05) -> str:
    """Every other thread's stack in faulthandler's format, the main thread last.

    The main thread's stack is the deepest of a few samples: seen from another thread,
    a frame of a running generator can have lost its caller (here, Keras's ``steps()``
    generator inside ``fit`` showed no frame above it), which would hide the test.
    """
    main = threading.main_thread().ident or 0
    me = threading.get_ident()
    stacks = {ident: frame_lines(frame) for ident, frame in sys._current_frames().items()}
    for _ in range(samples - 1):
        time.sleep(interval)
        frame = sys._current_frames().get(main)
        deeper = frame_lines(frame) if frame is not None else []
        if len(deeper) > len(stacks.get(main, [])):
            stacks[main] = deeper
    minutes, seconds = divmod(int(timeout), 60)
    hours, minutes = divmod(minutes, 60)
    lines = [f"Timeout ({hours}:{minutes:02d}:{seconds:02d})!"]
    order = [ident for ident in stacks if ident not in (main, me)] + [main]
    for ident in order:
        if ident in stacks:
            lines.append(f"Thread 0x{ident:016x} (most recent call first):")
            lines.extend(stacks[ident])
            lines.append("")
    return "\n".join(lines) + "\n"


def frame_lines(frame: Any) -> List[str]:
    """A stack, innermost frame first, as faulthandler writes it."""
    return [
        f'  File "{summary.filename}", line {summary.lineno} in {summary.name}'
        for summary in reversed(traceback.extract_stack(frame))
    ]


# ------------------------------------------------------------------------ plugin


def quick_exit(status: int) -> None:
    """Leave now, as the run would have: every event is on disk and pytest has reported."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    logging.shutdown()
    os._exit(status)


class Recorder:
    """The hooks that write events; registered only when ``--kc-results`` is given."""

    def __init__(self, config: pytest.Config, log: EventLog) -> None:
        self.config = config
        self.log = log
        self.watchdog = Watchdog(
            config.getoption(protocol.TIMEOUT_FLAG), config.getoption(protocol.STACK_FILE_FLAG)
        )
        probes_dir = config.getoption(protocol.PROBES_DIR_FLAG)
        self.probes_dir = Path(probes_dir).resolve() if probes_dir else None
        self.tests: Dict[str, TestInfo] = {}
        self.phases: Dict[str, List[Phase]] = {}
        self.warnings: Dict[str, List[Dict[str, Any]]] = {}
        self.exitstatus: Optional[int] = None
        self.refused = False
        #: User tests collected but left out for want of the ``keras_compat`` marker.
        self.unmarked = 0

    # -- session

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        started = time.perf_counter()
        try:
            for module in self.config.getoption(protocol.REQUIRE_FLAG):
                fixtures.import_module(module)
            stack = fixtures.load_keras_stack(self.config.getoption(protocol.KERAS_MODULE_FLAG))
        except fixtures.ModuleLoadError as error:
            self.log.write(
                protocol.IMPORT_ERROR, **import_error_event(error.module, error.original)
            )
            # pytest skips pytest_sessionfinish when sessionstart exits, so say "done" here.
            self.log.write(protocol.DONE, exitstatus=protocol.EXIT_IMPORT_ERROR)
            self.exitstatus = protocol.EXIT_IMPORT_ERROR
            pytest.exit(f"kerascompat: {error}", returncode=protocol.EXIT_IMPORT_ERROR)
        self.log.write(
            protocol.SESSION, **self.session_fields(stack, time.perf_counter() - started)
        )

    def session_fields(self, stack: fixtures.KerasStack, seconds: float) -> Dict[str, Any]:
        return {
            "cell": self.config.getoption(protocol.CELL_FLAG),
            "python": platform.python_version(),
            "executable": sys.executable,
            "pid": os.getpid(),
            "tensorflow": stack.tensorflow_version,
            "keras": stack.keras_version,
            "keras_module": stack.keras_module,
            "backend": stack.backend,
            "import_seconds": seconds,
            "library_paths": library_paths(),
            "installed": installed_distributions(),
        }

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.exitstatus = int(exitstatus)
        if not self.refused and user_config.refused_late(session.config, self.exitstatus):
            self.log.write(protocol.USAGE_ERROR, **user_config.late_refusal(session.config))
        self.log.write(protocol.DONE, exitstatus=self.exitstatus)

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.watchdog.close()
        self.log.close()
        if config.getoption(protocol.QUICK_EXIT_FLAG) and self.exitstatus is not None:
            quick_exit(self.exitstatus)

    # -- collection

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: List[pytest.Item]
    ) -> None:
        mode = config.getoption(protocol.MODE_FLAG)
        skipped = read_skip_file(config.getoption(protocol.SKIP_FLAG))
        kept, deselected = [], []
        for item in items:
            info = describe_item(item, self.probes_dir)
            marked = item.get_closest_marker(MARKER) is not None
            if wanted(info, marked, mode) and not skipped & {info.test, item.nodeid}:
                kept.append(item)
            else:
                deselected.append(item)
                self.unmarked += not info.probe and not marked
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = kept

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> Generator[None, Any, None]:
        """pytest 8+ checks ini keys after collecting: ``--strict-config`` (or
        ``filterwarnings = error``) refuses an unknown one here, after the imports.

        The time limit covers collection too: a module that hangs at import time has
        its stack dumped like a hung test (the controller stops it).
        """
        self.watchdog.arm()
        try:
            outcome = yield
        finally:
            self.watchdog.cancel()
        if outcome.excinfo is not None and user_config.is_refusal(outcome.excinfo[1]):
            fields = user_config.usage_error_fields(outcome.excinfo[1])
            self.log.write(protocol.USAGE_ERROR, **fields)
            self.refused = True

    def pytest_collectstart(self, collector: pytest.Collector) -> None:
        """Said before a directory, module or class is collected (a module is imported
        then): a worker that dies or hangs before ``collected`` died there."""
        if isinstance(collector, pytest.Session):
            return
        self.log.write(protocol.COLLECTING, test=collector.nodeid)
        self.watchdog.arm()

    def pytest_exception_interact(self, node: Any, call: Any, report: Any) -> None:
        """A module that fails to import (a removed name at its top) is a square too."""
        if not isinstance(report, pytest.CollectReport) or call.excinfo is None:
            return
        path = getattr(node, "path", None)
        probe = path is not None and is_inside(Path(str(path)), self.probes_dir)
        error = call.excinfo.value
        if isinstance(error, pytest.Collector.CollectError) and error.__cause__ is not None:
            error = error.__cause__  # pytest wraps a module's ImportError; report the original
        details = describe_exception(error)
        self.log.write(
            protocol.COLLECT_ERROR,
            test=report.nodeid,
            api=None,
            probe=probe,
            outcome="error",
            longrepr=report_text(report),
            **details,
        )

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.tests = {item.nodeid: describe_item(item, self.probes_dir) for item in session.items}
        self.log.write(
            protocol.COLLECTED,
            tests=[info.as_dict() for info in self.tests.values()],
            unmarked=self.unmarked,
        )

    # -- running

    def info(self, item: pytest.Item) -> TestInfo:
        return self.tests.get(item.nodeid) or describe_item(item, self.probes_dir)

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: Optional[pytest.Item]
    ) -> Generator[None, Any, None]:
        info = self.info(item)
        self.log.write(protocol.START, test=info.test, api=info.api)
        self.phases[item.nodeid] = []
        self.watchdog.arm()
        try:
            with _LoggingCapture() as logs:
                outcome = yield
        finally:
            self.watchdog.cancel()
        fields = summarize(self.phases.pop(item.nodeid, []), outcome.excinfo and outcome.excinfo[1])
        recorded = unique(self.warnings.pop(item.nodeid, []) + logs.entries)
        self.log.write(
            protocol.FINISH,
            test=info.test,
            api=info.api,
            probe=info.probe,
            warnings=recorded,
            **fields,
        )

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, Any, None]:
        outcome = yield
        phases = self.phases.get(item.nodeid)
        if phases is not None and outcome.excinfo is None:
            showcapture = str(getattr(item.config.option, "showcapture", "all"))
            phases.append(Phase.from_report(outcome.get_result(), call, showcapture))

    def pytest_warning_recorded(self, warning_message: Any, when: str, nodeid: str) -> None:
        if when == "runtest" and nodeid:
            self.warnings.setdefault(nodeid, []).append(warning_entry(warning_message))
