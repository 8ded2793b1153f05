"""Which squares a sweep runs: pytest ids for squares, and the command line read back.

A square is one test in one cell, and pytest sees it under one id: the test's own id
with the cell joined to its parameters as ``@pytest.mark.parametrize`` would join a
second parameter (``tests/test_x.py::test_fit[tf2.16]``, ``test_fit[3-tf2.16]``). So an
id copied from the output and passed back selects that square in that cell only, and
``--lf``/``--ff`` find in pytest's ``cache/lastfailed`` the squares that failed, cell
by cell. The cell part never reaches a worker: the cell is chosen by running there.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path


def square_id(test: str, cell: str) -> str:
    """pytest's id for ``test`` in ``cell``: ``t[cell]``, or ``t[3-cell]`` for ``t[3]``."""
    if test.endswith("]") and "[" in test.rpartition("::")[2]:
        return f"{test[:-1]}-{cell}]"
    return f"{test}[{cell}]"


def split_square_id(text: str, cells: Iterable[str]) -> tuple[str, str] | None:
    """``(test, cell)`` when ``text`` is a square id naming one of ``cells``, else ``None``.

    The longest cell name that fits wins: with cells ``b`` and ``plain-b``,
    ``t[plain-b]`` is ``t`` in ``plain-b``. Anything else (a path, a test's own
    parameters) is an argument for every cell.
    """
    if not text.endswith("]") or "::" not in text:
        return None
    for cell in sorted(cells, key=len, reverse=True):
        if text.endswith(f"[{cell}]"):
            return text[: -len(cell) - 2], cell
        head = text[: -len(cell) - 2]
        if text.endswith(f"-{cell}]") and "[" in head.rpartition("::")[2]:
            return f"{head}]", cell
    return None


@dataclasses.dataclass(frozen=True)
class Selection:
    """What each cell runs: paths and ids for every cell, and some for a few cells only.

    ``cells`` is ``None`` when every cell runs; otherwise only the cells named by a
    square id (or by the last failures) do.
    """

    common: tuple[str, ...] = ()
    per_cell: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    cells: tuple[str, ...] | None = None

    def args_for(self, cell: str) -> tuple[str, ...]:
        return self.common + tuple(self.per_cell.get(cell, ()))

    def keeps(self, cell: str) -> bool:
        return self.cells is None or cell in self.cells


def select(args: Sequence[str], cells: Sequence[str]) -> Selection:
    """Split the command line's test arguments into the ones every cell runs and the
    square ids, each of which runs in its own cell only."""
    common: list[str] = []
    per_cell: dict[str, list[str]] = {}
    for arg in args:
        split = split_square_id(arg, cells)
        if split is None:
            common.append(arg)
        else:
            per_cell.setdefault(split[1], []).append(split[0])
    if not per_cell:
        return Selection(common=tuple(common))
    return Selection(
        common=tuple(common),
        per_cell={cell: tuple(tests) for cell, tests in per_cell.items()},
        cells=None if common else tuple(cell for cell in cells if cell in per_cell),
    )


def failed_squares(lastfailed: Mapping[str, object], cells: Sequence[str]) -> dict[str, list[str]]:
    """The tests that failed last time, by cell in matrix order, from pytest's
    ``cache/lastfailed``."""
    failed: dict[str, list[str]] = {}
    for nodeid in lastfailed:
        split = split_square_id(nodeid, cells)
        if split is not None:
            failed.setdefault(split[1], []).append(split[0])
    return {cell: failed[cell] for cell in cells if cell in failed}


def within(test: str, args: Sequence[str], rootdir: Path, cwd: Path) -> bool:
    """Whether a test (its id relative to ``rootdir``) lies under one of the command
    line's paths or ids (relative to ``cwd``), as pytest's ``--lf`` keeps a failure only
    inside what was asked for."""
    path, _, rest = test.partition("::")
    where = os.path.normpath(rootdir / path)
    for arg in args:
        arg_path, _, arg_rest = arg.partition("::")
        target = os.path.normpath(cwd / arg_path)
        if arg_rest:
            if where == target and (
                rest == arg_rest or rest.startswith((f"{arg_rest}::", f"{arg_rest}["))
            ):
                return True
        elif where == target or where.startswith(target.rstrip(os.sep) + os.sep):
            return True
    return False


def rerun_failed(
    selection: Selection,
    failed: Mapping[str, Sequence[str]],
    rootdir: Path,
    cwd: Path,
) -> Selection | None:
    """``--lf``: the squares that failed last time within ``selection``, each in its own
    cell only; ``None`` when none did."""
    per_cell: dict[str, tuple[str, ...]] = {}
    for cell, tests in failed.items():
        asked = selection.args_for(cell)
        kept = [
            test for test in tests if selection.keeps(cell) and within(test, asked, rootdir, cwd)
        ]
        if kept:
            # Made absolute: a worker runs from the invocation directory, not the rootdir.
            per_cell[cell] = tuple(f"{rootdir}{os.sep}{test}" for test in sorted(kept))
    if not per_cell:
        return None
    return Selection(per_cell=per_cell, cells=tuple(per_cell))
