"""Reading and writing what ``fix`` rewrites: Python files as they are, notebooks cell by cell.

A notebook stays the same JSON document with only its code cells' sources changed;
IPython lines (magics, shell escapes) are masked for parsing and put back as written.
Writing in place is refused outside a git work tree or over uncommitted changes, so
``git diff`` always shows exactly what ``fix`` did and ``git checkout`` undoes it.
"""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
import subprocess
import tokenize
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_kerascompat.commands.fix.rewrites import Fixed, Left, SourceFix, fix_source
from pytest_kerascompat.commands.fix.window import Window
from pytest_kerascompat.commands.scan.sources import (
    NOTEBOOK_SUFFIX,
    Skipped,
    decode,
    source_lines,
    syntax_error,
    without_ipython,
)
from pytest_kerascompat.config._validation import CommandError
from pytest_kerascompat.model.changes import KnownChange

GIT_TIMEOUT = 30.0


class UnsafeWrite(CommandError):
    """Writing in place would mix ``fix``'s edits with work nobody committed."""


@dataclasses.dataclass
class FileFix:
    """One file: its text before and after, and what became of its findings."""

    path: Path
    before: str
    after: str
    encoding: str = "utf-8"
    fixed: list[Fixed] = dataclasses.field(default_factory=list)
    left: list[Left] = dataclasses.field(default_factory=list)
    skipped: list[Skipped] = dataclasses.field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.after != self.before

    def write(self, text: str | None = None) -> None:
        self.path.write_bytes((self.after if text is None else text).encode(self.encoding))


def fix_file(path: Path, window: Window, rules: Sequence[KnownChange]) -> FileFix:
    data = path.read_bytes()
    try:
        text = decode(data)
    except (UnicodeDecodeError, LookupError, SyntaxError) as error:
        return FileFix(path, "", "", skipped=[Skipped(str(path), f"cannot read: {error}")])
    encoding = "utf-8" if path.suffix == NOTEBOOK_SUFFIX else detected_encoding(data)
    if path.suffix == NOTEBOOK_SUFFIX:
        return fix_notebook(path, text, window, rules)
    try:
        fixed = fix_source(text, str(path), window, rules)
    except (SyntaxError, ValueError) as error:
        return FileFix(path, text, text, skipped=[Skipped(str(path), syntax_error(error))])
    return FileFix(path, text, fixed.after, encoding, fixed.fixed, fixed.left)


def detected_encoding(data: bytes) -> str:
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return encoding


def fix_notebook(path: Path, text: str, window: Window, rules: Sequence[KnownChange]) -> FileFix:
    result = FileFix(path, text, text)
    try:
        notebook = json.loads(text)
    except ValueError as error:
        result.skipped.append(Skipped(str(path), f"not a readable notebook: {error}"))
        return result
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        result.skipped.append(Skipped(str(path), "not a notebook: no list of cells (nbformat 4)"))
        return result
    changed = False
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        raw = "".join(str(part) for part in source) if isinstance(source, list) else str(source)
        masked = without_ipython(raw)
        if masked is None:
            continue
        try:
            fixed = fix_source(masked, str(path), window, rules)
        except (SyntaxError, ValueError) as error:
            result.skipped.append(Skipped(str(path), syntax_error(error), cell=number))
            continue
        result.fixed += [in_cell(item, number) for item in fixed.fixed]
        result.left += [in_cell(item, number) for item in fixed.left]
        if fixed.after != masked:
            new = unmasked(fixed, raw)
            cell["source"] = new.splitlines(keepends=True) if isinstance(source, list) else new
            changed = True
    if changed:
        result.after = json.dumps(notebook, indent=json_indent(text), ensure_ascii=False) + "\n"
    return result


def in_cell(item: Any, number: int) -> Any:
    return dataclasses.replace(item, finding=dataclasses.replace(item.finding, cell=number))


def unmasked(fixed: SourceFix, raw: str) -> str:
    """The rewritten cell with its IPython lines (masked as ``pass  # ...``) as they were."""
    originals = source_lines(raw)
    masked = source_lines(fixed.before)
    restore = {m: o for m, o in zip(masked, originals) if m != o and m}
    lines = source_lines(fixed.after)
    if originals and masked and originals[0] != masked[0] and not masked[0]:
        lines[0] = originals[0]  # a %%time line, emptied for parsing
    return "\n".join(restore.get(line, line) for line in lines)


def json_indent(text: str) -> int:
    """The indent the notebook was written with (nbformat writes 1), so the diff stays small."""
    lines = text.splitlines()
    if len(lines) > 1:
        second = lines[1]
        return len(second) - len(second.lstrip(" ")) or 1
    return 1


def check_writable(paths: Sequence[Path]) -> None:
    """Raise UnsafeWrite unless every path is in a git work tree and has no uncommitted change."""
    git = shutil.which("git")
    if git is None:
        raise UnsafeWrite("git is not installed: cannot check for uncommitted changes (--force)")
    for path in paths:
        where = path.resolve().parent
        inside = run_git(git, where, "rev-parse", "--is-inside-work-tree")
        if inside.returncode != 0 or inside.stdout.strip() != "true":
            raise UnsafeWrite(
                f"{path} is not in a git work tree: use --diff to see the rewrites, "
                "or --force to write anyway"
            )
        status = run_git(git, where, "status", "--porcelain", "--", path.resolve().name)
        if status.stdout.strip():
            raise UnsafeWrite(
                f"{path} has uncommitted changes: commit or stash them first, so the "
                "rewrites can be reviewed and undone on their own (or use --force)"
            )


def run_git(git: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - an argument list, no shell
        [git, *args], cwd=cwd, capture_output=True, text=True, timeout=GIT_TIMEOUT, check=False
    )
