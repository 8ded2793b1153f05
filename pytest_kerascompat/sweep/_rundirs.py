"""Run directories: one per sweep, the name of every file in one, and what an
interrupted one can hand to the next.

Every sweep writes its plan and one events file per cell under
``.kerascompat/runs/<run id>/`` as it goes. ``--keras-resume`` finds the newest
earlier run that selected the same tests and, if its sources, options and tool are
the same (:mod:`._fingerprint`), starts each cell whose plan is unchanged from that
run's events instead of from nothing; whatever changed is said, and run again.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_kerascompat.cell import protocol
from pytest_kerascompat.plan.plans import CellPlan
from pytest_kerascompat.sweep._fingerprint import identity_changes

PLAN_FILE = "plan.json"
REPORT_FILE = "report.json"


def plan_file(run_dir: Path) -> Path:
    """What the sweep planned, and the selection a resumed run must share."""
    return run_dir / PLAN_FILE


def report_file(run_dir: Path) -> Path:
    """This run's own JSON report, which no other sweep overwrites."""
    return run_dir / REPORT_FILE


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


@dataclasses.dataclass(frozen=True)
class Resumption:
    """The events files a resumed run starts from, per cell, and what it could not keep."""

    cells: Mapping[str, Path] = dataclasses.field(default_factory=dict)
    #: ``(cell or "matrix", why)``: each line says what changed and that it runs again.
    notes: tuple[tuple[str, str], ...] = ()


def resumable_cells(
    runs_dir: Path,
    current: Path,
    plans: Sequence[CellPlan],
    selection: Mapping[str, Any],
    identity: Mapping[str, Any] | None = None,
) -> Resumption:
    """Events files of the newest earlier run with the same selection, per unchanged cell.

    A square is kept only when the sources, options and tool (``identity``) and its
    cell's plan are those it ran with; otherwise the notes say what changed.
    """
    runs = earlier_runs(runs_dir, current)
    for run_dir in runs:
        data = read_plan_file(run_dir)
        if data is None or data.get("selection") != dict(selection):
            continue
        if identity is not None:
            changed = identity_changes(data.get("identity"), identity)
            if changed:
                why = f"{'; '.join(changed)} since run {run_dir.name}: every square runs again"
                return Resumption(notes=(("matrix", f"--keras-resume: {why}"),))
        return resume_cells(run_dir, data, plans)
    if runs:
        why = (
            "no earlier run selected the same tests (paths, -k, -m, square ids and other "
            "options passed to the cells): every square runs"
        )
    else:
        why = "no earlier run to resume"
    return Resumption(notes=(("matrix", f"--keras-resume: {why}"),))


def resume_cells(run_dir: Path, data: Mapping[str, Any], plans: Sequence[CellPlan]) -> Resumption:
    keys = data.get("keys") or {}
    earlier = {
        item.get("spec", {}).get("name"): item
        for item in data.get("plans") or []
        if isinstance(item, dict)
    }
    cells, notes = {}, []
    for plan in plans:
        events = events_file(run_dir, plan.name)
        if not events.is_file():
            continue
        if isinstance(keys, dict) and keys.get(plan.name) == plan.plan_key:
            cells[plan.name] = events
            continue
        changed = plan_changes(earlier.get(plan.name), plan) or ["its plan"]
        notes.append((plan.name, f"--keras-resume: {', '.join(changed)} changed: runs again"))
    return Resumption(cells, tuple(notes))


def plan_changes(before: Mapping[str, Any] | None, plan: CellPlan) -> list[str]:
    """Which parts of a cell's plan differ from the plan an earlier run recorded."""
    if not isinstance(before, Mapping):
        return []
    now = plan.to_dict()
    spec_before, spec_now = before.get("spec") or {}, now["spec"]
    env_before, env_now = dict(map(tuple, spec_before.get("env") or [])), dict(plan.spec.env)
    env_names = sorted(
        k for k in set(env_before) | set(env_now) if env_before.get(k) != env_now.get(k)
    )
    parts = {
        "interpreter": (before.get("python"), before.get("executable"))
        != (plan.python, plan.executable),
        "requirements": list(before.get("requirements") or []) != list(plan.requirements),
        "pins": list(before.get("pins") or []) != list(plan.pins),
        f"env ({', '.join(env_names)})": bool(env_names),
        "timeout": spec_before.get("timeout") != spec_now.get("timeout"),
        "backend": spec_before.get("backend") != spec_now.get("backend"),
        "project": (before.get("project"), before.get("project_fingerprint"))
        != (plan.project, plan.project_fingerprint),
    }
    return [name for name, differs in parts.items() if differs]


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
