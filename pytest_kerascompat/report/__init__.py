"""Renderers: each writes one format from the shared :class:`~pytest_kerascompat.results.Report`."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path

from ..results import Report, write_text_atomically
from .html import render_html
from .junit import render_junit
from .markdown import render_markdown


def render_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2) + "\n"


# The sweep and ``merge`` both write through this table, so they cannot disagree on a format.
RENDERERS: Mapping[str, Callable[[Report], str]] = {
    "json": render_json,
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
