"""The one result model every report shares: cells, results, outcomes.

The JSON file written from :class:`Report` is the contract between a sweep, shard
merges and every renderer, so its shape changes only with ``SCHEMA_VERSION``.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pytest_kerascompat.cell.protocol import PROBE_PREFIX as PROBE_PREFIX
from pytest_kerascompat.env._files import write_text_atomically
from pytest_kerascompat.model.changes import rule_of_change
from pytest_kerascompat.model.provenance import RunInfo

SCHEMA_VERSION = 1


class Outcome(str, enum.Enum):
    """What happened to one test in one cell."""

    PASSED = "passed"
    DEPRECATED = "deprecated"
    REMOVED = "removed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"
    XFAILED = "xfailed"
    XPASSED = "xpassed"
    TIMEOUT = "timeout"
    CRASHED = "crashed"

    @property
    def is_breaking(self) -> bool:
        """Whether this outcome makes a user test fail the run."""
        return self in BREAKING_OUTCOMES


BREAKING_OUTCOMES = frozenset(
    {Outcome.FAILED, Outcome.ERROR, Outcome.REMOVED, Outcome.TIMEOUT, Outcome.CRASHED}
)
#: Most distinct warnings a result keeps; the count of the rest is kept too.
WARNINGS_KEPT = 10


class CellStatus(str, enum.Enum):
    """Whether a cell could run tests at all."""

    OK = "ok"
    INSTALL_ERROR = "install-error"
    IMPORT_ERROR = "import-error"
    #: pytest in the cell refused the user's configuration (an option or ini key of a
    #: plugin not installed there): no test could run, and TensorFlow is not to blame.
    USAGE_ERROR = "usage-error"
    #: The worker died or hung while collecting: which tests the cell would run is not
    #: known (or not all of them ran), so none of its empty squares is a pass or a skip.
    COLLECT_ERROR = "collect-error"
    #: The sweep could not write or read one of the cell's files (a full disk, a cache
    #: gone read-only): the cell stopped there, so its squares are not known.
    FILE_ERROR = "file-error"
    NO_INTERPRETER = "no-interpreter"

    @property
    def is_broken(self) -> bool:
        """Install, import, usage, collection and file failures fail the run; a missing
        interpreter informs."""
        return self in (
            CellStatus.INSTALL_ERROR,
            CellStatus.IMPORT_ERROR,
            CellStatus.USAGE_ERROR,
            CellStatus.COLLECT_ERROR,
            CellStatus.FILE_ERROR,
        )


@dataclasses.dataclass(frozen=True)
class CellReport:
    """One column of the table: what a cell asked for and what it actually had."""

    name: str
    python: str | None = None
    executable: str | None = None
    tensorflow: str | None = None
    keras: str | None = None
    backend: str | None = None
    status: CellStatus = CellStatus.OK
    detail: str | None = None
    requirements: tuple[str, ...] = ()
    pins: tuple[str, ...] = ()
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)
    keras_module: str | None = None
    duration: float | None = None
    #: The log of this cell's workers: pytest's whole output there.
    worker_log: str | None = None
    #: ``name==version`` of every distribution the cell's environment held.
    installed: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["status"] = self.status.value
        data["installed"] = list(self.installed)
        data["requirements"] = list(self.requirements)
        data["pins"] = list(self.pins)
        data["env"] = dict(self.env)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CellReport:
        known = {field.name for field in dataclasses.fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        values["status"] = CellStatus(values.get("status", "ok"))
        values["requirements"] = tuple(values.get("requirements") or ())
        values["pins"] = tuple(values.get("pins") or ())
        values["installed"] = tuple(values.get("installed") or ())
        values["env"] = dict(values.get("env") or {})
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class WarningSeen:
    """A warning raised (or a deprecation logged) while a test ran, as the cell saw it."""

    category: str | None
    message: str | None
    filename: str | None = None
    lineno: int | None = None

    @classmethod
    def of(cls, entry: Mapping[str, Any]) -> WarningSeen:
        lineno = entry.get("lineno")
        return cls(
            entry.get("category"),
            entry.get("message"),
            entry.get("filename"),
            int(lineno) if isinstance(lineno, int) else None,
        )

    @property
    def described(self) -> str:
        """``UserWarning: text (lib/train.py:12)``: one line, as every renderer shows it."""
        where = f"{self.filename}:{self.lineno}" if self.lineno else self.filename
        head = ": ".join(part for part in (self.category, self.message) if part)
        return f"{head} ({where})" if where else head


@dataclasses.dataclass(frozen=True)
class Result:
    """One square of the table: one test in one cell."""

    cell: str
    test: str
    outcome: Outcome
    api: str | None = None
    message: str | None = None
    duration: float | None = None
    exc_type: str | None = None
    hint: str | None = None
    probe: bool = False
    detail: str | None = None
    rule: str | None = None
    #: pytest's own report of a square that did not pass, as its terminal prints it
    #: under FAILURES: traceback (in the ``--tb`` style asked for), assertion diff and
    #: captured output. ``None`` for passes, skips, and squares no test report exists
    #: for (crashes, timeouts, cells that could not run).
    longrepr: str | None = None
    #: The id of the known change the hint came from. Not written to the JSON report,
    #: which keeps the rule it names; so not compared either.
    change: str | None = dataclasses.field(default=None, compare=False)
    #: The distinct warnings raised while the test ran (at most ``WARNINGS_KEPT``)...
    warnings: tuple[WarningSeen, ...] = ()
    #: ...and how many more there were.
    warnings_omitted: int = 0
    #: The module (or package) whose failed import this square stands for: its test was
    #: collected in another cell, never here (see ``model/import_failures.py``).
    failed_module: str | None = None

    def __post_init__(self) -> None:
        """Name the scan rule that finds this square's known change, unless one is given.

        Taken from the change the hint came from, by its id, whatever the outcome: the
        square and the scan then point at the same change. A report read back keeps the
        rule it stored.
        """
        if self.rule is None and self.change:
            object.__setattr__(self, "rule", rule_of_change(self.change))

    @property
    def key(self) -> tuple[str, str]:
        return (self.test, self.cell)

    @property
    def fails_run(self) -> bool:
        """Probes only inform; a user test fails the run when its outcome is breaking."""
        return not self.probe and self.outcome.is_breaking

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["outcome"] = self.outcome.value
        del data["change"]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Result:
        known = {field.name for field in dataclasses.fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        values["outcome"] = Outcome(values["outcome"])
        values["warnings"] = tuple(WarningSeen.of(entry) for entry in values.get("warnings") or ())
        return cls(**values)


@dataclasses.dataclass
class Report:
    """Every cell and every square of one sweep (or of merged shards)."""

    cells: list[CellReport] = dataclasses.field(default_factory=list)
    results: list[Result] = dataclasses.field(default_factory=list)
    schema_version: int = SCHEMA_VERSION
    #: When, by what and for which commit and selection it was made (``None``: unknown);
    #: not compared: two runs giving the same table are equal.
    run: RunInfo | None = dataclasses.field(default=None, compare=False)

    @property
    def tests(self) -> list[str]:
        """Row labels, in first-seen order."""
        return list(dict.fromkeys(result.test for result in self.results))

    def square(self, test: str, cell: str) -> Result | None:
        return self.squares().get((test, cell))

    def squares(self) -> dict[tuple[str, str], Result]:
        """Every square by ``(test, cell)``: build it once per rendering, not per square."""
        return {result.key: result for result in self.results}

    def api_of(self, test: str) -> str | None:
        return next((r.api for r in self.results if r.test == test and r.api), None)

    @property
    def failing_results(self) -> list[Result]:
        return [result for result in self.results if result.fails_run]

    @property
    def broken_cells(self) -> list[CellReport]:
        return [cell for cell in self.cells if cell.status.is_broken]

    @property
    def fails_run(self) -> bool:
        return bool(self.failing_results or self.broken_cells)

    def sort(self, cell_order: list[str]) -> None:
        """Columns in matrix order and squares in cell order: the same table however it ran."""
        position = {name: index for index, name in enumerate(cell_order)}
        self.cells.sort(key=lambda cell: position.get(cell.name, len(position)))
        order = {cell.name: index for index, cell in enumerate(self.cells)}
        self.results.sort(key=lambda result: order.get(result.cell, len(order)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "cells": [cell.to_dict() for cell in self.cells],
            "results": [result.to_dict() for result in self.results],
            "run": self.run.to_dict() if self.run else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Report:
        return cls(
            cells=[CellReport.from_dict(cell) for cell in data.get("cells", [])],
            results=[Result.from_dict(result) for result in data.get("results", [])],
            schema_version=int(data.get("schema_version", SCHEMA_VERSION)),
            run=RunInfo.from_dict(data["run"]) if data.get("run") else None,
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def write_json(self, path: Path) -> None:
        """Write atomically, so a reader never sees half a report."""
        write_text_atomically(path, self.to_json())

    @classmethod
    def read_json(cls, path: Path) -> Report:
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))


def outcome_counts(results: Iterable[Result]) -> dict[Outcome, int]:
    counts: dict[Outcome, int] = {}
    for result in results:
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
    return counts
