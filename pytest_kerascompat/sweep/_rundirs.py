"""Run directories: one per sweep, and what an interrupted one can hand to the next.

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

from pytest_kerascompat.plan.plans import CellPlan


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
        data = json.loads((run_dir / "plan.json").read_text(encoding="utf-8"))
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
            plan.name: run_dir / f"{plan.name}.jsonl"
            for plan in plans
            if keys.get(plan.name) == plan.key and (run_dir / f"{plan.name}.jsonl").is_file()
        }
    return {}
