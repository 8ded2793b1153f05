"""Before a sweep: every place it will write, checked, so a path it cannot use is a usage
error (exit 4) naming the option and the path, not an INTERNALERROR after an hour of
cells, nor a sweep that runs to its end and then has nowhere to put its table."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_kerascompat.config.options import OPTION, Settings
from pytest_kerascompat.env._files import directory_problem

#: The settings that name a report file, by field.
REPORT_FIELDS = ("report_json", "report_md", "report_html", "junitxml")
#: What to do when the cache cannot be written, or the project's run directory.
IN_CACHE = "free space there or make it writable (or give another --keras-cache-dir)"
IN_RUNS = "free space there or make the project directory writable"


def check_writable(
    settings: Settings, rootdir: Path, cache_dir: Path, *, reports: bool = True
) -> None:
    """Raise :class:`pytest.UsageError` listing each place the sweep cannot write."""
    problems = []
    flags = {field.name: field.metadata[OPTION].option for field in dataclasses.fields(Settings)}
    cache_problem = directory_problem(cache_dir)
    if cache_problem:
        problems.append(
            f"--keras-cache-dir {cache_dir}: {cache_problem}; give a directory you can write "
            "to (--keras-cache-dir, or KERASCOMPAT_CACHE_DIR)"
        )
    runs = rootdir / ".kerascompat" / "runs"
    runs_problem = directory_problem(runs)
    if runs_problem:
        problems.append(
            f"{runs}: {runs_problem}; a sweep keeps its run there (events, logs, plan): "
            "make the project directory writable, or run from a writable copy"
        )
    for field in REPORT_FIELDS if reports else ():
        path = getattr(settings, field)
        problem = report_problem(path) if path is not None else None
        if problem:
            problems.append(
                f"{flags[field]} {path}: {problem}; give a file in a writable directory"
            )
    if problems:
        raise pytest.UsageError("cannot write where the sweep must:\n  " + "\n  ".join(problems))


@contextlib.contextmanager
def before_cells(what: str, path: Path, remedy: str) -> Iterator[None]:
    """While the sweep gets ready, before any cell starts: an OSError (the disk filled, or
    the permissions changed, since :func:`check_writable`) is a usage error (exit 4)
    naming the path and what to do, not an INTERNALERROR. Nothing has run yet, so no
    table is lost; ``path`` is named when the error itself names none (a full disk
    fails the write, which has no file name)."""
    try:
        yield
    except OSError as error:
        where = error.filename or path
        raise pytest.UsageError(
            f"cannot {what}: {where}: {error.strerror or error}; no cell has started: "
            f"{remedy}, then run again"
        ) from None


def report_problem(path: Path) -> str | None:
    if path.is_dir():
        return "it is a directory"
    problem = directory_problem(path.parent)
    return f"its directory {path.parent}: {problem}" if problem else None


def unwritten_lines(failures: list[tuple[Path, OSError]]) -> list[str]:
    """Under the table: each report that is missing, why, and that the table is whole."""
    lines = [
        f"report not written: {path}: {error.strerror or error}; free space or choose "
        "another path, and merge or rerun to write it"
        for path, error in failures
    ]
    if lines:
        lines.append("the table above is complete: every cell's results are in it")
    return lines
