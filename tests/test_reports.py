"""Markdown, HTML and JUnit XML drawn from one sample report with every outcome in it."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pytest_kerascompat.commands.merge import merge_reports
from pytest_kerascompat.model.changes import KNOWN_CHANGES
from pytest_kerascompat.model.results import CellReport, Outcome, Report, Result, WarningSeen
from pytest_kerascompat.report import RENDERERS, write_report
from pytest_kerascompat.report.html import (
    OUTCOME_COLOURS,
    OUTCOME_COLOURS_DARK,
    PASSED_COLOUR,
    REMOVED_COLOUR,
    render_html,
)
from pytest_kerascompat.report.junit import render_junit
from pytest_kerascompat.report.markdown import MARKERS, escape, render_markdown
from pytest_kerascompat.report.table import row_label
from pytest_kerascompat.report.terminal import PlainWriter, write_table

from .report_samples import (
    BROKEN_CELL,
    FIT_GENERATOR,
    FIT_GENERATOR_HINT,
    FIT_GENERATOR_SCAN,
    HOSTILE_MESSAGE,
    INSTALL_DETAIL,
    LEGACY,
    MISSING_CELL,
    NOT_COLLECTED,
    OK_CELLS,
    ONLY_TF,
    SLOW,
    STACK,
    TF_DATA,
    TRAINS,
    WORKERS,
    WORKERS_HINT,
    sample_report,
)

TESTS = (FIT_GENERATOR, TF_DATA, TRAINS, SLOW, LEGACY, WORKERS, ONLY_TF)
CELLS = (*OK_CELLS, BROKEN_CELL, MISSING_CELL)


@pytest.fixture
def report() -> Report:
    return sample_report()


def test_the_sample_report_holds_every_outcome(report: Report) -> None:
    """The renderers below are only as well tested as this report is varied."""
    assert {result.outcome for result in report.results} == set(Outcome)


# --- Markdown ---------------------------------------------------------------------------


def table_lines(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("|")]


def columns(line: str) -> list[str]:
    """Split a GFM table line at its unescaped pipes, as GitHub does."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]


def test_every_markdown_table_line_has_a_column_per_cell_plus_the_labels(report: Report) -> None:
    lines = table_lines(render_markdown(report))
    assert lines, "no table"
    assert {len(columns(line)) for line in lines} == {len(CELLS) + 1}
    assert columns(lines[0])[1:] == [f"**{cell}**" for cell in CELLS]
    assert set(columns(lines[1])[1:]) == {":---:"}


def test_the_markdown_table_has_the_header_rows_then_a_row_per_test(report: Report) -> None:
    labels = [columns(line)[0] for line in table_lines(render_markdown(report))[2:]]
    header = ["*python*", "*tensorflow*", "*keras*", "*backend*", "*status*"]
    assert labels[:5] == header
    assert labels[5:] == [f"`{row_label(report, test)}`" for test in TESTS]


def test_markdown_squares_show_a_marker_and_the_outcome_word(report: Report) -> None:
    rows = {columns(line)[0]: columns(line)[1:] for line in table_lines(render_markdown(report))}
    assert rows["`fit_generator`"] == [
        "⚠️ deprecated",
        "❌ removed",
        "❌ removed",
        "⛔ install-error",
        "⚪ no-interpreter",
    ]
    assert rows[f"`{LEGACY}`"][:3] == ["⏭️ skipped", "🟡 xfailed", "🟠 xpassed"]
    assert rows[f"`{ONLY_TF}`"][2] == "\u2013", "not collected in keras3-jax"
    assert rows["*keras*"][2] == "3.15.1 (keras)"


def test_the_markdown_legend_gives_every_outcome_its_marker(report: Report) -> None:
    legend = next(line for line in render_markdown(report).splitlines() if "Legend" in line)
    for outcome in Outcome:
        assert f"{MARKERS[outcome]} {outcome.value}" in legend
    assert "not collected" in legend
    assert len(set(MARKERS.values())) == len(Outcome), "one marker per outcome"


def test_markdown_details_list_each_non_passing_square_with_message_and_hint(
    report: Report,
) -> None:
    markdown = render_markdown(report)
    notes = markdown[markdown.index("Non-passing squares") :]
    assert "<summary>Non-passing squares (9)</summary>" in markdown
    assert "- ❌ **removed** · `fit_generator` · tf2.16, keras3-jax" in notes
    assert "AttributeError: 'Functional' object has no attribute 'fit\\_generator'" in notes
    assert f"  - hint: {escape(FIT_GENERATOR_HINT)}" in notes
    assert "- ⏱️ **timeout** · `tests/test_training.py::test_slow` · tf2.15" in notes
    assert "passed" not in notes.replace("passed inside", "").replace("xpassed", "")
    assert notes.rstrip().endswith("</details>")


def test_markdown_details_list_the_cells_that_did_not_run_with_their_detail(
    report: Report,
) -> None:
    markdown = render_markdown(report)
    cells = markdown[markdown.index("Cells that did not run") : markdown.index("Non-passing")]
    assert f"- ⛔ **{BROKEN_CELL}**: install-error" in cells
    assert f"- ⚪ **{MISSING_CELL}**: no-interpreter" in cells
    for line in INSTALL_DETAIL.splitlines():
        assert f"  {line}" in cells.splitlines()


def test_markdown_escapes_html_and_pipes_from_messages(report: Report) -> None:
    markdown = render_markdown(report)
    assert "<script>" not in markdown
    assert '&lt;script&gt;alert("x")&lt;/script&gt; shape (3\\|4) &amp; more' in markdown
    assert "hint: reshape the \\| input first" in markdown


def test_markdown_escape_keeps_one_table_cell_reading_literally() -> None:
    assert escape("a|b\nc <d> __init__ `x`") == ("a\\|b<br>c &lt;d&gt; \\_\\_init\\_\\_ \\`x\\`")


def test_markdown_says_whether_the_run_passes(report: Report) -> None:
    assert "❌ **run fails** (6 user squares broke, 1 cell could not run)" in render_markdown(
        report
    )
    passing = Report([CellReport("tf2.15")], [Result("tf2.15", "t.py::test", Outcome.PASSED)])
    assert "✅ **run passes** · **1 cell**, 1 test: 1 passed" in render_markdown(passing)


# --- HTML -------------------------------------------------------------------------------


class Page(HTMLParser):
    """Elements with their attributes, and the text outside scripts and styles."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.parts: list[str] = []
        self.raw: dict[str, list[str]] = {"script": [], "style": []}
        self.inside: str | None = None
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {name: value or "" for name, value in attrs}))
        self.inside = tag if tag in self.raw else None

    def handle_endtag(self, tag: str) -> None:
        self.inside = None

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.raw[self.inside].append(data)
        else:
            self.parts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.parts).split())

    def squares(self) -> dict[tuple[str, str], dict[str, str]]:
        return {
            (attrs["data-test"], attrs["data-cell"]): attrs
            for tag, attrs in self.elements
            if tag == "td"
        }


def expected_class(report: Report, test: str, cell: str) -> str:
    result = report.square(test, cell)
    if result is not None:
        return f"outcome-{result.outcome.value}"
    if cell == BROKEN_CELL:
        return "status-install-error"
    if cell == MISSING_CELL:
        return "status-no-interpreter"
    return "outcome-not-collected"


def test_the_html_table_has_every_square_with_its_outcome_class(report: Report) -> None:
    squares = Page(render_html(report)).squares()
    assert len(squares) == len(TESTS) * len(CELLS)
    for test in TESTS:
        for cell in CELLS:
            classes = squares[(row_label(report, test), cell)]["class"].split()
            assert expected_class(report, test, cell) in classes, (test, cell)
    assert squares[(NOT_COLLECTED[0], NOT_COLLECTED[1])]["data-outcome"] == "not collected"


def test_html_squares_are_focusable_and_titled_with_message_hint_and_duration(
    report: Report,
) -> None:
    squares = Page(render_html(report)).squares()
    assert {attrs.get("tabindex") for attrs in squares.values()} == {"0"}
    failed = squares[(TRAINS, "tf2.16")]["title"]
    assert failed.splitlines() == [
        f"{TRAINS} in tf2.16: failed",
        f"ValueError: {HOSTILE_MESSAGE}",
        "hint: reshape the | input first",
        "1.50 s",
    ]
    assert squares[(SLOW, "tf2.15")]["data-detail"] == STACK


def test_html_escapes_every_text_from_the_report(report: Report) -> None:
    markup = render_html(report, title='<b>"title"</b>')
    page = Page(markup)
    assert "<script>alert" not in markup
    assert [tag for tag, _ in page.elements].count("script") == 1, "only the page's own"
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in markup
    assert f"ValueError: {HOSTILE_MESSAGE}" in page.text
    assert '<b>"title"</b> Run fails' in page.text
    assert not any(tag == "b" for tag, _ in page.elements)


def test_the_html_page_needs_nothing_from_the_network_or_other_files(report: Report) -> None:
    markup = render_html(report).lower()
    for reference in ("http://", "https://", "src=", "@import", "url(", "<link"):
        assert reference not in markup


def test_html_column_headers_show_each_cells_versions_and_status(report: Report) -> None:
    page = Page(render_html(report))
    headers = [attrs for tag, attrs in page.elements if tag == "th" and "data-info" in attrs]
    assert [attrs["data-info"] for attrs in headers][2] == (
        "Python 3.13.0 · TensorFlow 2.21.0 · Keras 3.15.1 (keras) · backend jax"
    )
    assert "keras3-jax Python 3.13.0 TensorFlow 2.21.0 Keras 3.15.1 (keras) backend jax ok" in (
        page.text
    )
    assert f"{BROKEN_CELL} Python 3.12.1" in page.text
    assert "install-error" in page.text


def test_html_row_labels_are_probe_api_ids_or_test_ids(report: Report) -> None:
    page = Page(render_html(report))
    labels = [attrs["title"] for tag, attrs in page.elements if tag == "th" and "title" in attrs]
    assert labels == [*TESTS[:5], f"{WORKERS} (api: fit_workers)", ONLY_TF]
    assert "fit_generator probe" in page.text


def test_html_legend_and_notes_name_every_outcome_and_the_cells_that_did_not_run(
    report: Report,
) -> None:
    page = Page(render_html(report))
    legend = page.text[page.text.index("passed deprecated") :]
    assert " ".join(outcome.value for outcome in Outcome) in legend
    assert "Cells that did not run install-error tf9.9 No solution found" in page.text
    assert "hint: reshape the | input first" in page.text


def test_html_outcome_colours_are_css_classes_in_four_families(report: Report) -> None:
    css = "".join(Page(render_html(report)).raw["style"])
    assert f".outcome-passed {{ background-color: {PASSED_COLOUR};" in css
    assert f".outcome-removed {{ background-color: {REMOVED_COLOUR};" in css
    assert "@media (prefers-color-scheme: dark)" in css
    assert f".outcome-passed {{ background-color: {OUTCOME_COLOURS_DARK[Outcome.PASSED]};" in css
    assert len(set(OUTCOME_COLOURS.values())) == 4
    assert OUTCOME_COLOURS[Outcome.FAILED] == REMOVED_COLOUR
    assert OUTCOME_COLOURS[Outcome.DEPRECATED] == OUTCOME_COLOURS[Outcome.XPASSED]


def test_an_empty_report_still_renders_a_page() -> None:
    page = Page(render_html(Report()))
    assert "No cells were run." in page.text


# --- JUnit XML --------------------------------------------------------------------------


@pytest.fixture
def junit(report: Report) -> ET.Element:
    return ET.fromstring(render_junit(report))


def cases_of(suite: ET.Element) -> dict[tuple[str, str], ET.Element]:
    return {
        (case.get("classname", ""), case.get("name", "")): case for case in suite.iter("testcase")
    }


def suite_of(junit: ET.Element, cell: str) -> ET.Element:
    return next(suite for suite in junit.iter("testsuite") if suite.get("name") == cell)


def case_outcome(case: ET.Element) -> str:
    return next(
        (child.tag for child in case if child.tag in ("failure", "error", "skipped")), "pass"
    )


def property_values(element: ET.Element) -> dict[str, str]:
    properties = element.find("properties")
    assert properties is not None
    return {prop.get("name", ""): prop.get("value", "") for prop in properties}


def test_junit_has_a_suite_per_cell_with_its_versions_as_properties(junit: ET.Element) -> None:
    assert junit.tag == "testsuites"
    assert [suite.get("name") for suite in junit] == list(CELLS)
    assert property_values(suite_of(junit, "keras3-jax")) == {
        "python": "3.13.0",
        "tensorflow": "2.21.0",
        "keras": "3.15.1",
        "keras_module": "keras",
        "backend": "jax",
        "status": "ok",
    }


def test_junit_has_one_testcase_per_test_in_every_usable_cell(junit: ET.Element) -> None:
    for cell in OK_CELLS:
        cases = cases_of(suite_of(junit, cell))
        assert len(cases) == len(TESTS) == len(list(suite_of(junit, cell).iter("testcase")))
        assert (f"kerascompat.{cell}.probes", "fit_generator") in cases
        assert (f"kerascompat.{cell}.tests.test_training", "test_trains") in cases
        assert (f"kerascompat.{cell}.tests.test_training.TestLegacy", "test_legacy[a]") in cases


def test_junit_classnames_group_every_testcase_under_its_cell(junit: ET.Element) -> None:
    for suite in junit:
        prefix = f"kerascompat.{suite.get('name')}"
        for case in suite.iter("testcase"):
            classname = case.get("classname", "")
            assert classname == prefix or classname.startswith(prefix + ".")


def test_junit_fails_only_user_tests_with_breaking_outcomes(junit: ET.Element) -> None:
    outcomes = {
        (suite.get("name"), case.get("name")): case_outcome(case)
        for suite in junit
        for case in suite.iter("testcase")
    }
    assert outcomes[("tf2.16", "test_trains")] == "failure"
    assert outcomes[("keras3-jax", "test_trains")] == "error"
    assert outcomes[("tf2.15", "test_slow")] == "failure"
    assert outcomes[("tf2.16", "test_slow")] == "failure"
    assert outcomes[("tf2.16", "test_fit_workers")] == "failure"
    assert outcomes[("tf2.15", "test_legacy[a]")] == "skipped"
    assert outcomes[("tf2.16", "test_legacy[a]")] == "skipped"
    assert outcomes[("keras3-jax", "test_legacy[a]")] == "pass"
    assert outcomes[("tf2.15", "test_trains")] == "pass"
    failing = {key for key, outcome in outcomes.items() if outcome in ("failure", "error")}
    assert failing == {
        ("tf2.16", "test_trains"),
        ("keras3-jax", "test_trains"),
        ("tf2.15", "test_slow"),
        ("tf2.16", "test_slow"),
        ("tf2.16", "test_fit_workers"),
        ("keras3-jax", "test_fit_workers"),
        (BROKEN_CELL, "environment"),
    }


def test_junit_probes_pass_but_keep_their_outcome_and_message(junit: ET.Element) -> None:
    probe = cases_of(suite_of(junit, "tf2.16"))[("kerascompat.tf2.16.probes", "fit_generator")]
    assert case_outcome(probe) == "pass"
    assert property_values(probe)["outcome"] == "removed"
    assert probe.findtext("system-out", "").splitlines()[:2] == [
        "outcome: removed",
        "AttributeError: 'Functional' object has no attribute 'fit_generator'",
    ]


def test_junit_passing_deprecated_and_xpassed_cases_say_so_in_system_out(
    junit: ET.Element,
) -> None:
    legacy = ("kerascompat.keras3-jax.tests.test_training.TestLegacy", "test_legacy[a]")
    xpassed = cases_of(suite_of(junit, "keras3-jax"))[legacy]
    assert xpassed.findtext("system-out", "").startswith("outcome: xpassed\n")
    deprecated = cases_of(suite_of(junit, "tf2.15"))[("kerascompat.tf2.15.probes", "fit_generator")]
    assert "Model.fit_generator is deprecated" in deprecated.findtext("system-out", "")
    passed = cases_of(suite_of(junit, "tf2.15"))[("kerascompat.tf2.15.probes", "tf_data")]
    assert passed.find("system-out") is None


def test_junit_failures_carry_the_outcome_message_hint_and_stack(junit: ET.Element) -> None:
    cases = cases_of(suite_of(junit, "tf2.15"))
    failure = cases[("kerascompat.tf2.15.tests.test_training", "test_slow")].find("failure")
    assert failure is not None
    assert failure.get("message") == "timeout: ran past 300 s"
    assert failure.get("type") == "timeout"
    assert STACK in (failure.text or "")
    failed = cases_of(suite_of(junit, "tf2.16"))[
        ("kerascompat.tf2.16.tests.test_training", "test_trains")
    ]
    element = failed.find("failure")
    assert element is not None
    assert element.get("message") == f"failed: ValueError: {HOSTILE_MESSAGE}"
    assert element.get("type") == "ValueError"
    assert "hint: reshape the | input first" in (element.text or "")


def test_junit_gives_a_cell_that_could_not_run_one_environment_case(junit: ET.Element) -> None:
    broken = list(suite_of(junit, BROKEN_CELL).iter("testcase"))
    assert [(case.get("classname"), case.get("name")) for case in broken] == [
        (f"kerascompat.{BROKEN_CELL}", "environment")
    ]
    error = broken[0].find("error")
    assert error is not None
    assert error.get("message") == f"install-error: {INSTALL_DETAIL.splitlines()[0]}"
    assert error.text == INSTALL_DETAIL
    missing = list(suite_of(junit, MISSING_CELL).iter("testcase"))
    assert [case_outcome(case) for case in missing] == ["skipped"]


def test_junit_skips_a_test_not_collected_in_a_cell(junit: ET.Element) -> None:
    _, cell = NOT_COLLECTED
    case = cases_of(suite_of(junit, cell))[
        (f"kerascompat.{cell}.tests.test_training", "test_only_tf")
    ]
    skipped = case.find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "not collected in this cell"


def test_junit_counts_match_the_testcases(junit: ET.Element) -> None:
    for suite in junit:
        cases = list(suite.iter("testcase"))
        assert suite.get("tests") == str(len(cases))
        for key, tag in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
            assert suite.get(key) == str(sum(case_outcome(c) == tag for c in cases)), key
    for key in ("tests", "failures", "errors", "skipped"):
        assert junit.get(key) == str(sum(int(suite.get(key, "")) for suite in junit))
    assert (junit.get("tests"), junit.get("failures"), junit.get("errors")) == ("23", "5", "2")
    assert float(suite_of(junit, "tf2.15").get("time", "")) == pytest.approx(0.25 * 2 + 1.5 * 5)


def test_junit_replaces_characters_xml_cannot_hold() -> None:
    coloured = Result("tf2.15", "t.py::test", Outcome.FAILED, message="\x1b[31mred\x1b[0m\x00")
    root = ET.fromstring(render_junit(Report([CellReport("tf2.15")], [coloured])))
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("message") == "failed: \ufffd[31mred\ufffd[0m\ufffd"


def test_junit_names_a_module_level_collection_error_after_its_file() -> None:
    error = Result("tf2.15", "tests/test_broken.py", Outcome.ERROR, message="ImportError")
    root = ET.fromstring(render_junit(Report([CellReport("tf2.15")], [error])))
    case = root.find("testsuite/testcase")
    assert case is not None
    assert (case.get("classname"), case.get("name")) == (
        "kerascompat.tf2.15.tests.test_broken",
        "tests/test_broken.py",
    )


# --- writing ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_write_report_writes_each_format_whole(report: Report, fmt: str, tmp_path: Path) -> None:
    path = tmp_path / "out" / f"report.{fmt}"
    write_report(report, fmt, path)
    text = path.read_text(encoding="utf-8")
    assert text == RENDERERS[fmt](report)
    assert [entry.name for entry in path.parent.iterdir()] == [path.name], "no temporary left"


def test_the_json_report_reads_back_as_the_same_report(report: Report, tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    write_report(report, "json", path)
    assert json.loads(path.read_text(encoding="utf-8"))["schema_version"] == 1
    assert Report.read_json(path) == report


def test_write_report_names_the_known_formats_for_an_unknown_one(
    report: Report, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="known: json, md, html, junitxml"):
        write_report(report, "pdf", tmp_path / "report.pdf")
    assert not list(tmp_path.iterdir())


# --- the scan rule that would have caught a square ---------------------------------------


def rule_of(report: Report, test: str, cell: str) -> str | None:
    result = report.square(test, cell)
    assert result is not None, (test, cell)
    return result.rule


def test_a_square_whose_change_has_a_scan_rule_names_it(report: Report) -> None:
    assert rule_of(report, FIT_GENERATOR, "tf2.16") == "fit_generator"
    assert rule_of(report, FIT_GENERATOR, "tf2.15") == "fit_generator"
    assert rule_of(report, WORKERS, "keras3-jax") == "fit_workers"
    assert rule_of(report, TRAINS, "tf2.16") is None, "a hint from nowhere in the table"
    assert rule_of(report, TF_DATA, "tf2.16") is None


@pytest.mark.parametrize(
    ("outcome", "rule"),
    [
        (Outcome.REMOVED, "fit_workers"),
        (Outcome.FAILED, "fit_workers"),
        (Outcome.DEPRECATED, "fit_workers"),
        (Outcome.XFAILED, "fit_workers"),
        (Outcome.XPASSED, "fit_workers"),
        (Outcome.TIMEOUT, "fit_workers"),
    ],
)
def test_every_square_that_matches_a_known_change_names_its_rule_whatever_the_outcome(
    outcome: Outcome, rule: str | None
) -> None:
    square = Result("tf2.16", WORKERS, outcome, hint=WORKERS_HINT, change="fit_workers")
    assert square.rule == rule


def test_a_changes_hint_without_a_scan_pattern_names_no_rule() -> None:
    hint = "this TensorFlow was built for NumPy 1"
    numpy_hint = next(c.hint for c in KNOWN_CHANGES if c.api == "numpy2")
    assert numpy_hint.startswith(hint)
    assert Result("tf2.10", TRAINS, Outcome.FAILED, hint=numpy_hint, change="numpy2").rule is None


def test_the_rule_comes_from_the_changes_id_not_from_the_hints_wording() -> None:
    reworded = Result("tf2.16", WORKERS, Outcome.REMOVED, hint="reworded", change="fit_workers")
    assert reworded.rule == "fit_workers"
    assert Result("tf2.16", WORKERS, Outcome.REMOVED, hint=WORKERS_HINT).rule is None


def test_the_json_report_keeps_its_fields_and_leaves_the_change_id_out(report: Report) -> None:
    fields = {"cell", "test", "api", "outcome", "message", "duration", "exc_type", "hint"}
    fields |= {"probe", "detail", "rule", "longrepr"}
    fields |= {"warnings", "warnings_omitted", "failed_module"}
    assert all(set(result) == fields for result in json.loads(report.to_json())["results"])


def test_the_rule_round_trips_through_json_and_merge(report: Report, tmp_path: Path) -> None:
    data = json.loads(report.to_json())
    rules = {(r["test"], r["cell"]): r["rule"] for r in data["results"]}
    assert rules[(FIT_GENERATOR, "keras3-jax")] == "fit_generator"
    assert rules[(TRAINS, "tf2.16")] is None
    explicit = Result("tf2.16", TRAINS, Outcome.REMOVED, hint="x", rule="predict_classes")
    assert Result.from_dict(explicit.to_dict()) == explicit, "a stored rule is kept as it is"
    shards = []
    for cell in OK_CELLS:
        shard = Report(
            cells=[c for c in report.cells if c.name == cell],
            results=[r for r in report.results if r.cell == cell],
        )
        shards.append(tmp_path / f"{cell}.json")
        shard.write_json(shards[-1])
    merged = merge_reports(shards)
    assert rule_of(merged, WORKERS, "tf2.16") == "fit_workers"


def test_the_terminal_notes_say_which_scan_catches_a_removed_square(report: Report) -> None:
    stream = io.StringIO()
    write_table(PlainWriter(stream, width=100), report)
    lines = stream.getvalue().splitlines()
    removed = lines.index(
        "fit_generator [tf2.16, keras3-jax]: removed - "
        "AttributeError: 'Functional' object has no attribute 'fit_generator'"
    )
    assert lines[removed + 1 : removed + 3] == [
        f"    hint: {FIT_GENERATOR_HINT}",
        f"    caught by: {FIT_GENERATOR_SCAN}",
    ]
    caught = [line for line in lines if "caught by" in line]
    assert len(caught) == 3, "deprecated and removed fit_generator, removed fit_workers"


def test_the_markdown_notes_name_the_scan_as_a_command(report: Report) -> None:
    notes = render_markdown(report).split("Non-passing squares", 1)[1]
    assert f"  - caught by: `{FIT_GENERATOR_SCAN}`" in notes
    assert notes.count("caught by:") == 3


def test_the_html_note_square_and_inspector_name_the_scan(report: Report) -> None:
    markup = render_html(report)
    page = Page(markup)
    assert f"caught by: {FIT_GENERATOR_SCAN}" in page.text
    square = page.squares()[("fit_generator", "tf2.16")]
    assert square["data-rule"] == FIT_GENERATOR_SCAN
    assert square["title"].splitlines()[-2] == f"caught by: {FIT_GENERATOR_SCAN}"
    assert "data-rule" not in page.squares()[(TRAINS, "tf2.16")]
    assert 'data-field="rule"' in markup
    assert 'field("rule").textContent' in "".join(page.raw["script"])


def test_junit_cases_carry_the_rule_as_a_property_and_in_the_failure(junit: ET.Element) -> None:
    case = cases_of(suite_of(junit, "tf2.16"))[
        ("kerascompat.tf2.16.tests.test_feeding", "test_fit_workers")
    ]
    assert property_values(case)["rule"] == "fit_workers"
    failure = case.find("failure")
    assert failure is not None
    assert "caught by: python -m pytest_kerascompat scan --select fit_workers" in (
        failure.text or ""
    )
    passed = cases_of(suite_of(junit, "tf2.15"))[
        ("kerascompat.tf2.15.tests.test_feeding", "test_fit_workers")
    ]
    assert "rule" not in property_values(passed)


# ------------------------------------------------- warnings and installed packages


def warned_report() -> Report:
    warnings = tuple(
        WarningSeen("UserWarning", f"warning number {n}", "/proj/lib/train.py", n)
        for n in range(1, 11)
    )
    square = Result(
        "k3", "tests/test_fit.py::test_fit", Outcome.DEPRECATED, message="warning number 1",
        warnings=warnings, warnings_omitted=3,
    )  # fmt: skip
    cell = CellReport("k3", installed=("keras==3.10.0", "tensorflow==2.16.2", "trainkit==0.1"))
    return Report(cells=[cell], results=[square])


def test_a_squares_warnings_and_a_cells_packages_survive_json_and_merge(tmp_path: Path) -> None:
    report = warned_report()
    data = json.loads(report.to_json())
    first = data["results"][0]["warnings"][0]
    assert first == {
        "category": "UserWarning", "message": "warning number 1",
        "filename": "/proj/lib/train.py", "lineno": 1,
    }  # fmt: skip
    assert data["results"][0]["warnings_omitted"] == 3
    assert data["cells"][0]["installed"] == ["keras==3.10.0", "tensorflow==2.16.2", "trainkit==0.1"]
    report.write_json(tmp_path / "shard.json")
    merged = merge_reports([tmp_path / "shard.json"]).to_dict()
    assert merged.pop("run")["shards"] == [{"file": "shard.json"}]  # the shard had no run
    assert merged == {key: value for key, value in report.to_dict().items() if key != "run"}


def test_markdown_and_html_details_list_each_warning_with_its_file_and_line() -> None:
    report = warned_report()
    markdown = render_markdown(report)
    assert "  - warning: UserWarning: warning number 2 (/proj/lib/train.py:2)" in markdown
    assert "  - warning: and 3 more warnings" in markdown
    page = render_html(report)
    assert '<div class="note-warning">warning: UserWarning: warning number 10 (' in page
    assert 'data-warnings="warning: UserWarning: warning number 1 (' in page


def test_the_html_cell_header_folds_the_packages_the_cell_had() -> None:
    page = render_html(warned_report())
    assert '<details class="installed"><summary>3 packages installed</summary>' in page
    assert "<li>trainkit==0.1</li>" in page
