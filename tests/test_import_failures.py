"""A test module whose Keras import is gone in one cell: each of its tests is ``removed``.

The sweep runs two cells without TensorFlow on a stand-in ``keras`` package that lacks
``ImageDataGenerator`` in one cell only (the cell's environment decides), so the module
fails to import in that cell alone; the other cell collects its tests.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from pytest_kerascompat.commands.merge import merge_reports
from pytest_kerascompat.model.import_failures import spread_import_failures
from pytest_kerascompat.model.results import CellReport, Outcome, Report, Result
from pytest_kerascompat.report.markdown import square_notes
from pytest_kerascompat.report.table import notable_results

from .conftest import RESOURCES

IMAGE_MODULE = """
import os

if not os.environ.get("KERASCOMPAT_EXAMPLE"):  # set in the cell plain-b only

    class ImageDataGenerator:
        pass
"""
USER_TESTS = """
import pytest
from keras.preprocessing.image import ImageDataGenerator

pytestmark = pytest.mark.keras_compat


def test_augments():
    ImageDataGenerator()


@pytest.mark.parametrize("size", [1, 2])
def test_flows(size):
    assert ImageDataGenerator() is not None
"""
FINE = "import pytest\n\n@pytest.mark.keras_compat\ndef test_ok():\n    pass\n"
TESTS = tuple(f"test_images.py::{name}" for name in ("test_augments", "test_flows[1]"))
TESTS += ("test_images.py::test_flows[2]",)
GONE = "cannot import name 'ImageDataGenerator' from 'keras.preprocessing.image'"


@pytest.fixture
def swept(pytester: pytest.Pytester, cache_dir: Path) -> tuple[pytest.RunResult, Report]:
    pytester.path.joinpath("matrix.yaml").write_text((RESOURCES / "plain_matrix.yaml").read_text())
    package = pytester.path / "keras" / "preprocessing"
    package.mkdir(parents=True)
    for init in (package.parent / "__init__.py", package / "__init__.py"):
        init.write_text("")
    (package / "image.py").write_text(IMAGE_MODULE)
    pytester.makepyfile(test_images=USER_TESTS, test_fine=FINE)
    result = pytester.runpytest_subprocess(
        "--keras-matrix", f"--keras-cache-dir={cache_dir}", "-p", "no:cacheprovider", "-ra"
    )
    return result, Report.read_json(pytester.path / ".kerascompat" / "report.json")


def test_each_test_of_a_module_whose_keras_import_is_gone_is_removed_in_that_cell(
    swept: tuple[pytest.RunResult, Report],
) -> None:
    result, report = swept
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    squares = report.squares()
    for test in TESTS:
        assert squares[(test, "plain")].outcome is Outcome.PASSED
        removed = squares[(test, "plain-b")]
        assert removed.outcome is Outcome.REMOVED, removed
        assert removed.exc_type == "ImportError"
        assert GONE in (removed.message or "")
        assert removed.rule == "image_data_generator"
        assert "ImageDataGenerator" in (removed.hint or "")
        assert removed.detail == (
            "not collected: its module test_images.py failed to import in this cell"
        )
        assert removed.failed_module == "test_images.py"
        assert GONE in (removed.longrepr or ""), "pytest's report of the import is kept"
    assert "test_images.py" not in report.tests, "its tests stand for the module's square"
    assert squares[("test_fine.py::test_ok", "plain-b")].outcome is Outcome.PASSED


def test_the_import_failure_is_one_note_and_every_square_in_the_json(
    swept: tuple[pytest.RunResult, Report], pytester: pytest.Pytester
) -> None:
    result, _ = swept
    notes = [line for line in result.stdout.lines if line.startswith("test_images.py [")]
    assert len(notes) == 1, notes
    assert notes[0].startswith(f"test_images.py [plain-b]: removed - ImportError: {GONE[:40]}")
    rule = "    caught by: python -m pytest_kerascompat scan --select image_data_generator"
    assert result.stdout.lines.count(rule) == 1
    result.stdout.fnmatch_lines(
        [
            "REMOVED test_images.py::test_augments[[]plain-b[]]*",
            "REMOVED test_images.py::test_flows[[]1-plain-b[]]*",
        ],
        consecutive=False,
    )
    data = json.loads((pytester.path / ".kerascompat" / "report.json").read_text())
    derived = [r for r in data["results"] if r["failed_module"] == "test_images.py"]
    assert sorted(r["test"] for r in derived) == sorted(TESTS)
    assert {(r["cell"], r["outcome"], r["rule"]) for r in derived} == {
        ("plain-b", "removed", "image_data_generator")
    }


# -- the same rule without processes, and through merge


def square(cell: str, test: str, outcome: Outcome = Outcome.PASSED, **fields: object) -> Result:
    return Result(cell, test, outcome, **fields)  # type: ignore[arg-type]


def module_square(cell: str, outcome: Outcome = Outcome.REMOVED) -> Result:
    return square(
        cell, "tests/test_images.py", outcome, exc_type="ImportError", message=GONE,
        hint="use keras.utils.image_dataset_from_directory", change="image_data_generator",
        longrepr="E   ImportError: " + GONE,
    )  # fmt: skip


def two_cells(*results: Result) -> Report:
    return Report(cells=[CellReport("k2"), CellReport("k3")], results=list(results))


def test_only_a_removed_module_square_spreads_to_the_tests_other_cells_collected() -> None:
    report = two_cells(
        square("k2", "tests/test_images.py::test_a", api="image"),
        square("k2", "tests/test_images.py::test_b"),
        square("k2", "tests/test_other.py::test_c"),
        module_square("k3"),
    )
    added = spread_import_failures(report)
    assert [(r.test, r.cell, r.outcome, r.api) for r in added] == [
        ("tests/test_images.py::test_a", "k3", Outcome.REMOVED, "image"),
        ("tests/test_images.py::test_b", "k3", Outcome.REMOVED, None),
    ]
    assert all(r.rule == "image_data_generator" and r.duration is None for r in added)
    assert ("tests/test_images.py", "k3") not in report.squares()
    assert ("tests/test_other.py::test_c", "k3") not in report.squares()


def test_an_import_error_that_is_not_a_removal_stays_one_square() -> None:
    report = two_cells(
        square("k2", "tests/test_images.py::test_a"), module_square("k3", Outcome.ERROR)
    )
    assert spread_import_failures(report) == []
    assert report.square("tests/test_images.py", "k3") is not None
    assert report.square("tests/test_images.py::test_a", "k3") is None


def test_a_module_square_no_other_cell_explains_is_kept() -> None:
    report = two_cells(square("k2", "tests/test_other.py::test_c"), module_square("k3"))
    assert spread_import_failures(report) == []
    assert report.square("tests/test_images.py", "k3") is not None


def test_a_package_that_failed_to_import_spreads_to_the_tests_under_it() -> None:
    report = two_cells(
        square("k2", "tests/images/test_flow.py::test_a"),
        square("k2", "tests/imagesx/test_flow.py::test_b"),
        dataclasses.replace(module_square("k3"), test="tests/images"),
    )
    added = spread_import_failures(report)
    assert [r.test for r in added] == ["tests/images/test_flow.py::test_a"]


def test_the_derived_squares_make_one_note_named_by_the_module() -> None:
    report = two_cells(
        square("k2", "tests/test_images.py::test_a"),
        square("k2", "tests/test_images.py::test_b"),
        module_square("k3"),
    )
    spread_import_failures(report)
    notes = list(notable_results(report))
    assert [(first.test, where) for first, _, where in notes] == [("tests/test_images.py", ["k3"])]
    markdown = square_notes(report)
    assert "Non-passing squares (1)" in markdown
    assert "pytest's report (k3)" in markdown, "the import's traceback is kept, once"


def test_merge_spreads_a_module_square_over_the_tests_another_shard_collected(
    tmp_path: Path,
) -> None:
    keras2 = Report(
        cells=[CellReport("k2")],
        results=[
            square("k2", "tests/test_images.py::test_a"),
            square("k2", "tests/test_images.py::test_b"),
        ],
    )
    keras3 = Report(cells=[CellReport("k3")], results=[module_square("k3")])
    keras2.write_json(tmp_path / "k2.json")
    keras3.write_json(tmp_path / "k3.json")
    merged = merge_reports([tmp_path / "k2.json", tmp_path / "k3.json"])
    outcomes = {r.key: r.outcome for r in merged.results}
    assert outcomes == {
        ("tests/test_images.py::test_a", "k2"): Outcome.PASSED,
        ("tests/test_images.py::test_b", "k2"): Outcome.PASSED,
        ("tests/test_images.py::test_a", "k3"): Outcome.REMOVED,
        ("tests/test_images.py::test_b", "k3"): Outcome.REMOVED,
    }
    merged.write_json(tmp_path / "merged.json")
    keras2_more = Report(
        cells=[CellReport("k4")], results=[square("k4", "tests/test_images.py::test_c")]
    )
    keras2_more.write_json(tmp_path / "k4.json")
    again = merge_reports([tmp_path / "merged.json", tmp_path / "k4.json"])
    assert again.square("tests/test_images.py::test_c", "k3") is not None, (
        "a merged report's derived squares spread again, the module square gone"
    )
    assert again == merge_reports([tmp_path / "merged.json", tmp_path / "k4.json"])
