"""A maintainer's noxfile with ``register_sessions``: real nox, uv and workers, no TensorFlow.

A session is the sweep of one cell, so it must agree with ``pytest --keras-matrix`` on
everything a user sees: the rootdir and configuration, the ids, the table, and the
environment it runs in.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import RESOURCES

NOXFILE = """
from pytest_kerascompat.env.nox_sessions import register_sessions

register_sessions("matrix.yaml")
"""
PROJECT_CONFIG = """
[tool.pytest.ini_options]
addopts = "--strict-markers"
markers = ["slow: a test the project marks itself"]
"""
PROJECT_MARKED_TEST = """
import pytest

@pytest.mark.slow
@pytest.mark.keras_compat
def test_with_the_projects_own_marker():
    pass
"""


@pytest.fixture
def nox_project(
    pytester: pytest.Pytester, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    """A project with its own pytest configuration, tests in a folder, and a noxfile."""
    pytester.path.joinpath("matrix.yaml").write_text((RESOURCES / "plain_matrix.yaml").read_text())
    pytester.path.joinpath("pyproject.toml").write_text(PROJECT_CONFIG)
    pytester.path.joinpath("noxfile.py").write_text(NOXFILE)
    tests = pytester.mkdir("tests")
    tests.joinpath("test_selection.py").write_text((RESOURCES / "test_selection.py").read_text())
    tests.joinpath("test_marked.py").write_text(PROJECT_MARKED_TEST)
    monkeypatch.setenv("KERASCOMPAT_CACHE_DIR", str(cache_dir))
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    return pytester


def run(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - an argument list
        [sys.executable, *argv], cwd=cwd, capture_output=True, text=True, check=False,
        timeout=600,
    )  # fmt: skip


def nox(project: pytest.Pytester, *args: str, cwd: Path | None = None) -> str:
    """Run nox on the project's noxfile (from ``cwd``); return its output."""
    noxfile = project.path / "noxfile.py"
    envdir = project.path / "nox-envs"
    done = run(cwd or project.path, "-m", "nox", "--no-color", "-f", str(noxfile),
               "--envdir", str(envdir), *args)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def passed_lines(output: str) -> list[str]:
    """What ``-v`` printed for each square, without the progress column."""
    return sorted(line.split(" PASSED")[0] for line in output.splitlines() if " PASSED" in line)


def test_a_session_is_the_sweep_of_its_cell_with_the_projects_configuration(
    nox_project: pytest.Pytester,
) -> None:
    swept = run(nox_project.path, "-m", "pytest", "--keras-matrix", "--keras-cells=plain-b",
                "-v", "-p", "no:cacheprovider")  # fmt: skip
    assert swept.returncode == 0, swept.stdout

    # Started from a subfolder, as a maintainer might: nox moves to the noxfile's folder.
    output = nox(nox_project, "-s", "keras_matrix(cell='plain-b')", "--", "-v",
                 "-p", "no:cacheprovider", cwd=nox_project.path / "tests")  # fmt: skip

    assert "rootdir: " + str(nox_project.path) in output
    assert "configfile: pyproject.toml" in output
    assert passed_lines(output) == passed_lines(swept.stdout), "the same ids as the sweep"
    assert len(passed_lines(output)) == 3, "the project's marker is known under --strict-markers"
    assert "keras compatibility matrix" in output, "the cell's table is printed"
    assert "[plain-b] environment reused" in output, "the sweep's environment, by its key"
    assert not (nox_project.path / "nox-envs").exists(), "nox made no environment of its own"
    assert not (nox_project.path / ".nox").exists()
    report = json.loads((nox_project.path / ".kerascompat" / "report.json").read_text())
    assert [cell["name"] for cell in report["cells"]] == ["plain-b"]
    assert {result["outcome"] for result in report["results"]} == {"passed"}, (
        "the cell's env var was seen"
    )
    assert not list(nox_project.path.rglob("__pycache__")), "no bytecode in the user's tree"


def test_every_cell_session_carries_the_keras_matrix_tag(nox_project: pytest.Pytester) -> None:
    listing = nox(nox_project, "-l", "-t", "keras_matrix")
    assert "* keras_matrix(cell='plain')" in listing
    assert "* keras_matrix(cell='plain-b')" in listing

    output = nox(nox_project, "-t", "keras_matrix", "--", "-p", "no:cacheprovider")
    assert "Session keras_matrix(cell='plain') was successful" in output
    assert "Session keras_matrix(cell='plain-b') was successful" in output
    assert output.count("keras compatibility matrix") == 2, "one table per cell"


def test_a_failing_square_fails_its_session(nox_project: pytest.Pytester) -> None:
    nox_project.path.joinpath("tests", "test_breaks.py").write_text(
        "import pytest\n\n@pytest.mark.keras_compat\ndef test_breaks():\n    assert False\n"
    )
    noxfile = nox_project.path / "noxfile.py"
    done = run(nox_project.path, "-m", "nox", "--no-color", "-f", str(noxfile),
               "-s", "keras_matrix(cell='plain')", "--", "-p", "no:cacheprovider")  # fmt: skip
    assert done.returncode == 1
    assert "Session keras_matrix(cell='plain') failed" in done.stdout + done.stderr
