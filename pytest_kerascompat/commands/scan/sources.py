"""Which files a scan reads, and the Python it finds in them (files and notebook code cells).

Nothing here runs or imports user code: files are decoded and handed to :func:`ast.parse`.
A file (or a notebook cell) that cannot be read is returned as a :class:`Skipped`
with the reason, so one broken file never stops the scan of the others.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import json
import os
import re
import tokenize
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pytest_kerascompat.config._validation import CommandError

NOTEBOOK_SUFFIX = ".ipynb"
SCANNED_SUFFIXES = (".py", NOTEBOOK_SUFFIX)
# Not the user's code: caches, installed packages, other projects' checkouts.
SKIPPED_DIRECTORIES = frozenset({"__pycache__", "site-packages", "node_modules"})
VENV_MARKER = "pyvenv.cfg"
# Cell magics whose body is still Python; any other (%%bash, %%html, ...) is not scanned.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug"})
# IPython-only lines: magics (%), shell escapes (!), `x = !ls`, `x = %time f()`, `obj?`.
IPYTHON_LINE = re.compile(r"^(\s*)(?:[%!]|[\w.]+\s*=\s*[%!]|\?{1,2}[\w.]+\s*$|[\w.]+\?{1,2}\s*$)")
# The line breaks Python counts (str.splitlines also splits at \f, \x1c, \u2028, ...).
LINE_BREAK = re.compile(r"\r\n|\r|\n")
#: The deepest syntax tree the rules analyse: they follow attribute chains and nested
#: expressions by recursion, so a deeper tree (generated code, a 5,000-term sum) is
#: reported as skipped instead of ending the scan with a RecursionError.
MAX_TREE_DEPTH = 400
TOO_DEEP = f"too deeply nested to analyse (more than {MAX_TREE_DEPTH} levels)"


class ScanUsageError(CommandError):
    """A path that does not exist: the command line is wrong, nothing was scanned."""


@dataclasses.dataclass(frozen=True)
class Skipped:
    """A file, or one notebook cell, that was not scanned, and why."""

    path: str
    reason: str
    cell: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Module:
    """The Python of one file, parsed; a notebook's code cells are joined into one module.

    ``cells`` holds ``(cell number, first line in the joined text)`` for each code cell
    kept, so a position in the joined text maps back to ``cell N, line L``.
    """

    path: str
    tree: ast.Module
    lines: list[str]
    cells: tuple[tuple[int, int], ...] = ()

    def position(self, line: int, col_offset: int) -> tuple[int | None, int, int]:
        """``(cell, line, column)`` as a user counts them, from an AST node's position.

        The AST counts columns in UTF-8 bytes; editors count characters, from 1.
        """
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        column = len(text.encode("utf-8")[:col_offset].decode("utf-8", errors="ignore")) + 1
        for number, first in reversed(self.cells):
            if line >= first:
                return number, line - first + 1, column
        return None, line, column


def discover(arguments: Sequence[str]) -> list[Path]:
    """The files to scan: the files named, and the Python files and notebooks under directories.

    A file named explicitly is scanned whatever its suffix (pre-commit passes scripts
    without ``.py`` too); in directories only ``.py`` and ``.ipynb`` files are.
    """
    missing = [argument for argument in arguments if not os.path.exists(argument)]
    if missing:
        raise ScanUsageError(f"no such file or directory: {', '.join(missing)}")
    files: dict[Path, Path] = {}
    for argument in arguments:
        path = Path(argument)
        for found in walk(path) if path.is_dir() else [path]:
            files.setdefault(found.resolve(), found)
    return list(files.values())


def walk(top: Path) -> Iterator[Path]:
    for directory, subdirectories, filenames in os.walk(top):
        subdirectories[:] = sorted(
            name for name in subdirectories if not skipped_directory(Path(directory, name))
        )
        for name in sorted(filenames):
            if name.endswith(SCANNED_SUFFIXES):
                yield Path(directory, name)


def skipped_directory(path: Path) -> bool:
    """Hidden directories (``.git``, ``.venv``, ``.nox``), caches and virtual environments."""
    name = path.name
    if name.startswith(".") or name in SKIPPED_DIRECTORIES:
        return True
    return (path / VENV_MARKER).is_file()


def read(path: Path) -> tuple[Module | None, list[Skipped]]:
    """The module to scan in ``path`` (None if nothing could be parsed) and what was skipped."""
    if path.suffix == NOTEBOOK_SUFFIX:
        return read_notebook(path)
    try:
        text = decode(path.read_bytes())
    except (OSError, UnicodeDecodeError, LookupError, SyntaxError) as error:
        return None, [Skipped(str(path), f"cannot read: {error}")]
    try:
        tree = parse(text, str(path))
    except (SyntaxError, ValueError, RecursionError) as error:
        return None, [Skipped(str(path), syntax_error(error))]
    return Module(str(path), tree, source_lines(text)), []


def parse(text: str, filename: str = "<unknown>") -> ast.Module:
    """:func:`ast.parse`, refusing a tree deeper than the rules can follow."""
    tree = ast.parse(text, filename=filename)
    if tree_depth(tree) > MAX_TREE_DEPTH:
        raise RecursionError(TOO_DEEP)
    return tree


def tree_depth(tree: ast.AST) -> int:
    """Measured without recursion, so measuring cannot overflow the stack either."""
    deepest, pending = 0, [(tree, 1)]
    while pending:
        node, depth = pending.pop()
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def decode(data: bytes) -> str:
    """Decode as Python does: a BOM or a ``# coding:`` line, else UTF-8."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding)


def syntax_error(error: SyntaxError | ValueError | RecursionError) -> str:
    if isinstance(error, RecursionError):
        return TOO_DEEP
    if isinstance(error, SyntaxError):
        where = f" (line {error.lineno})" if error.lineno else ""
        return f"cannot parse: {type(error).__name__}: {error.msg}{where}"
    return f"cannot parse: {error}"


def read_notebook(path: Path) -> tuple[Module | None, list[Skipped]]:
    """The code cells of a notebook, joined in order; a cell that does not parse is skipped."""
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        return None, [Skipped(str(path), f"not a readable notebook: {error}")]
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        return None, [Skipped(str(path), "not a notebook: no list of cells (nbformat 4)")]
    language = notebook_language(notebook)
    if language not in ("", "python"):
        return None, [Skipped(str(path), f"a {language} notebook, not Python")]
    kept: list[tuple[int, str]] = []
    skipped: list[Skipped] = []
    for number, cell in enumerate(cells, start=1):
        text = cell_python(cell)
        if text is None:
            continue
        try:
            parse(text)
        except (SyntaxError, ValueError, RecursionError) as error:
            skipped.append(Skipped(str(path), syntax_error(error), cell=number))
            continue
        kept.append((number, text))
    return join_cells(str(path), kept), skipped


def notebook_language(notebook: dict[str, Any]) -> str:
    metadata = notebook.get("metadata")
    if not isinstance(metadata, dict):
        return ""
    info, kernel = metadata.get("language_info"), metadata.get("kernelspec")
    name = (info or {}).get("name") if isinstance(info, dict) else None
    if not name and isinstance(kernel, dict):
        name = kernel.get("language")
    return str(name or "").lower()


def cell_python(cell: Any) -> str | None:
    """The Python of a code cell, IPython syntax neutralised; None for other cells."""
    if not isinstance(cell, dict) or cell.get("cell_type") != "code":
        return None
    source = cell.get("source", "")
    text = "".join(str(part) for part in source) if isinstance(source, list) else str(source)
    return without_ipython(text)


def without_ipython(text: str) -> str | None:
    """``text`` with IPython-only lines turned into ``pass`` (line numbers unchanged).

    Text that parses as it is stays untouched, so ``a % b`` on a continuation line is
    never mistaken for a magic. A cell magic other than a timing or capturing one
    makes the cell another language (``%%bash``): None.
    """
    lines = source_lines(text)
    first = lines[0].strip()
    if first.startswith("%%"):
        magic = first[2:].split(maxsplit=1)
        if not magic or magic[0] not in PYTHON_CELL_MAGICS:
            return None
        lines[0] = ""
        text = "\n".join(lines)
    try:
        ast.parse(text)
        return text
    except (SyntaxError, ValueError, RecursionError):
        pass
    return "\n".join(IPYTHON_LINE.sub(r"\1pass  # ", line, count=1) for line in lines)


def source_lines(text: str) -> list[str]:
    """``text`` split where Python counts a new line, so list index + 1 is the AST's line."""
    return LINE_BREAK.split(text)


def join_cells(path: str, cells: list[tuple[int, str]]) -> Module | None:
    if not cells:
        return None
    lines: list[str] = []
    starts = []
    for number, text in cells:
        starts.append((number, len(lines) + 1))
        lines += source_lines(text.rstrip("\r\n"))
    return Module(path, ast.parse("\n".join(lines) + "\n"), lines, tuple(starts))
