"""The order cells start in: longest first, so parallel workers finish together.

With ``--keras-jobs 2`` a sweep ends when its slowest worker does. Starting the cells
in matrix order can leave one long cell (a legacy Keras whose multiprocessing probe
takes ten seconds, say) to run alone at the end; starting the longest first (the
classic LPT rule) packs the short ones around it. How long a cell takes is learnt from
the last sweep that ran it, kept per environment key in the cache; a cell whose
environment still has to be built goes first of all, since building is slowest.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from pytest_kerascompat.env._files import write_text_atomically
from pytest_kerascompat.env.environments import envdir_for, find_ready
from pytest_kerascompat.plan.plans import CellPlan

TIMINGS_FILE = "cell-seconds.json"


class CellTimings:
    """Seconds each cell's tests took last time, by environment key."""

    def __init__(self, cache_dir: Path) -> None:
        self.path = cache_dir / TIMINGS_FILE
        self._seconds = self._read(self.path)
        self._lock = threading.Lock()

    @staticmethod
    def _read(path: Path) -> dict[str, float]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): float(v) for k, v in data.items() if isinstance(v, (int, float))}

    def seconds(self, plan: CellPlan) -> float | None:
        return self._seconds.get(plan.key)

    def record(self, plan: CellPlan, seconds: float) -> None:
        with self._lock:
            self._seconds[plan.key] = round(seconds, 2)

    def save(self) -> str | None:
        """Written, or why not: losing it only costs a less tidy order next time, so it
        is a warning line for the caller, never an error that would cost the table."""
        with self._lock:
            text = json.dumps(self._seconds, indent=1, sort_keys=True) + "\n"
        try:
            write_text_atomically(self.path, text)
        except OSError as error:
            return (
                f"cell timings not saved: {error.filename or self.path}: "
                f"{error.strerror or error}; the next sweep starts its cells in matrix "
                "order (free space in the cache, or make it writable, to keep them)"
            )
        return None


def start_order(plans: Sequence[CellPlan], timings: CellTimings, cache_dir: Path) -> list[CellPlan]:
    """Cells to build first, then the longest-running, then the rest in matrix order."""
    position: Mapping[str, int] = {plan.name: index for index, plan in enumerate(plans)}

    def rank(plan: CellPlan) -> tuple[int, float, int]:
        if plan.executable is None:
            return (2, 0.0, position[plan.name])  # nothing to run: report it whenever
        if find_ready(envdir_for(cache_dir, plan), plan) is None:
            return (0, 0.0, position[plan.name])
        seconds = timings.seconds(plan)
        return (1, -(seconds if seconds is not None else float("inf")), position[plan.name])

    return sorted(plans, key=rank)
