"""A scan's findings as text (like ruff and flake8), JSON, or GitHub workflow annotations."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TextIO

from pytest_kerascompat.commands.scan import Finding, ScanReport
from pytest_kerascompat.model.notes import plural

SCHEMA_VERSION = 1
GITHUB_TITLE = "kerascompat"


def location(
    path: str, cell: int | None, line: int | None = None, column: int | None = None
) -> str:
    """``path:line:col``, or ``path:cell N:line:col`` in a notebook (as ruff prints it)."""
    parts = [path] + ([f"cell {cell}"] if cell is not None else [])
    parts += [str(part) for part in (line, column) if part is not None]
    return ":".join(parts)


def describe(finding: Finding) -> str:
    """The message, the releases concerned and the fix: one line, the same in every format."""
    return f"{finding.message} [{finding.ranges}] fix: {finding.fix}"


def write_text(report: ScanReport, out: TextIO, err: TextIO) -> None:
    """Findings and the summary on ``out``; files or cells not scanned on ``err``."""
    for skipped in report.skipped:
        err.write(f"{location(skipped.path, skipped.cell)}: not scanned: {skipped.reason}\n")
    for finding in report.findings:
        where = location(finding.path, finding.cell, finding.line, finding.column)
        out.write(f"{where}: {finding.rule} {describe(finding)}\n")
    out.write(summary(report) + "\n")


def summary(report: ScanReport) -> str:
    files = plural(report.files, "file")
    skipped = f"; {len(report.skipped)} not scanned (see above)" if report.skipped else ""
    if not report.findings:
        return f"No uses of changed Keras APIs in {files}{skipped}."
    errors = sum(1 for finding in report.findings if finding.severity == "error")
    kinds = f"{plural(errors, 'error')}, {plural(len(report.findings) - errors, 'warning')}"
    return f"Found {plural(len(report.findings), 'use')} ({kinds}) in {files}{skipped}."


def write_json(report: ScanReport, out: TextIO, err: TextIO) -> None:
    data = {
        "schema_version": SCHEMA_VERSION,
        "files": report.files,
        "findings": [finding.to_dict() for finding in report.findings],
        "skipped": [skipped.to_dict() for skipped in report.skipped],
    }
    out.write(json.dumps(data, indent=2) + "\n")


def write_github(report: ScanReport, out: TextIO, err: TextIO) -> None:
    """One workflow command per finding: ``::error`` for a break, ``::warning`` for a warning.

    A notebook's JSON lines mean nothing to a reader, so a finding in a notebook is
    annotated on the file, with its cell and line in the message.
    """
    for finding in report.findings:
        properties = {"file": finding.path}
        message = describe(finding)
        if finding.cell is None:
            properties.update(line=str(finding.line), col=str(finding.column))
        else:
            message = f"cell {finding.cell}, line {finding.line}: {message}"
        properties["title"] = f"{GITHUB_TITLE} {finding.rule}"
        out.write(command(finding.severity, properties, message) + "\n")
    for skipped in report.skipped:
        where = f"cell {skipped.cell}: " if skipped.cell is not None else ""
        properties = {"file": skipped.path, "title": f"{GITHUB_TITLE}: not scanned"}
        out.write(command("warning", properties, where + skipped.reason) + "\n")


def command(name: str, properties: Mapping[str, str], message: str) -> str:
    listed = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::{name} {listed}::{escape_data(message)}"


def escape_data(text: str) -> str:
    """GitHub's escaping for a command's message: ``%``, CR and LF."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """GitHub's escaping for a property value: as for a message, plus ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


WRITERS: Mapping[str, Callable[[ScanReport, TextIO, TextIO], None]] = {
    "text": write_text,
    "json": write_json,
    "github": write_github,
}
