"""Cell environments: built by nox sessions, found again by their plan's key.

Each plan gets its own content-addressed ``--envdir`` under the cache, so a changed
requirement set builds a new environment and never touches another cell's. A build
counts as finished only once the session wrote the ready marker, so an interrupted
build is rebuilt, never reused half-made; a lock file keeps two sweeps from building
the same environment at once, and a hold file per process says the environment is in
use, so ``cache prune`` never removes it under a running sweep.

Layout: ``<cache>/envs/<key>/`` (nox's ``--envdir``: the environment, and the record
of the cells and matrix files that used it), ``<cache>/envs/<key>.lock`` (the build
lock) and ``<cache>/envs/<key>.holders/<pid>.lock`` (one per process using it).
"""

from __future__ import annotations

import datetime
import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import filelock
import platformdirs

from pytest_kerascompat.env._files import write_text_atomically
from pytest_kerascompat.env._install_progress import InstallFollower
from pytest_kerascompat.env._integrity import damage
from pytest_kerascompat.plan.plans import CellPlan
from pytest_kerascompat.sweep._processes import log_tail, run_logged

READY_MARKER = "kerascompat-ready.json"
BUILDING_MARKER = "kerascompat-building"
USES_FILE = "kerascompat-uses.json"
#: The most recent uses an environment's record keeps (cell and matrix file pairs).
USES_KEPT = 20
HOLDERS_SUFFIX = ".holders"
BUNDLED_NOXFILE = Path(__file__).with_name("_noxfile.py")
PLAN_FILE_VARIABLE = "KERASCOMPAT_PLAN_FILE"
CACHE_VARIABLE = "KERASCOMPAT_CACHE_DIR"
BUILD_TIMEOUT_SECONDS = 1800.0
DECISIVE = re.compile(
    r"error|\u00d7|\u2570\u2500\u25b6|because|no solution|not found|no matching|conflict|"
    r"unsatisfiable|requires-python|failed",
    re.IGNORECASE,
)


class InstallError(Exception):
    """A cell's environment could not be built."""

    def __init__(self, detail: str, log: Path) -> None:
        super().__init__(detail)
        self.detail, self.log = detail, log


def default_cache_dir() -> Path:
    """``$KERASCOMPAT_CACHE_DIR``, else the platform's user cache directory.

    ``~/.cache/pytest-kerascompat`` on Linux (``$XDG_CACHE_HOME`` honoured),
    ``~/Library/Caches/pytest-kerascompat`` on macOS, ``%LOCALAPPDATA%`` on Windows.
    """
    if os.environ.get(CACHE_VARIABLE):
        return Path(os.environ[CACHE_VARIABLE]).expanduser()
    return Path(platformdirs.user_cache_dir("pytest-kerascompat", appauthor=False))


def envdir_for(cache_dir: Path, plan: CellPlan) -> Path:
    return cache_dir / "envs" / plan.key[:16]


def venv_python(location: Path, platform: str = sys.platform) -> Path:
    """Where a virtual environment keeps its interpreter on this platform."""
    if platform == "win32":
        return location / "Scripts" / "python.exe"
    return location / "bin" / "python"


def is_ready(location: Path, plan: CellPlan) -> bool:
    try:
        marker = json.loads((location / READY_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(marker.get("key") == plan.key and venv_python(location).exists())


def mark_ready(location: Path, plan: CellPlan) -> None:
    marker = {
        "key": plan.key,
        "cell": plan.name,
        "install": list(plan.install_arguments),
        "built": time.time(),
    }
    write_text_atomically(location / READY_MARKER, json.dumps(marker, indent=2) + "\n")


def built_at(location: Path) -> float:
    """When the environment was marked ready (0 for a marker that does not say)."""
    try:
        built = json.loads((location / READY_MARKER).read_text(encoding="utf-8")).get("built")
    except (OSError, ValueError, AttributeError):
        return 0.0
    return float(built) if isinstance(built, (int, float)) else 0.0


def reason_to_rebuild(location: Path, plan: CellPlan, rebuild_before: float | None) -> str | None:
    """Why a ready environment must not be reused: asked to rebuild, or found damaged.

    ``rebuild_before`` is when the sweep asking for ``--keras-rebuild`` started: an
    environment built since (by this sweep for another cell, or by a sweep alongside)
    is already new.
    """
    if rebuild_before is not None and built_at(location) < rebuild_before:
        return "--keras-rebuild asked for a new environment"
    problem = damage(location, [anchor.name for anchor in plan.spec.anchors])
    return None if problem is None else f"environment damaged: {problem}"


def discard(location: Path) -> None:
    """Unmark a ready environment so the next build starts it over (see ``build_cell``)."""
    mark_building(location)
    (location / READY_MARKER).unlink(missing_ok=True)


def mark_building(location: Path) -> None:
    """Written before installing: a build that never reaches ``mark_ready`` is known."""
    (location / BUILDING_MARKER).touch()


def holds_a_build(location: Path) -> bool:
    """Whether an environment saw an install, finished or not (a fresh one saw none).

    nox keeps to itself whether it reused an environment; these markers say it instead.
    """
    return any((location / marker).exists() for marker in (READY_MARKER, BUILDING_MARKER))


def find_ready(envdir: Path, plan: CellPlan) -> Path | None:
    if not envdir.is_dir():
        return None
    return next((child for child in envdir.iterdir() if is_ready(child, plan)), None)


def build_lock(envdir: Path, timeout: float = -1) -> filelock.BaseFileLock:
    """The lock of one environment's builds; the OS releases it even on a crash.

    ``cache prune`` takes it too, so it never removes an environment being built, and
    never one between a sweep finding it ready and the sweep holding it.
    """
    envdir.parent.mkdir(parents=True, exist_ok=True)
    return filelock.FileLock(envdir.with_suffix(".lock"), timeout=timeout, thread_local=False)


_HOLDS: dict[Path, filelock.BaseFileLock] = {}
_HOLDS_GUARD = threading.Lock()


def holders_dir(envdir: Path) -> Path:
    return envdir.with_name(envdir.name + HOLDERS_SUFFIX)


def hold(envdir: Path) -> None:
    """Say this process uses ``envdir`` for as long as it lives (the OS frees it on exit).

    A hold is a lock file of its own per process, so any number of sweeps can hold the
    same environment while ``cache prune`` can still ask whether anyone does.
    """
    path = holders_dir(envdir) / f"{os.getpid()}.lock"
    with _HOLDS_GUARD:
        if path in _HOLDS:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(path, thread_local=False)
        lock.acquire()
        _HOLDS[path] = lock


def release_holds() -> None:
    """Give up every hold of this process (a sweep that ended while the process goes on)."""
    with _HOLDS_GUARD:
        for lock in _HOLDS.values():
            lock.release()
        _HOLDS.clear()


def is_held(envdir: Path, *, by_others: bool = False) -> bool:
    """Whether a live process (``by_others``: another one) holds ``envdir``; hold files of
    dead processes are removed.

    Call it under :func:`build_lock`: no new hold can start meanwhile.
    """
    held = False
    for path in sorted(holders_dir(envdir).glob("*.lock")):
        if path in _HOLDS:
            held = held or not by_others
            continue
        probe = filelock.FileLock(path, timeout=0, thread_local=False)
        try:
            probe.acquire()
        except filelock.Timeout:
            held = True
        else:
            probe.release()
            path.unlink(missing_ok=True)
    return held


def record_use(envdir: Path, plan: CellPlan, now: datetime.datetime | None = None) -> None:
    """Note which cell of which matrix file used the environment, and when: ``cache list``."""
    when = (now or datetime.datetime.now(datetime.timezone.utc)).isoformat(timespec="seconds")
    uses = [
        use
        for use in read_uses(envdir)
        if (use.get("cell"), use.get("matrix")) != (plan.name, plan.spec.matrix_file)
    ]
    uses.append({"cell": plan.name, "matrix": plan.spec.matrix_file, "last_used": when})
    kept = uses[-USES_KEPT:]  # the newest last: an environment shared by many runs stays small
    write_text_atomically(envdir / USES_FILE, json.dumps({"uses": kept}, indent=2) + "\n")


def read_uses(envdir: Path) -> list[dict[str, str | None]]:
    try:
        data = json.loads((envdir / USES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    uses = data.get("uses") if isinstance(data, dict) else None
    return [use for use in uses if isinstance(use, dict)] if isinstance(uses, list) else []


def ensure_environment(
    plan: CellPlan,
    *,
    cache_dir: Path,
    plan_file: Path,
    log: Path,
    cwd: Path,
    should_stop: Callable[[], bool] = lambda: False,
    progress: Callable[[str], None] = lambda text: None,
    say: Callable[[str], None] = lambda text: None,
    rebuild_before: float | None = None,
) -> tuple[Path, bool]:
    """The ready environment of ``plan`` and whether this call built it, held by this process.

    While it builds, ``progress`` hears what the installer is doing and for how long. A
    ready environment is checked before reuse and rebuilt when damaged or asked
    (``rebuild_before``, see :func:`reason_to_rebuild`); ``say`` hears why.
    """
    envdir = envdir_for(cache_dir, plan)
    with build_lock(envdir):
        ready = find_ready(envdir, plan)
        why = None if ready is None else reason_to_rebuild(ready, plan, rebuild_before)
        if ready is not None and why is None:
            hold(envdir)
            record_use(envdir, plan)
            return ready, False
        if ready is not None and why is not None:
            start_over(ready, envdir, why, log)
            say(f"{why}; rebuilding it")
        follower = InstallFollower(log, progress)
        status = run_logged(
            nox_argv(plan, envdir),
            env={**os.environ, PLAN_FILE_VARIABLE: str(plan_file)},
            cwd=cwd,
            log=log,
            timeout=BUILD_TIMEOUT_SECONDS,
            should_stop=should_stop,
            on_poll=follower.poll,
        )
        follower.poll()  # the lines of the last moments, before the build's outcome
        ready = find_ready(envdir, plan)
        if status != 0 or ready is None:
            raise InstallError(decisive_lines(log), log)
        hold(envdir)
        record_use(envdir, plan)
        return ready, True


def start_over(location: Path, envdir: Path, why: str, log: Path) -> None:
    """Unmark ``location`` for a rebuild, unless another sweep is running tests in it."""
    if is_held(envdir, by_others=True):
        raise InstallError(
            f"{why}, but another running sweep uses {location}; rebuild it once that sweep "
            "ends (pytest --keras-matrix --keras-rebuild=CELL)",
            log,
        )
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as stream:
        stream.write(f"kerascompat: {why}; rebuilding {location}\n")
    discard(location)


def nox_argv(plan: CellPlan, envdir: Path) -> list[str]:
    return [
        sys.executable, "-m", "nox",
        "--noxfile", str(BUNDLED_NOXFILE),
        "--envdir", str(envdir),
        "--sessions", plan.session_id,
        "--install-only",
        "--reuse-venv", "no",
        "--download-python", "never",
        "--error-on-missing-interpreters",
        "--no-color",
    ]  # fmt: skip


def decisive_lines(log: Path, limit: int = 8) -> str:
    """The lines of an installer's output that say why it failed."""
    lines = [line.rstrip() for line in log_tail(log, 200).splitlines() if line.strip()]
    chosen = [line for line in lines if DECISIVE.search(line) and "nox >" not in line]
    return "\n".join((chosen or lines)[-limit:])
