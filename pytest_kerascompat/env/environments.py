"""Cell environments: built by nox sessions, found again by their plan's key.

Each plan gets its own content-addressed ``--envdir`` under the cache, so a changed
requirement set builds a new environment and never touches another cell's. A build
counts as finished only once the session wrote the ready marker, so an interrupted
build is rebuilt, never reused half-made; a lock file keeps two sweeps from building
the same environment at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from pytest_kerascompat.env._files import write_text_atomically
from pytest_kerascompat.env._install_progress import InstallFollower
from pytest_kerascompat.plan.plans import CellPlan
from pytest_kerascompat.sweep._processes import log_tail, run_logged

READY_MARKER = "kerascompat-ready.json"
BUILDING_MARKER = "kerascompat-building"
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
    if os.environ.get(CACHE_VARIABLE):
        return Path(os.environ[CACHE_VARIABLE]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "pytest-kerascompat"


def envdir_for(cache_dir: Path, plan: CellPlan) -> Path:
    return cache_dir / "envs" / plan.key[:16]


def venv_python(location: Path) -> Path:
    return location / "bin" / "python"


def is_ready(location: Path, plan: CellPlan) -> bool:
    try:
        marker = json.loads((location / READY_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(marker.get("key") == plan.key and venv_python(location).exists())


def mark_ready(location: Path, plan: CellPlan) -> None:
    marker = {"key": plan.key, "cell": plan.name, "install": list(plan.install_arguments)}
    write_text_atomically(location / READY_MARKER, json.dumps(marker, indent=2) + "\n")


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


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock held for as long as the block runs, released even on a crash."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as stream:
        fcntl.flock(stream, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(stream, fcntl.LOCK_UN)


def ensure_environment(
    plan: CellPlan,
    *,
    cache_dir: Path,
    plan_file: Path,
    log: Path,
    cwd: Path,
    should_stop: Callable[[], bool] = lambda: False,
    progress: Callable[[str], None] = lambda text: None,
) -> tuple[Path, bool]:
    """The ready environment of ``plan`` and whether this call built it.

    While it builds, ``progress`` hears what the installer is doing and for how long.
    """
    envdir = envdir_for(cache_dir, plan)
    with file_lock(envdir.with_suffix(".lock")):
        ready = find_ready(envdir, plan)
        if ready is not None:
            return ready, False
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
        return ready, True


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
