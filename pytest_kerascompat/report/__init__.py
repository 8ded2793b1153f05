"""Renderers: each writes one format from the shared result model (:mod:`..model.results`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from pytest_kerascompat.env._files import write_text_atomically
from pytest_kerascompat.model.results import Report
from pytest_kerascompat.report.github import append_step_summary
from pytest_kerascompat.report.html import render_html
from pytest_kerascompat.report.junit import render_junit
from pytest_kerascompat.report.markdown import render_markdown

# The sweep and ``merge`` both write through this table, so they cannot disagree on a format.
RENDERERS: Mapping[str, Callable[[Report], str]] = {
    "json": Report.to_json,
    "md": render_markdown,
    "html": render_html,
    "junitxml": render_junit,
}


def write_report(report: Report, fmt: str, path: Path) -> None:
    """Render ``report`` as ``fmt`` and write it atomically: a reader never sees half a file."""
    try:
        render = RENDERERS[fmt]
    except KeyError:
        known = ", ".join(RENDERERS)
        raise ValueError(f"unknown report format {fmt!r} (known: {known})") from None
    write_text_atomically(path, render(report))


class ReportsNotWritten(OSError):
    """Some reports could not be written (a full disk, a directory gone read-only); every
    other one was. Raised after trying them all, so one bad path costs only its report."""

    def __init__(self, written: list[Path], failures: list[tuple[Path, OSError]]) -> None:
        self.written, self.failures = written, failures
        super().__init__("; ".join(f"{path}: {reason(error)}" for path, error in failures))


def reason(error: OSError) -> str:
    return error.strerror or str(error)


def write_reports(report: Report, destinations: Mapping[str, Path | None]) -> list[Path]:
    """Every requested format (format name to path), then the GitHub step summary if set.

    Raises :class:`ReportsNotWritten` when any could not be written, after the others.
    """
    written: list[Path] = []
    failures: list[tuple[Path, OSError]] = []
    for fmt, path in destinations.items():
        if path is not None:
            try:
                write_report(report, fmt, path)
            except OSError as error:
                failures.append((path, error))
            else:
                written.append(path)
    try:
        append_step_summary(report)
    except OSError as error:
        failures.append((Path(error.filename or "$GITHUB_STEP_SUMMARY"), error))
    if failures:
        raise ReportsNotWritten(written, failures)
    return written
