"""What a running cell is doing, in a few words for the status line, and for how long.

A TensorFlow import can take 40 s and a test minutes: a status line that names the
stage and counts the seconds tells a person the sweep is alive and where it spends
its time. Words change at most once a second per cell, so drawing them costs nothing
a sweep would notice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only annotations: the plan module is not needed to draw a line
    from pytest_kerascompat.plan.plans import CellPlan

ELLIPSIS = "\u2026"
IMPORTING = "importing TensorFlow and Keras"


def import_stage(plan: CellPlan) -> str:
    """What a cell's worker does before its first test, named after what it imports."""
    names = [
        name
        for name, imported in (
            ("TensorFlow", plan.spec.tensorflow),
            ("Keras", plan.spec.tensorflow or plan.spec.keras),
        )
        if imported
    ]
    return f"importing {' and '.join(names)}" if names else "starting the worker"


def worker_stage(
    imported: bool,
    running: str | None,
    done: int,
    total: int,
    seconds: float,
    importing: str = IMPORTING,
) -> str:
    """The worker's stage: importing, collecting, or the test it runs, with its seconds."""
    elapsed = f"{seconds:.0f} s"
    if not imported:
        return f"{importing} {elapsed}"
    if running is not None:
        return f"test {done + 1}/{total} {short_test_id(running)} {elapsed}"
    if not total:
        return f"collecting tests {elapsed}"
    return f"{done}/{total} tests done"


def short_test_id(test: str) -> str:
    """``tests/unit/test_x.py::test_fit`` as ``test_x.py::test_fit``: the folder says least."""
    path, sep, rest = test.partition("::")
    return path.rsplit("/", 1)[-1] + sep + rest


class Ticker:
    """Passes a text on only when it differs from the last one passed."""

    def __init__(self, show: Callable[[str], None]) -> None:
        self.show, self.shown = show, ""

    def __call__(self, text: str) -> None:
        if text != self.shown:
            self.shown = text
            self.show(text)


def fit_line(parts: Sequence[str], width: int, gap: str = "  ") -> str:
    """``parts`` joined by ``gap`` within ``width``: short parts whole, long ones cut to
    an equal share of what is left."""
    room = width - len(gap) * (len(parts) - 1)
    shares = {}
    by_length = sorted(range(len(parts)), key=lambda index: len(parts[index]))
    for position, index in enumerate(by_length):
        shares[index] = max(0, min(len(parts[index]), room // (len(parts) - position)))
        room -= shares[index]
    return gap.join(shorten_middle(part, shares[index]) for index, part in enumerate(parts))


def shorten_middle(text: str, width: int) -> str:
    """Cut the middle, keeping where a text starts (the cell, the stage) and ends (the time)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return text[:width]
    tail = (width - 1) * 2 // 5
    return text[: width - 1 - tail] + ELLIPSIS + text[len(text) - tail :]
