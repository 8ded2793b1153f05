"""What a non-passing square says in words, decided once for every renderer.

The terminal table, Markdown, HTML, JUnit XML, pytest's own summary and ``bisect`` all
take a square's exception, hint and scan from a :class:`Note`, so they only differ in
markup: a result with an exception type and no message reads ``ValueError`` in each.
Standard library only, so the scanner can word its counts without loading a renderer.
"""

from __future__ import annotations

import dataclasses

from pytest_kerascompat.model.results import Outcome, Report, Result

SCAN_COMMAND = "python -m pytest_kerascompat scan"
HINT_LABEL = "hint: "
RULE_LABEL = "caught by: "
LOG_LABEL = "worker log: "
WARNING_LABEL = "warning: "


def scan_command(rule: str | None) -> str | None:
    """The scan that finds a change in source code, as a command to run."""
    return f"{SCAN_COMMAND} --select {rule}" if rule else None


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


@dataclasses.dataclass(frozen=True)
class Note:
    """A square's outcome, its exception in one line, its hint and the scan that finds it."""

    outcome: Outcome
    #: ``ValueError: bad shape``, ``ValueError``, ``bad shape``, or empty when neither is known.
    message: str = ""
    hint: str | None = None
    #: The scan that would have caught the change, as a command (``caught by: ...``).
    command: str | None = None
    detail: str | None = None
    #: The warnings the test raised, one a line (``UserWarning: text (file:line)``).
    warnings: tuple[str, ...] = ()

    @classmethod
    def of(cls, result: Result) -> Note:
        message = ": ".join(part for part in (result.exc_type, result.message) if part)
        command = scan_command(result.rule)
        return cls(
            result.outcome, message, result.hint, command, result.detail, warning_lines(result)
        )

    @property
    def headline(self) -> str:
        """``removed: AttributeError: ...``, or the outcome alone: what a one-line view shows."""
        return f"{self.outcome.value}: {self.message}" if self.message else self.outcome.value

    @property
    def hint_line(self) -> str | None:
        return HINT_LABEL + self.hint if self.hint else None

    @property
    def rule_line(self) -> str | None:
        return RULE_LABEL + self.command if self.command else None

    def lines(self) -> list[str]:
        """The message, the hint and the scan, one per line, as plain text shows them."""
        return [line for line in (self.message, self.hint_line, self.rule_line) if line]


def warning_lines(result: Result) -> tuple[str, ...]:
    """A square's warnings as the details of Markdown and HTML list them, the cap said."""
    lines = [warning.described for warning in result.warnings]
    if result.warnings_omitted:
        lines.append(f"and {plural(result.warnings_omitted, 'more warning')}")
    return tuple(lines)


def pytest_report(result: Result, log: str | None = None) -> str | None:
    """pytest's own report of a square (what its terminal printed under FAILURES in the
    cell), then where the worker's whole output is; ``None`` when there is no report."""
    if not result.longrepr:
        return None
    return result.longrepr.rstrip("\n") + (f"\n{LOG_LABEL}{log}" if log else "")


@dataclasses.dataclass(frozen=True)
class FailureReport:
    """pytest's report of one test, shared by the cells where its text was the same."""

    cells: tuple[str, ...]
    text: str
    logs: tuple[str, ...]

    @property
    def summary(self) -> str:
        return f"pytest's report ({', '.join(self.cells)})"

    @property
    def body(self) -> str:
        """The report, then each cell's worker log (its file name holds the cell's)."""
        return "\n".join([self.text, *(LOG_LABEL + log for log in self.logs)])


def failure_reports(report: Report, test: str, cells: list[str]) -> list[FailureReport]:
    """The reports of ``test`` in ``cells``, each distinct text once with its cells, as the
    folded details of Markdown and HTML show them. ``test`` may name a module whose failed
    import its tests' squares stand for in a cell: then the report is that import's."""
    logs = {cell.name: cell.worker_log for cell in report.cells}
    squares = report.squares()
    stand_ins = {(r.failed_module, r.cell): r for r in report.results if r.failed_module}
    by_text: dict[str, list[str]] = {}
    for cell in cells:
        square = squares.get((test, cell)) or stand_ins.get((test, cell))
        if square is not None and square.longrepr:
            by_text.setdefault(square.longrepr.rstrip("\n"), []).append(cell)
    return [
        FailureReport(tuple(names), text, tuple(log for name in names if (log := logs.get(name))))
        for text, names in by_text.items()
    ]
