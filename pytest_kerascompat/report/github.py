"""GitHub Actions: the step summary gets the Markdown table without being asked."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pytest_kerascompat.model.results import Report
from pytest_kerascompat.report.markdown import render_markdown

STEP_SUMMARY_VARIABLE = "GITHUB_STEP_SUMMARY"


def append_step_summary(report: Report, environ: Mapping[str, str] | None = None) -> Path | None:
    """Append the table to ``$GITHUB_STEP_SUMMARY`` when it is set; return its path."""
    target = (os.environ if environ is None else environ).get(STEP_SUMMARY_VARIABLE)
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as stream:
        stream.write(render_markdown(report) + "\n")
    return path
