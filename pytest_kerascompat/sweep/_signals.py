"""SIGTERM ends a sweep as Ctrl-C does.

SIGTERM is what a cancelled CI job, ``timeout`` and a plain ``kill`` send. Left to
Python's default, it ends the controller at once (exit 143): no report, and only the
reaper (``_processes.Reaper``) to end the builds and workers. Raised as an interrupt
instead, it goes the way Ctrl-C goes: every cell stops its processes, the report of
the finished cells is written, and pytest exits 2 (interrupted).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Generator
from types import FrameType
from typing import Any

import pytest

PLUGIN_NAME = "kerascompat-sigterm"


class Terminated(KeyboardInterrupt):
    """The sweep received SIGTERM."""

    def __str__(self) -> str:
        return "SIGTERM: the sweep was stopped as by Ctrl-C; the finished cells are reported"


def interrupt(signum: int, frame: FrameType | None) -> None:
    """Once: while the interrupted sweep stops its cells and writes its report, a second
    SIGTERM (a CI runner's repeat before its SIGKILL) is not to cut that short."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated


class TerminateAsInterrupt:
    """Turns SIGTERM into :class:`Terminated` for as long as the sweep runs."""

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, Any, None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # signal handlers belong to the main thread
            return
        previous = signal.signal(signal.SIGTERM, interrupt)
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, previous)
