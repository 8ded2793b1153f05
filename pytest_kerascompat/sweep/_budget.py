"""``-x`` and ``--maxfail=N`` for a whole sweep: failing squares counted as they finish.

pytest stops its loop after N failures; a sweep runs several cells at once, so the
count is shared by every cell's thread. Once it is spent no cell starts, running
workers are stopped, and the squares they had not reached are left out of the table
(not run is not a result). Cells running in parallel may each add a failure that was
already under way, as pytest-xdist's ``-x`` does.
"""

from __future__ import annotations

import threading

from pytest_kerascompat.model.results import Result


class FailureBudget:
    """How many failing squares the sweep may still see; ``maxfail`` 0 is no limit."""

    def __init__(self, maxfail: int = 0) -> None:
        self.maxfail = maxfail
        self.failures = 0
        self._lock = threading.Lock()
        self._spent = threading.Event()

    def charge(self, result: Result) -> None:
        """Count ``result`` if it fails the run (probes and passes cost nothing)."""
        if not self.maxfail or not result.fails_run:
            return
        with self._lock:
            self.failures += 1
            if self.failures >= self.maxfail:
                self._spent.set()

    def spent(self) -> bool:
        return self._spent.is_set()
