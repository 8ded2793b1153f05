"""Every renderer says the same thing about a non-passing square: one Note, many markups."""

from __future__ import annotations

import html
import io
import re
import xml.etree.ElementTree as ET
from typing import NamedTuple

import pytest

from pytest_kerascompat.model.notes import Note
from pytest_kerascompat.model.results import CellReport, Outcome, Report, Result
from pytest_kerascompat.report.html import render_html
from pytest_kerascompat.report.junit import render_junit
from pytest_kerascompat.report.markdown import render_markdown
from pytest_kerascompat.report.terminal import PlainWriter, write_table
from pytest_kerascompat.sweep.session import test_report as pytest_report

CELL, TEST = "tf2.16", "tests/test_fit.py::test_fit"
SCAN = "python -m pytest_kerascompat scan --select fit_workers"


class Said(NamedTuple):
    """What a renderer printed for a square: its message, hint and scan (None if absent)."""

    message: str | None
    hint: str | None
    scan: str | None


def square(**fields: object) -> Result:
    return Result(CELL, TEST, Outcome.FAILED, **fields)  # type: ignore[arg-type]


CASES = {
    "a type and no message": (square(exc_type="ValueError"), Said("ValueError", None, None)),
    "a message and no type": (square(message="bad shape"), Said("bad shape", None, None)),
    "neither": (square(), Said(None, None, None)),
    "both, a hint and a rule": (
        square(exc_type="TypeError", message="fit(workers)", hint="a Dataset", rule="fit_workers"),
        Said("TypeError: fit(workers)", "a Dataset", SCAN),
    ),
    "a hint and no rule": (
        square(exc_type="ValueError", message="bad shape", hint="reshape the input first"),
        Said("ValueError: bad shape", "reshape the input first", None),
    ),
    "a rule and no hint": (square(message="gone", rule="fit_workers"), Said("gone", None, SCAN)),
}


def report_of(result: Result) -> Report:
    return Report(cells=[CellReport(CELL, python="3.12.1")], results=[result])


def labelled(lines: list[str], prefix: str = "") -> Said:
    """Split plain lines into the message and the ``hint:`` and ``caught by:`` lines."""
    said = {"message": None, "hint": None, "scan": None}
    for line in lines:
        line = line.removeprefix(prefix)
        if line.startswith("hint: "):
            said["hint"] = line.removeprefix("hint: ")
        elif line.startswith("caught by: "):
            said["scan"] = line.removeprefix("caught by: ").strip("`")
        elif line:
            said["message"] = line
    return Said(**said)


def terminal(result: Result) -> Said:
    stream = io.StringIO()
    write_table(PlainWriter(stream, width=100), report_of(result))
    lines = stream.getvalue().split(f"{TEST} [{CELL}]: failed", 1)[1].splitlines()
    first = lines[0].removeprefix(" - ")
    return labelled([first, *(line for line in lines[1:] if line.startswith("    "))], "    ")


def markdown(result: Result) -> Said:
    text = render_markdown(report_of(result))
    item = text.split("**failed** · ", 1)[1].split("</details>", 1)[0]
    lines = [line for line in item.splitlines()[1:] if line.startswith("  - ")]
    return labelled(lines, "  - ")


def html_notes(result: Result) -> Said:
    page = render_html(report_of(result))
    note = page.split('<section class="notes">', 1)[1].split("</section>", 1)[0]

    def div(css: str) -> str | None:
        found = re.search(rf'<div class="{css}">(.*?)</div>', note)
        return html.unescape(re.sub("<[^>]+>", "", found.group(1))) if found else None

    return labelled([line for line in map(div, ("note-message", "note-hint", "note-rule")) if line])


def html_square(result: Result) -> Said:
    """The data the square's panel shows, and its hover text, agree with the notes."""
    page = render_html(report_of(result))
    cell = re.search(r'<td class="sq [^>]*>', page)
    assert cell is not None
    attributes = dict(re.findall(r' (data-\w+|title)="([^"]*)"', cell.group(0)))
    data = {key: html.unescape(value) for key, value in attributes.items()}
    said = Said(data.get("data-message"), data.get("data-hint"), data.get("data-rule"))
    tooltip = data["title"].splitlines()[1:]
    assert labelled([line for line in tooltip if not line.endswith(" s")]) == said
    return said


def junit(result: Result) -> Said:
    root = ET.fromstring(render_junit(report_of(result)))
    failure = root.find(".//failure")
    assert failure is not None
    said = labelled((failure.text or "").splitlines())
    assert failure.get("message") == Note.of(result).headline
    return said


def pytest_summary(result: Result) -> Said:
    report = pytest_report(result, None)
    lines = str(report.longrepr).splitlines()
    headline = lines[0].removeprefix(f"[{CELL}] failed").removeprefix(": ")
    assert report.longrepr.reprcrash.message == Note.of(result).headline  # type: ignore[union-attr]
    return labelled([headline, *lines[1:]])


RENDERERS = {
    "terminal": terminal,
    "markdown": markdown,
    "html notes": html_notes,
    "html square": html_square,
    "junit": junit,
    "pytest summary": pytest_summary,
}


@pytest.mark.parametrize("renderer", RENDERERS)
@pytest.mark.parametrize("case", CASES)
def test_every_renderer_says_the_same_of_a_square(case: str, renderer: str) -> None:
    result, expected = CASES[case]
    assert RENDERERS[renderer](result) == expected


def test_an_exception_type_without_a_message_reads_as_the_type_alone() -> None:
    result = square(exc_type="ValueError")
    stream = io.StringIO()
    write_table(PlainWriter(stream, width=100), report_of(result))
    assert f"{TEST} [{CELL}]: failed - ValueError\n" in stream.getvalue()
    assert "None" not in stream.getvalue()
    report = pytest_report(result, None)
    assert report.longrepr.reprcrash.message == "failed: ValueError"  # type: ignore[union-attr]


def test_a_square_with_nothing_to_say_is_its_outcome_alone() -> None:
    note = Note.of(square())
    assert (note.headline, note.lines()) == ("failed", [])
    stream = io.StringIO()
    write_table(PlainWriter(stream, width=100), report_of(square()))
    assert f"{TEST} [{CELL}]: failed\n" in stream.getvalue()


def test_a_skipped_square_tells_pytest_the_same_headline() -> None:
    result = Result(CELL, TEST, Outcome.XFAILED, exc_type="TypeError", message="expected break")
    report = pytest_report(result, None)
    assert report.longrepr == (CELL, 0, "xfailed: TypeError: expected break")
    assert report.wasxfail == "TypeError: expected break"
