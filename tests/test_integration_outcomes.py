"""A user's own library and tests, swept in a real Keras 2 and a real Keras 3 cell.

``resources/keras_user_project`` is written as users write them: a subclassed model, a
training helper of the library calling ``fit_generator``, ``fit(..., workers=)``,
``evaluate_generator``, ``predict_classes``, a ``Sequence`` without ``super().__init__()``,
a genuine shape bug, a missing attribute on the library's own plain object, and a test
module importing what Keras 3 removed. Each square's outcome, hint and rule is checked.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_kerascompat.model.changes import change_by_id
from pytest_kerascompat.model.results import Report, Result

from .conftest import RESOURCES

pytestmark = pytest.mark.integration

PROJECT = RESOURCES / "keras_user_project"

#: test -> {cell: (outcome, rule)}; a rule's change gives the hint the square must carry.
EXPECTED = {
    "test_fit_generator_in_the_library": {
        "k2": ("deprecated", "fit_generator"), "k3": ("removed", "fit_generator")},
    "test_fit_with_workers": {"k2": ("passed", None), "k3": ("removed", "fit_workers")},
    "test_evaluate_generator": {
        "k2": ("deprecated", "evaluate_generator"), "k3": ("removed", "evaluate_generator")},
    "test_predict_classes": {
        "k2": ("removed", "predict_classes"), "k3": ("removed", "predict_classes")},
    "test_sequence_without_super_init": {
        "k2": ("passed", None), "k3": ("deprecated", "sequence_super_init")},
    "test_shape_bug": {"k2": ("failed", None), "k3": ("failed", None)},
    "test_missing_attribute_on_a_plain_object": {"k2": ("failed", None), "k3": ("failed", None)},
    "test_trains": {"k2": ("passed", None), "k3": ("passed", None)},
    "tests/test_augment.py": {"k2": ("passed", None), "k3": ("removed", "image_data_generator")},
}  # fmt: skip


@pytest.fixture(scope="module")
def swept(
    tmp_path_factory: pytest.TempPathFactory, cache_dir: Path
) -> tuple[subprocess.CompletedProcess[str], Report, Path]:
    project = tmp_path_factory.mktemp("user") / "keras_user_project"
    shutil.copytree(PROJECT, project)
    completed = subprocess.run(  # noqa: S603 - an argument list
        [sys.executable, "-m", "pytest", "--keras-matrix", f"--keras-cache-dir={cache_dir}",
         "-p", "no:cacheprovider", "--keras-report-md=report.md",
         "--keras-report-html=report.html", "--keras-jobs=1"],
        cwd=project, capture_output=True, text=True, timeout=3600, check=False,
    )  # fmt: skip
    report = Report.read_json(project / ".kerascompat" / "report.json")
    return completed, report, project


def square(report: Report, test: str, cell: str) -> Result:
    for result in report.results:
        names = (result.test, result.test.split("::")[0], result.test.split("::")[-1])
        if result.cell == cell and test in names:  # a module that failed to import: its path
            return result
    raise AssertionError(f"no square for {test} in {cell}: {[r.test for r in report.results]}")


@pytest.mark.parametrize("cell", ["k2", "k3"])
@pytest.mark.parametrize("test", list(EXPECTED))
def test_each_square_has_its_outcome_hint_and_rule(
    swept: tuple[subprocess.CompletedProcess[str], Report, Path], test: str, cell: str
) -> None:
    completed, report, _ = swept
    assert {c.name: c.status.value for c in report.cells} == {"k2": "ok", "k3": "ok"}, (
        completed.stdout[-3000:]
    )
    result = square(report, test, cell)
    outcome, rule = EXPECTED[test][cell]
    assert (result.outcome.value, result.rule) == (outcome, rule), result
    change = change_by_id(rule)
    assert result.hint == (change.hint if change else None), result


def test_the_cells_are_keras_2_and_keras_3(
    swept: tuple[subprocess.CompletedProcess[str], Report, Path],
) -> None:
    _, report, _ = swept
    versions = {cell.name: (cell.tensorflow or "", cell.keras or "") for cell in report.cells}
    assert versions["k2"][0].startswith("2.15.")
    assert versions["k2"][1].startswith("2.")
    assert versions["k3"][0].startswith("2.16.")
    assert versions["k3"][1].startswith("3.")


def test_the_deprecation_is_where_the_library_called_it(
    swept: tuple[subprocess.CompletedProcess[str], Report, Path],
) -> None:
    _, report, _ = swept
    result = square(report, "test_fit_generator_in_the_library", "k2")
    assert "fit_generator" in (result.message or "")
    where = [(Path(w.filename or "").name, w.lineno) for w in result.warnings]
    assert ("training.py", 6) in where, result.warnings
    super_init = square(report, "test_sequence_without_super_init", "k3")
    assert any("super().__init__" in (w.message or "") for w in super_init.warnings)


def test_the_reports_name_the_project_and_every_installed_package(
    swept: tuple[subprocess.CompletedProcess[str], Report, Path],
) -> None:
    completed, report, project = swept
    for cell in report.cells:
        assert f"-e {project.resolve()}[test]" in cell.requirements
        assert "trainkit==0.1.0" in cell.installed
        assert any(line.startswith("tensorflow==2.1") for line in cell.installed)
    markdown = (project / "report.md").read_text(encoding="utf-8")
    warned = [line for line in markdown.splitlines() if "warning: UserWarning: Your" in line]
    assert warned, "the Markdown details list the warning"
    assert "PyDataset" in warned[0]
    page = (project / "report.html").read_text(encoding="utf-8")
    assert "<li>trainkit==0.1.0</li>" in page
    assert "caught by: python -m pytest_kerascompat scan --select sequence_super_init" in (
        completed.stdout
    )
