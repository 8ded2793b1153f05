"""The report as JUnit XML, for CI test-result views (GitLab, Jenkins, Azure, GitHub actions).

One ``<testsuite>`` per cell and one ``<testcase>`` per test in that cell, with the cell
in every ``classname`` (``kerascompat.<cell>.<module>``), because most views group by
classname and a test that passes in one cell and breaks in another must show up as two
rows, not one flaky test. Only what fails the run is a failure or an error here: probes
and expected breaks pass or skip, with their outcome kept as a property and in
``<system-out>`` so a ``deprecated`` is not lost among the passes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable

from pytest_kerascompat.model.notes import Note, pytest_report
from pytest_kerascompat.model.results import (
    PROBE_PREFIX,
    CellReport,
    CellStatus,
    Outcome,
    Report,
    Result,
)

ROOT_NAME = "kerascompat"
ENVIRONMENT_CASE = "environment"
NOT_COLLECTED_MESSAGE = "not collected in this cell"
FAILURES = frozenset({Outcome.FAILED, Outcome.REMOVED, Outcome.TIMEOUT, Outcome.CRASHED})
SKIPS = frozenset({Outcome.SKIPPED, Outcome.XFAILED})
# XML 1.0 cannot hold these at all, escaped or not; a stack with ANSI colours has them.
ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def render_junit(report: Report) -> str:
    suites = [cell_suite(report, cell) for cell in report.cells]
    root = ET.Element("testsuites", name=ROOT_NAME)
    set_counts(root, suites)
    root.extend(suites)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def clean(text: str) -> str:
    return ILLEGAL_XML.sub("\ufffd", text)


def cell_suite(report: Report, cell: CellReport) -> ET.Element:
    suite = ET.Element("testsuite", name=clean(cell.name))
    suite.append(cell_properties(cell))
    cases = list(cell_cases(report, cell))
    set_counts(suite, cases)
    suite.extend(cases)
    return suite


def cell_properties(cell: CellReport) -> ET.Element:
    values = {
        "python": cell.python,
        "tensorflow": cell.tensorflow,
        "keras": cell.keras,
        "keras_module": cell.keras_module,
        "backend": cell.backend,
        "status": cell.status.value,
        "requirements": " ".join(cell.requirements) or None,
        "pins": " ".join(cell.pins) or None,
    }
    return properties({name: value for name, value in values.items() if value})


def properties(values: dict[str, str]) -> ET.Element:
    element = ET.Element("properties")
    for name, value in values.items():
        ET.SubElement(element, "property", name=name, value=clean(value))
    return element


def cell_cases(report: Report, cell: CellReport) -> Iterable[ET.Element]:
    """A cell that could not run is one ``environment`` case, not a failure per test."""
    if cell.status is not CellStatus.OK:
        yield environment_case(cell)
    index = report.squares()
    for test in report.tests:
        result = index.get((test, cell.name))
        if result is not None:
            yield result_case(cell.name, result)
        elif cell.status is CellStatus.OK:
            yield not_collected_case(cell.name, test, report.api_of(test))


def environment_case(cell: CellReport) -> ET.Element:
    case = ET.Element("testcase", classname=f"{ROOT_NAME}.{clean(cell.name)}")
    case.set("name", ENVIRONMENT_CASE)
    detail = cell.detail or ""
    first_line = next(iter(detail.splitlines()), "")
    message = f"{cell.status.value}: {first_line}" if first_line else cell.status.value
    kind = "skipped" if cell.status is CellStatus.NO_INTERPRETER else "error"
    outcome = ET.SubElement(case, kind, message=clean(message))
    if kind == "error":
        outcome.set("type", cell.status.value)
    outcome.text = clean(detail) or None
    return case


def result_case(cell: str, result: Result) -> ET.Element:
    classname, name = case_names(cell, result.test, result.api, probe=result.probe)
    case = ET.Element("testcase", classname=classname, name=name)
    case.set("time", f"{result.duration or 0.0:.3f}")
    case.append(result_properties(result))
    kind = outcome_element(result)
    note = Note.of(result)
    if kind is not None:
        element = ET.SubElement(case, kind, message=clean(note.headline))
        if kind != "skipped":
            element.set("type", clean(result.exc_type or result.outcome.value))
        report = pytest_report(result)
        element.text = clean(body(note) + (f"\n\n{report}" if report else "")) or None
    elif result.outcome is not Outcome.PASSED or result.message:
        text = f"outcome: {result.outcome.value}\n{body(note)}".rstrip()
        ET.SubElement(case, "system-out").text = clean(text)
    return case


def outcome_element(result: Result) -> str | None:
    """``failure``, ``error``, ``skipped``, or None for a case that passes.

    A probe never fails: it reports which APIs work where, and the run exits 0 for it.
    """
    if result.probe:
        return None
    if result.outcome in FAILURES:
        return "failure"
    if result.outcome is Outcome.ERROR:
        return "error"
    if result.outcome in SKIPS:
        return "skipped"
    return None


def result_properties(result: Result) -> ET.Element:
    values = {
        "outcome": result.outcome.value,
        "api": result.api,
        "hint": result.hint,
        "rule": result.rule,
    }
    return properties({name: value for name, value in values.items() if value})


def not_collected_case(cell: str, test: str, api: str | None) -> ET.Element:
    classname, name = case_names(cell, test, api, probe=test.startswith(PROBE_PREFIX))
    case = ET.Element("testcase", classname=classname, name=name, time="0.000")
    ET.SubElement(case, "skipped", message=NOT_COLLECTED_MESSAGE)
    return case


def case_names(cell: str, test: str, api: str | None, *, probe: bool) -> tuple[str, str]:
    """``(classname, name)``: the cell, then the module path and classes as pytest's do.

    ``tests/test_fit.py::TestOld::test_a[x]`` in cell ``tf2.15`` becomes
    ``kerascompat.tf2.15.tests.test_fit.TestOld`` and ``test_a[x]``; a probe becomes
    ``kerascompat.tf2.15.probes`` and its API id.
    """
    prefix = f"{ROOT_NAME}.{cell}"
    if probe:
        return clean(f"{prefix}.probes"), clean(api or test.removeprefix(PROBE_PREFIX))
    path, bracket, parameters = test.partition("[")
    parts = path.split("::")
    module = parts[0].removesuffix(".py").replace("\\", "/").strip("/").replace("/", ".")
    if len(parts) == 1:
        return clean(f"{prefix}.{module}"), clean(test)
    classname = ".".join([prefix, module, *parts[1:-1]])
    return clean(classname), clean(parts[-1] + bracket + parameters)


def body(note: Note) -> str:
    """The message, the hint, the scan and the kept stack: everything a reader needs to act."""
    lines = note.lines()
    if note.detail:
        lines += ["", note.detail]
    return "\n".join(lines)


def set_counts(element: ET.Element, children: list[ET.Element]) -> None:
    """Counts of a suite over its testcases, or of ``<testsuites>`` over its suites."""
    if element.tag == "testsuites":
        totals = {key: sum(int(child.get(key, "0")) for child in children) for key in COUNTS}
    else:
        totals = {"tests": len(children)}
        totals.update((key, count(children, tag)) for key, tag in COUNTED_TAGS.items())
    for key, value in totals.items():
        element.set(key, str(value))
    element.set("time", f"{sum(float(child.get('time', '0')) for child in children):.3f}")


COUNTED_TAGS = {"failures": "failure", "errors": "error", "skipped": "skipped"}
COUNTS = ("tests", *COUNTED_TAGS)


def count(cases: list[ET.Element], tag: str) -> int:
    return sum(1 for case in cases if case.find(tag) is not None)
