"""One wrapper for every subprocess: argument lists, logs, time limits, clean stops.

Values from ``matrix.yaml`` reach installers and interpreters only as argument
lists, never through a shell; every child runs in its own process group so a stop
takes its children (TensorFlow's, nox's, uv's, and whatever a test forked) with it, even
once the child itself has exited. A reaper process (:class:`Reaper`) knows every group
still running and ends them when this process dies, however it dies: nothing a sweep
started outlives it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

STOP_GRACE_SECONDS = 3.0
POLL_SECONDS = 0.1


class CommandStopped(Exception):
    """A command was stopped because the sweep is being interrupted."""

    def __init__(self, argv: Sequence[str]) -> None:
        super().__init__(f"{argv[0]} was stopped")


class CommandTimeout(Exception):
    """A command ran past its time limit and was stopped."""

    def __init__(self, argv: Sequence[str], seconds: float) -> None:
        super().__init__(f"{argv[0]} ran past {seconds:g} s and was stopped")
        self.seconds = seconds


#: The reaper: reads ``+PGID``/``-PGID`` lines; at end of input (this process closed the
#: pipe, or died) it terminates every group still listed, then kills what lingers. It
#: never takes 0 or 1, nor its own group: ``killpg(1)`` is ``kill(-1)``, every process
#: the user may signal, and ``killpg(0)`` the caller's own group.
REAPER_SCRIPT = """
import os, signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
groups = set()
for line in sys.stdin:
    sign, group = line[:1], line[1:].strip()
    if group.isdigit() and int(group) > 1 and int(group) != os.getpgrp():
        (groups.add if sign == "+" else groups.discard)(int(group))
def alive(group):
    try:
        os.killpg(group, 0)
    except OSError:
        return False
    return True
for sig in (signal.SIGTERM, signal.SIGKILL):
    groups = set(filter(alive, groups))
    for group in groups:
        try:
            os.killpg(group, sig)
        except OSError:
            pass
    deadline = time.monotonic() + float(sys.argv[1])
    while groups and time.monotonic() < deadline:
        time.sleep(0.05)
        groups = set(filter(alive, groups))
"""


class Reaper:
    """A watchdog process that ends every process group this process started, when this
    process ends: on a normal exit, on SIGTERM, and on SIGKILL, which no handler sees.

    It hears of each group through a pipe only this process holds, so the end of that
    pipe is this process's death. It runs in a session of its own: the signal that
    stops the controller's terminal group does not stop it.
    """

    _lock = threading.Lock()
    _instance: Reaper | None = None

    def __init__(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - an argument list, never a shell
            [sys.executable, "-I", "-S", "-c", REAPER_SCRIPT, f"{STOP_GRACE_SECONDS:g}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    @classmethod
    def get(cls) -> Reaper:
        with cls._lock:
            if cls._instance is None or cls._instance.process.poll() is not None:
                cls._instance = Reaper()
                atexit.register(cls._instance.close)
            return cls._instance

    @classmethod
    def forget(cls, group: int) -> None:
        """The group is gone: nothing to end for it later (its number may be reused)."""
        reaper = cls._instance
        if reaper is not None and reaper.process.poll() is None:
            reaper.tell(f"-{group}")

    def tell(self, line: str) -> None:
        """``+PGID`` or ``-PGID``; see :data:`REAPER_SCRIPT`."""
        with self._lock, contextlib.suppress(OSError, ValueError):
            assert self.process.stdin is not None
            self.process.stdin.write(line.encode() + b"\n")
            self.process.stdin.flush()

    def close(self, timeout: float = 2 * STOP_GRACE_SECONDS + 1) -> None:
        """At exit: the pipe closes, the reaper ends what is left and leaves."""
        with contextlib.suppress(OSError, ValueError):
            assert self.process.stdin is not None
            self.process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=timeout)


def start_logged(
    argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, log: Path
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new process group with stdout and stderr appended to ``log``;
    the reaper knows of the group until :func:`stop` has ended it."""
    log.parent.mkdir(parents=True, exist_ok=True)
    reaper = Reaper.get()
    with log.open("ab") as stream:
        process = subprocess.Popen(  # noqa: S603 - an argument list, never a shell
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=stream,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    if is_own_group(process.pid):
        reaper.tell(f"+{process.pid}")
    return process


def is_own_group(group: int) -> bool:
    """Whether ``group`` can be one :func:`start_logged` made: ``killpg`` of 0 or 1 would
    reach this process's own group, or every process the user may signal."""
    return group > 1 and group != os.getpgrp()


def group_alive(group: int) -> bool:
    """Whether any process is left in the process group ``group``."""
    if not is_own_group(group):
        return False
    try:
        os.killpg(group, 0)
    except OSError:  # none left, or none this process may signal (it cannot end them)
        return False
    return True


def stop(process: subprocess.Popen[bytes], grace: float = STOP_GRACE_SECONDS) -> None:
    """End the whole process group: terminate, then kill what lingers.

    Also when its leader has already exited: children it (or a test) forked stay in its
    group, and must not outlive it.
    """
    for sig in (signal.SIGTERM, signal.SIGKILL):
        process.poll()  # reap the leader, so that only the living count
        if not group_alive(process.pid):
            break
        try:
            os.killpg(process.pid, sig)
        except OSError:
            break
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            process.poll()
            if not group_alive(process.pid):
                break
            time.sleep(POLL_SECONDS / 4)
    process.poll()
    Reaper.forget(process.pid)


def run_logged(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    log: Path,
    timeout: float | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    on_poll: Callable[[], None] = lambda: None,
) -> int:
    """Run to completion (or the time limit, or until asked to stop); return the exit status.

    ``on_poll`` runs between waits, for whoever follows the log as it grows.
    """
    process = start_logged(argv, env=env, cwd=cwd, log=log)
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while True:
            try:
                return process.wait(timeout=POLL_SECONDS)
            except subprocess.TimeoutExpired:
                pass
            on_poll()
            if should_stop():
                raise CommandStopped(argv)
            if deadline is not None and time.monotonic() > deadline:
                raise CommandTimeout(argv, timeout or 0)
    finally:
        stop(process)


def describe_exit(returncode: int | None) -> str:
    """``killed by SIGSEGV`` reads better than ``-11``."""
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


def log_tail(log: Path, lines: int = 12) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])
