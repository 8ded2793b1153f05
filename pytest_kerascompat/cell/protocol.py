"""Everything the controller and a cell's worker must agree on, declared once.

The controller starts ``<cell python> -m kerascompat_cell`` (pytest with the worker
plugin registered before the command line is parsed) with the ``--kc-*`` flags below,
and reads back the worker's events file: one JSON object per line, ``{"event": <kind>,
"time": <seconds since the epoch>, ...}``, with the fields of that kind's ``TypedDict``.
The controller adds ``casualty`` events of its own to the same file. Both sides import
this module, so it runs on Python 3.7+ and imports only the standard library (it is
copied into every cell with the rest of ``cell/``).
"""

from __future__ import annotations

import sys
from typing import Any, Dict, List, Optional, Tuple, Union

if sys.version_info >= (3, 8):
    from typing import TypedDict
else:  # Python 3.7 has no TypedDict; the worker never needs the types, only the names
    TypedDict = dict

#: The name the cell package is importable under inside every cell.
CELL_PACKAGE = "kerascompat_cell"
#: The probes' directory inside the cell package, and their one module.
PROBES_DIR = "probes"
PROBES_MODULE = "test_data_feeding.py"
#: Inside the cell package: the options and ini keys of the controller's plugin, which the
#: worker accepts and ignores so that a user's configuration naming them stays valid.
HOST_OPTIONS_FILE = "host_options.json"
#: Most characters of pytest's report text a ``finish`` event carries; a longer one keeps
#: its head and tail (the whole text is in the worker log).
LONGREPR_LIMIT = 60_000
#: How a sweep names a built-in probe's square (``probes::test_fit_generator``), whatever
#: directory the controller put the probes in.
PROBE_PREFIX = "probes::"

# ----------------------------------------------------------------------- modes

#: Tests marked ``keras_compat`` only.
MODE_USER = "user"
#: The built-in probes only.
MODE_PROBES = "probes"
#: Both of the above.
MODE_BOTH = "both"
#: Every test the command line names, marked or not (a bisect watches one test;
#: ``--keras-all-tests`` runs every collected test).
MODE_NAMED = "named"
#: Every collected test, marked or not, and the probes.
MODE_ALL = "all"
MODES = (MODE_USER, MODE_PROBES, MODE_BOTH, MODE_NAMED, MODE_ALL)
#: Modes that run the probes, and modes that run the user's tests.
PROBE_MODES = (MODE_PROBES, MODE_BOTH, MODE_ALL)
USER_MODES = (MODE_USER, MODE_BOTH, MODE_NAMED, MODE_ALL)
#: Modes that run the user's tests whether they are marked or not.
UNMARKED_MODES = (MODE_NAMED, MODE_ALL)

# ------------------------------------------------------------ worker command line

#: Append the events to this file; without it the worker records nothing.
RESULTS_FLAG = "--kc-results"
CELL_FLAG = "--kc-cell"
KERAS_MODULE_FLAG = "--kc-keras-module"
#: A module that must import, else the session stops (repeatable).
REQUIRE_FLAG = "--kc-require"
MODE_FLAG = "--kc-mode"
PROBES_DIR_FLAG = "--kc-probes-dir"
#: A file of test ids, one a line, that a restarted worker leaves out.
SKIP_FLAG = "--kc-skip"
#: A file of test ids, one a line, that the worker runs before the others (``--ff``).
FIRST_FLAG = "--kc-first"
TIMEOUT_FLAG = "--kc-timeout"
STACK_FILE_FLAG = "--kc-stack-file"
QUICK_EXIT_FLAG = "--kc-quick-exit"

#: Exit status of a worker whose required modules do not import, so that the controller
#: can tell "this cell cannot run Keras at all" from test failures (1) and usage errors.
EXIT_IMPORT_ERROR = 3
#: Exit status of a worker whose controller died.
EXIT_ORPHANED = 70
#: The controller's process id, in the worker's environment: a worker whose parent is
#: already another process when it starts leaves at once, before importing anything.
PARENT_VARIABLE = "KERASCOMPAT_PARENT_PID"

#: Substring (lower-cased) that makes a warning or a logged WARNING a deprecation.
DEPRECATION_WORD = "deprecat"

# ---------------------------------------------------------------------- events

SESSION = "session"
IMPORT_ERROR = "import_error"
COLLECTED = "collected"
COLLECT_ERROR = "collect_error"
START = "start"
FINISH = "finish"
CASUALTY = "casualty"
USAGE_ERROR = "usage_error"
COLLECTING = "collecting"
DONE = "done"


class Missing(TypedDict):
    """The name an exception says is gone."""

    kind: str  # "attribute", "import" or "keyword"
    name: str
    owner: Optional[str]
    #: The method resolution order of the class the attribute was looked up on (or of
    #: the class whose method rejected the keyword), as ``module.QualName``; ``None``
    #: when it could not be found. The controller decides which bases are Keras's.
    mro: Optional[List[str]]
    #: Whose code raised it: for a keyword, the module of the callable that rejected it;
    #: for an attribute, of the innermost frame (the user's line, or a library's own
    #: code); ``None`` when it could not be found.
    raised_by: Optional[str]


class WarningEntry(TypedDict):
    """A warning raised, or a deprecation logged, during one test."""

    category: Optional[str]  # "logging:<logger>" for a logged one
    message: Optional[str]
    filename: str
    lineno: Optional[int]


class CollectedTest(TypedDict):
    """How the controller names and groups one collected test."""

    test: str
    api: Optional[str]
    probe: bool
    breaks: Optional[Union[str, List[str]]]


class SessionEvent(TypedDict):
    """TensorFlow and the Keras under test imported: what this cell really runs."""

    event: str
    time: float
    cell: Optional[str]
    python: str
    executable: str
    pid: int
    tensorflow: Optional[str]
    keras: Optional[str]
    keras_module: Optional[str]
    backend: Optional[str]
    import_seconds: float
    #: Directories of the standard library and the installed packages: a warning from a
    #: file outside them was raised by the user's own code.
    library_paths: List[str]
    #: ``name==version`` of every distribution installed in the cell's environment.
    installed: List[str]


class ImportErrorEvent(TypedDict):
    """A required module did not import; ``done`` follows and the worker exits with
    :data:`EXIT_IMPORT_ERROR`."""

    event: str
    time: float
    module: str
    exc_type: str
    message: Optional[str]
    traceback: str


class CollectingEvent(TypedDict):
    """A collector (a directory, a module, a class) starts: if the worker dies or hangs
    before ``collected``, this is where, and collection never finished."""

    event: str
    time: float
    test: str


class CollectedEvent(TypedDict):
    """The tests this worker will run, after selection."""

    event: str
    time: float
    tests: List[CollectedTest]
    #: Tests collected but left out because they are not marked ``keras_compat``.
    unmarked: int


class CollectErrorEvent(TypedDict):
    """A test module failed to import: a square of its own."""

    event: str
    time: float
    test: str
    api: None
    probe: bool
    outcome: str  # always "error"
    exc_type: Optional[str]
    message: Optional[str]
    missing: Optional[Missing]
    longrepr: Optional[str]  # pytest's report of the failed import


class StartEvent(TypedDict):
    """A test starts: if the worker dies or hangs now, this test did it."""

    event: str
    time: float
    test: str
    api: Optional[str]


class FinishEvent(TypedDict):
    """A test's outcome in pytest's terms, and what the square needs to classify it."""

    event: str
    time: float
    test: str
    api: Optional[str]
    probe: bool
    warnings: List[WarningEntry]
    outcome: str  # passed, failed, error, skipped, xfailed or xpassed
    when: str  # the phase that decided: setup, call or teardown
    exc_type: Optional[str]
    message: Optional[str]
    missing: Optional[Missing]
    duration: float
    #: pytest's own report text of a test that did not pass (traceback in the ``--tb``
    #: style asked for, assertion diff, captured output); ``None`` for passes and skips.
    longrepr: Optional[str]


class UsageErrorEvent(TypedDict):
    """pytest in this cell refused the user's configuration (an unknown option or ini
    key, a plugin that does not load); ``done`` follows and no test runs."""

    event: str
    time: float
    exc_type: str
    message: str


class CasualtyEvent(TypedDict):
    """Written by the controller: the square of a test whose worker crashed or hung."""

    event: str
    result: Dict[str, Any]  # a ``Result`` as the JSON report has it


class DoneEvent(TypedDict):
    """The session ended; every event is written."""

    event: str
    time: float
    exitstatus: int


#: Every event kind, in the order a worker writes them, and its fields.
EVENTS: Dict[str, type] = {
    SESSION: SessionEvent,
    IMPORT_ERROR: ImportErrorEvent,
    USAGE_ERROR: UsageErrorEvent,
    COLLECTING: CollectingEvent,
    COLLECT_ERROR: CollectErrorEvent,
    COLLECTED: CollectedEvent,
    START: StartEvent,
    FINISH: FinishEvent,
    CASUALTY: CasualtyEvent,
    DONE: DoneEvent,
}


def fields(kind: str) -> Tuple[str, ...]:
    """The fields an event of ``kind`` carries, ``event`` first."""
    return tuple(EVENTS[kind].__annotations__)
