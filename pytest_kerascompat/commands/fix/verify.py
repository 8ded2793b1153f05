"""``fix --verify``: sweep before and after the rewrites, and undo those that made a square worse.

The sweep is the user's own ``pytest --keras-matrix``, run in a subprocess from the
current directory with its JSON report sent to a temporary file, so the comparison
reads the same squares every renderer shows. A square is worse when its outcome
moves to a lower rank (passed, then deprecated/skipped, then anything that fails the
run) or disappears; the files whose tests got worse are put back as they were, or
every rewritten file when the worse square's test file was not one of them.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pytest_kerascompat.commands.fix.files import FileFix
from pytest_kerascompat.config._validation import CommandError
from pytest_kerascompat.model.results import Outcome, Report

GOOD = frozenset({Outcome.PASSED, Outcome.XFAILED})
FAIR = frozenset({Outcome.DEPRECATED, Outcome.SKIPPED, Outcome.XPASSED})
MISSING = "missing"


class VerifyError(CommandError):
    """The sweep itself could not run (no report was written): nothing can be compared."""


@dataclasses.dataclass(frozen=True)
class SquareChange:
    """One square's outcome before and after the rewrites."""

    test: str
    cell: str
    before: str
    after: str

    @property
    def worse(self) -> bool:
        return rank(self.after) > rank(self.before)

    @property
    def test_file(self) -> str:
        return self.test.split("::", 1)[0]


def rank(label: str) -> int:
    """0 for a square that passed, 1 for one that passed with a warning or skipped, 2 else."""
    try:
        outcome = Outcome(label)
    except ValueError:
        return 2
    return 0 if outcome in GOOD else 1 if outcome in FAIR else 2


def sweep_command(report: Path, sweep_args: Sequence[str]) -> list[str]:
    return [
        sys.executable, "-m", "pytest", "--keras-matrix", f"--keras-report-json={report}",
        "-p", "no:cacheprovider", *sweep_args,
    ]  # fmt: skip


def sweep(cwd: Path, sweep_args: Sequence[str], label: str, scratch: Path) -> Report:
    """Run the sweep once; its output goes to a log in ``scratch``, named in any error."""
    report = scratch / f"{label}.json"
    log = scratch / f"{label}.log"
    print(f"fix --verify: sweeping {label} the rewrites ...", file=sys.stderr, flush=True)
    with log.open("w", encoding="utf-8") as output:
        completed = subprocess.run(  # noqa: S603 - an argument list, no shell
            sweep_command(report, sweep_args),
            cwd=cwd, stdout=output, stderr=subprocess.STDOUT, text=True, check=False,
        )  # fmt: skip
    if not report.is_file():
        tail = "".join(log.read_text(encoding="utf-8", errors="replace").splitlines(True)[-15:])
        raise VerifyError(
            f"the sweep {label} the rewrites wrote no report (pytest exit "
            f"{completed.returncode}); its output ends:\n{tail}"
        )
    return Report.read_json(report)


def labels(report: Report, tests: Sequence[str]) -> dict[tuple[str, str], str]:
    """Each square's outcome; a cell that could not run labels ``tests`` with its status."""
    squares = {(r.test, r.cell): r.outcome.value for r in report.results if not r.probe}
    for cell in report.broken_cells:
        for test in tests:
            squares.setdefault((test, cell.name), cell.status.value)
    return squares


def compare(before: Report, after: Report) -> list[SquareChange]:
    tests = list(dict.fromkeys([*before.tests, *after.tests]))
    old, new = labels(before, tests), labels(after, tests)
    keys = list(dict.fromkeys([*old, *new]))
    return [
        SquareChange(test, cell, old.get((test, cell), MISSING), new.get((test, cell), MISSING))
        for test, cell in keys
    ]


def to_roll_back(
    changes: Sequence[SquareChange], files: Sequence[FileFix], cwd: Path
) -> list[FileFix]:
    """The rewritten files a worse square points at: its test file, or all when it is not one."""
    worse = [change for change in changes if change.worse]
    if not worse:
        return []
    rewritten = {file.path.resolve() for file in files}
    blamed = {(cwd / change.test_file).resolve() for change in worse}
    if not blamed <= rewritten:
        return list(files)
    return [file for file in files if file.path.resolve() in blamed]


def verify(
    cwd: Path, files: Sequence[FileFix], sweep_args: Sequence[str]
) -> tuple[list[SquareChange], list[FileFix]]:
    """Sweep, write the rewrites, sweep again; put back the files that made a square worse.

    Returns every square's change and the files rolled back.
    """
    with tempfile.TemporaryDirectory(prefix="kerascompat-fix-") as scratch:
        before = sweep(cwd, sweep_args, "before", Path(scratch))
        for file in files:
            file.write()
        try:
            after = sweep(cwd, sweep_args, "after", Path(scratch))
        except VerifyError:
            for file in files:
                file.write(file.before)
            raise
    changes = compare(before, after)
    rolled_back = to_roll_back(changes, files, cwd)
    for file in rolled_back:
        file.write(file.before)
    return changes, rolled_back
