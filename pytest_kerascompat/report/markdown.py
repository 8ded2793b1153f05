"""The table as GitHub-flavoured Markdown: for ``$GITHUB_STEP_SUMMARY``, PR comments, wikis.

GitHub renders inline HTML and Markdown inside table cells, so every text that comes
from a test (a message may hold ``<script>``, ``|`` or ``__init__``) is escaped to read
literally. Each outcome gets an emoji marker as well as its word, so the table reads at
a glance without colour and still says exactly what happened.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from pytest_kerascompat.model.notes import (
    HINT_LABEL,
    RULE_LABEL,
    WARNING_LABEL,
    FailureReport,
    Note,
    failure_reports,
    plural,
)
from pytest_kerascompat.model.provenance import footer
from pytest_kerascompat.model.results import (
    CellReport,
    CellStatus,
    Outcome,
    Report,
    outcome_counts,
)
from pytest_kerascompat.report.table import (
    NOT_COLLECTED,
    Row,
    Square,
    all_rows,
    notable_results,
    row_label,
    run_failures,
)

HEADING = "Keras compatibility matrix"
MARKERS: dict[Outcome, str] = {
    Outcome.PASSED: "✅",
    Outcome.DEPRECATED: "⚠️",
    Outcome.REMOVED: "❌",
    Outcome.FAILED: "🔴",
    Outcome.ERROR: "🛑",
    Outcome.TIMEOUT: "⏱️",
    Outcome.CRASHED: "💥",
    Outcome.SKIPPED: "⏭️",
    Outcome.XFAILED: "🟡",
    Outcome.XPASSED: "🟠",
}
STATUS_MARKERS: dict[CellStatus, str] = {
    CellStatus.OK: "",
    CellStatus.INSTALL_ERROR: "⛔",
    CellStatus.IMPORT_ERROR: "⛔",
    CellStatus.USAGE_ERROR: "⛔",
    CellStatus.COLLECT_ERROR: "⛔",
    CellStatus.FILE_ERROR: "⛔",
    CellStatus.NO_INTERPRETER: "⚪",
}
NOT_COLLECTED_MARKER = "\u2013"  # an en dash: a lone "-" reads as a typo
# One pass of one pattern, so the backslashes it adds are never escaped again.
MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]~|#])")


def render_markdown(report: Report) -> str:
    """Heading, summary, table, legend, then the notes folded away under ``<details>``."""
    parts = [f"## {HEADING}", summary_line(report)]
    if report.cells:
        parts += [table(report), legend()]
    else:
        parts.append("No cells were run.")
    parts += [block for block in (cell_notes(report), square_notes(report)) if block]
    parts += [block for block in (run_footer(report),) if block]
    return "\n\n".join(parts) + "\n"


def run_footer(report: Report) -> str:
    """When, by what, on what and for which commit the table was made, in small print."""
    lines = footer(report.run, {cell.name: cell.duration for cell in report.cells})
    return "<br>".join(f"<sub>{escape(line)}</sub>" for line in lines)


def escape(text: str) -> str:
    """Make ``text`` read literally in GFM, table cells included: one line, no markup."""
    text = html.escape(text, quote=False)
    text = MARKDOWN_SPECIALS.sub(r"\\\1", text)
    return "<br>".join(text.splitlines()) if "\n" in text or "\r" in text else text


def code(text: str, *, in_table: bool = False) -> str:
    """An inline code span that no backtick in ``text`` can close early.

    In a table GFM splits cells at ``|`` before it sees code spans, so there (and only
    there: elsewhere a backslash in a code span is literal) the pipe is escaped.
    """
    text = " ".join(text.splitlines())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    if in_table:
        padded = padded.replace("|", "\\|")
    return f"{fence}{padded}{fence}"


def summary_line(report: Report) -> str:
    counts = outcome_counts(report.results)
    tally = ", ".join(f"{count} {outcome.value}" for outcome, count in sorted_counts(counts))
    shape = f"**{plural(len(report.cells), 'cell')}**, {plural(len(report.tests), 'test')}"
    return f"{verdict(report)} · {shape}" + (f": {tally}" if tally else "")


def sorted_counts(counts: dict[Outcome, int]) -> list[tuple[Outcome, int]]:
    """Outcomes in their declared order, so every summary lists them alike."""
    return [(outcome, counts[outcome]) for outcome in Outcome if outcome in counts]


def verdict(report: Report) -> str:
    """What decides the exit status, in words: the reader of a CI summary asks this first."""
    reasons = run_failures(report)
    if not reasons:
        return "\u2705 **run passes**"
    return f"\u274c **run fails** ({', '.join(reasons)})"


def table(report: Report) -> str:
    columns = len(report.cells)
    lines = [
        table_line([" "] + [f"**{escape(cell.name)}**" for cell in report.cells]),
        table_line([":---"] + [":---:"] * columns),
    ]
    lines += [
        table_line([label_text(row)] + [square_text(s) for s in row.squares])
        for row in all_rows(report)
    ]
    return "\n".join(lines)


def table_line(texts: Iterable[str]) -> str:
    return "| " + " | ".join(texts) + " |"


def label_text(row: Row) -> str:
    return f"*{escape(row.label)}*" if row.header else code(row.label, in_table=True)


def square_text(square: Square) -> str:
    """Outcome squares get their marker; header squares (versions) stay plain text."""
    if square.outcome is not None:
        return f"{MARKERS[square.outcome]} {square.outcome.value}"
    if square.status is not None and square.status is not CellStatus.OK:
        return f"{STATUS_MARKERS[square.status]} {square.status.value}"
    if square.text == NOT_COLLECTED and square.status is None:
        return NOT_COLLECTED_MARKER
    return escape(square.text)


def legend() -> str:
    entries = [f"{MARKERS[outcome]} {outcome.value}" for outcome in Outcome]
    entries += [
        f"{NOT_COLLECTED_MARKER} not collected",
        f"{STATUS_MARKERS[CellStatus.INSTALL_ERROR]} install-error / import-error / usage-error"
        " / collect-error / file-error",
        f"{STATUS_MARKERS[CellStatus.NO_INTERPRETER]} no-interpreter",
    ]
    return "**Legend:** " + " · ".join(entries)


def cell_notes(report: Report) -> str:
    cells = [cell for cell in report.cells if cell.status is not CellStatus.OK]
    if not cells:
        return ""
    return details(f"Cells that did not run ({len(cells)})", [cell_item(c) for c in cells])


def cell_item(cell: CellReport) -> str:
    marker = STATUS_MARKERS[cell.status]
    item = f"- {marker} **{escape(cell.name)}**: {cell.status.value}"
    return item + ("\n" + fenced(cell.detail, indent="  ") if cell.detail else "")


def fenced(text: str, *, indent: str) -> str:
    """A code block that no backtick run inside ``text`` can close early."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    lines = [f"{fence}text", *text.splitlines(), fence]
    return "\n".join(indent + line for line in lines)


def square_notes(report: Report) -> str:
    items = [
        result_item(row_label(report, result.test), note, cells)
        + "".join(failure_details(found) for found in failure_reports(report, result.test, cells))
        for result, note, cells in notable_results(report)
    ]
    if not items:
        return ""
    return details(f"Non-passing squares ({len(items)})", items)


def result_item(label: str, note: Note, cells: list[str]) -> str:
    where = ", ".join(escape(cell) for cell in cells)
    lines = [f"- {MARKERS[note.outcome]} **{note.outcome.value}** · {code(label)} · {where}"]
    if note.message:
        lines.append(f"  - {escape(note.message)}")
    if note.hint:
        lines.append(f"  - {HINT_LABEL}{escape(note.hint)}")
    if note.command:
        lines.append(f"  - {RULE_LABEL}{code(note.command)}")
    lines += [f"  - {WARNING_LABEL}{escape(line)}" for line in note.warnings]
    return "\n".join(lines)


def failure_details(found: FailureReport) -> str:
    """pytest's report folded under the note's item, as GitHub renders a nested block."""
    summary = f"  <details><summary>{html.escape(found.summary, quote=False)}</summary>\n\n"
    return "\n" + summary + fenced(found.body, indent="  ") + "\n\n  </details>"


def details(summary: str, items: list[str]) -> str:
    """GitHub renders Markdown inside ``<details>`` only after a blank line."""
    return (
        f"<details>\n<summary>{html.escape(summary)}</summary>\n\n"
        + "\n".join(items)
        + "\n\n</details>"
    )
