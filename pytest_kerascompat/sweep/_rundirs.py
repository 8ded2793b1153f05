"""Run directories: one per sweep, the name of every file in one, and what an
interrupted one can hand to the next.

Every sweep writes its plan and one events file per cell under
``.kerascompat/runs/<run id>/`` as it goes. ``--keras-resume`` finds the newest
earlier run that selected the same tests and, for each cell whose plan is unchanged,
starts from that run's events instead of from nothing.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_kerascompat.cell import protocol
from pytest_kerascompat.plan.plans import CellPlan

PLAN_FILE = "plan.json"


def plan_file(run_dir: Path) -> Path:
    """What the sweep planned, and the selection a resumed run must share."""
    return run_dir / PLAN_FILE


def events_file(run_dir: Path, cell: str) -> Path:
    """One cell's events as JSON lines: the worker's and the controller's."""
    return run_dir / f"{cell}.jsonl"


def log_file(run_dir: Path, cell: str, kind: str) -> Path:
    """``install`` or ``worker``: where a cell's installer and workers write."""
    return run_dir / f"{cell}.{kind}.log"


def skip_file(run_dir: Path, cell: str) -> Path:
    """The tests a fresh worker skips because an earlier one settled them."""
    return run_dir / f"{cell}.skip"


def first_file(run_dir: Path, cell: str) -> Path:
    """``--ff``: the tests that failed in this cell last time, which its worker runs first."""
    return run_dir / f"{cell}.first"


def stack_file(run_dir: Path, cell: str, attempt: int) -> Path:
    """Where the worker of ``attempt`` writes its threads' stacks at a timeout."""
    return run_dir / f"{cell}.stack.{attempt}.txt"


def coverage_file(run_dir: Path, cell: str) -> Path:
    """Where pytest-cov writes this cell's coverage data, if the user's configuration runs it."""
    return run_dir / f"{cell}.coverage"


def new_run_dir(runs_dir: Path) -> Path:
    """A fresh directory; the name sorts by start time and two sweeps never share one."""
    run_id = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
    path = runs_dir / run_id
    path.mkdir(parents=True, exist_ok=False)
    return path


def earlier_runs(runs_dir: Path, current: Path) -> list[Path]:
    if not runs_dir.is_dir():
        return []
    runs = [path for path in runs_dir.iterdir() if path.is_dir() and path != current]
    return sorted(runs, key=lambda path: path.name, reverse=True)


def read_plan_file(run_dir: Path) -> Mapping[str, Any] | None:
    try:
        data = json.loads(plan_file(run_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def resumable_cells(
    runs_dir: Path, current: Path, plans: Sequence[CellPlan], selection: Mapping[str, Any]
) -> dict[str, Path]:
    """Events files of the newest earlier run with the same selection, per unchanged cell."""
    for run_dir in earlier_runs(runs_dir, current):
        data = read_plan_file(run_dir)
        if data is None or data.get("selection") != dict(selection):
            continue
        keys = data.get("keys") or {}
        return {
            plan.name: events_file(run_dir, plan.name)
            for plan in plans
            if keys.get(plan.name) == plan.key and events_file(run_dir, plan.name).is_file()
        }
    return {}


def read_events(path: Path | None) -> tuple[bytes, list[dict[str, Any]], list[str]]:
    """An earlier run's events file: the lines to carry over, their events, and a note
    for each line skipped.

    A torn last line (a worker killed mid-write) is dropped silently; any other line
    that is not a JSON object with a known ``event`` (a damaged or hand-edited file) is
    skipped and named, so one bad line costs its square, not every later resume.
    """
    try:
        data = path.read_bytes() if path else b""
    except OSError:
        return b"", [], []
    kept, events, notes = [], [], []
    for number, line in enumerate(data[: data.rfind(b"\n") + 1].splitlines(), start=1):
        try:
            event = json.loads(line)
        except ValueError:
            event = None
        if isinstance(event, dict) and event.get("event") in protocol.EVENTS:
            kept.append(line + b"\n")
            events.append(event)
        elif line.strip():
            notes.append(f"{path}:{number}: skipped a line that is not an event: {line[:80]!r}")
    return b"".join(kept), events, notes
