"""One wrapper for every subprocess: argument lists, logs, time limits, clean stops.

Values from ``matrix.yaml`` reach installers and interpreters only as argument
lists, never through a shell; every child runs in its own process group so a stop
takes its children (TensorFlow's, nox's, uv's) with it.
"""

from __future__ import annotations

import os
import signal
import subprocess
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


def start_logged(
    argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, log: Path
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new process group with stdout and stderr appended to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as stream:
        return subprocess.Popen(  # noqa: S603 - an argument list, never a shell
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=stream,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen[bytes], grace: float = STOP_GRACE_SECONDS) -> None:
    """Terminate the whole process group, then kill it if it lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue


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
