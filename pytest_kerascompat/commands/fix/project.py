"""The files of one ``fix`` run, and what became of each finding in them."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from pytest_kerascompat.commands.fix.files import FileFix, fix_file
from pytest_kerascompat.commands.fix.rewrites import Fixed, Left
from pytest_kerascompat.commands.fix.window import Window
from pytest_kerascompat.commands.scan import Skipped
from pytest_kerascompat.commands.scan.sources import discover
from pytest_kerascompat.model.changes import KnownChange


@dataclasses.dataclass
class FixReport:
    """Every file looked at, and what became of each finding in it."""

    window: Window
    files: list[FileFix] = dataclasses.field(default_factory=list)

    @property
    def changed(self) -> list[FileFix]:
        return [file for file in self.files if file.changed]

    @property
    def fixed(self) -> list[Fixed]:
        return [item for file in self.files for item in file.fixed]

    @property
    def left(self) -> list[Left]:
        return [item for file in self.files for item in file.left]

    @property
    def skipped(self) -> list[Skipped]:
        return [item for file in self.files for item in file.skipped]

    @property
    def exit_status(self) -> int:
        """0 when nothing is left for a person, 1 when a finding remains."""
        return 1 if self.left else 0


def fix_paths(
    paths: Sequence[str],
    window: Window,
    rules: Sequence[KnownChange],
) -> FixReport:
    """Rewrite (in memory) the files and directories at ``paths``; nothing is written here."""
    report = FixReport(window)
    for path in discover(paths):
        report.files.append(fix_file(Path(path), window, rules))
    return report
