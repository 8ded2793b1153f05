"""Where a report came from: when, by which tool, on what, for which commit and selection.

A table read a week later, or pasted in a pull request, is only evidence if it says
what produced it; the JSON report's ``run`` object says it, and the Markdown and HTML
footers show it. A merged report keeps each shard's ``run`` under ``shards``.
"""

from __future__ import annotations

import dataclasses
import datetime
import platform
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest

    from pytest_kerascompat.config.matrix import Matrix

GIT_TIMEOUT_SECONDS = 10.0


@dataclasses.dataclass(frozen=True)
class GitState:
    commit: str
    dirty: bool


@dataclasses.dataclass
class RunInfo:
    """The ``run`` object of the JSON report (documented in the README)."""

    started: str
    finished: str | None = None
    tool_version: str | None = None
    python: str | None = None
    platform: str | None = None
    git: GitState | None = None
    #: What the command line chose: test paths, ``-k``, ``-m``, ``--keras-cells``.
    selection: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    #: In a merged report, the ``run`` of each shard, with the file it came from.
    shards: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    @classmethod
    def start(cls, selection: Mapping[str, Any], project: Path | None = None) -> RunInfo:
        """This process, now: the tool, the controller's Python and platform, the commit."""
        from pytest_kerascompat import __version__

        return cls(
            started=now(),
            tool_version=__version__,
            python=platform.python_version(),
            platform=platform.platform(),
            git=git_state(project) if project is not None else None,
            selection=dict(selection),
        )

    def finish(self) -> RunInfo:
        self.finished = now()
        return self

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["selection"] = dict(self.selection)
        if not self.shards:
            del data["shards"]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunInfo:
        known = {field.name for field in dataclasses.fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        git = values.get("git")
        values["git"] = GitState(str(git["commit"]), bool(git["dirty"])) if git else None
        values["selection"] = dict(values.get("selection") or {})
        values["shards"] = [dict(shard) for shard in values.get("shards") or ()]
        return cls(**values)


def command_selection(config: pytest.Config, matrix: Matrix) -> dict[str, Any]:
    """What the command line chose: the matrix file, its cells, test paths, -k and -m."""
    return {
        "matrix_file": str(matrix.path),
        "cells": [cell.name for cell in matrix.cells],
        "args": [str(arg) for arg in config.args],
        "-k": config.option.keyword or None,
        "-m": config.option.markexpr or None,
    }


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def git_state(project: Path) -> GitState | None:
    """The commit checked out at ``project`` and whether tracked files differ from it.

    ``None`` outside a git work tree, or without git: a report never fails for it.
    """
    commit = _git(project, "rev-parse", "HEAD")
    if commit is None:
        return None
    status = _git(project, "status", "--porcelain", "--untracked-files=no")
    return GitState(commit, bool(status))


def _git(cwd: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(  # noqa: S603 - an argument list, no shell
            ["git", *args], cwd=cwd, capture_output=True, text=True,
            timeout=GIT_TIMEOUT_SECONDS, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def merged_run(shards: Sequence[tuple[str, RunInfo | None]]) -> RunInfo:
    """The merge's own run, keeping every shard's (``None`` for a shard that had none)."""
    run = RunInfo.start({})
    run.shards = [{"file": name, **(info.to_dict() if info else {})} for name, info in shards]
    return run.finish()


def footer(run: RunInfo | None, cell_durations: Mapping[str, float | None]) -> list[str]:
    """The footer's lines, plain text: each renderer escapes and lays them out."""
    if run is None:
        return []
    lines = [_described(run)]
    lines += [f"shard {shard.get('file')}: {_described(RunInfo.from_dict(shard))}"
              for shard in run.shards if shard.get("started")]  # fmt: skip
    timed = [f"{cell} {seconds:.1f} s" for cell, seconds in cell_durations.items() if seconds]
    if timed:
        lines.append("cell durations: " + ", ".join(timed))
    return lines


def _described(run: RunInfo) -> str:
    when = f"{run.started} to {run.finished}" if run.finished else f"started {run.started}"
    parts = [f"made {when}", f"pytest-kerascompat {run.tool_version}"]
    parts.append(f"Python {run.python} on {run.platform}")
    if run.git is not None:
        parts.append(
            f"commit {run.git.commit[:12]}{' (uncommitted changes)' if run.git.dirty else ''}"
        )
    chosen = "; ".join(
        f"{key} {' '.join(value) if isinstance(value, list) else value}"
        for key, value in run.selection.items()
        if value
    )
    if chosen:
        parts.append(f"selection: {chosen}")
    return ", ".join(parts)
