"""``fix --verify`` on a Keras 2 era project, swept in a real Keras 2 and a real Keras 3 cell.

The project (tests/resources/fix_project) calls fit_generator, evaluate_generator,
predict_classes, Adam(lr=), from_generator(output_types=), standalone Keras's
ImageDataGenerator, fit(workers=1) and a Sequence without super().__init__(); one of
its tests asserts on a genuine bug. After ``fix``, every square that was deprecated
or removed passes, and the bug still fails.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import RESOURCES

pytestmark = pytest.mark.integration

CELLS = "tf2.15,tf2.16"
SQUARE = re.compile(r"^  (\S+)\s+(\S+)\s+(\S+) -> (\S+)( +WORSE)?$")
BUG = "test_accuracy_of_perfect_labels"


def git(cwd: Path, *args: str) -> None:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args]
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)  # noqa: S603


def test_fix_turns_every_deprecated_and_removed_square_into_a_pass_and_keeps_the_bug(
    tmp_path: Path, cache_dir: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(RESOURCES / "fix_project", project)
    git(project, "init", "-q")
    git(project, "add", ".")
    git(project, "commit", "-qm", "Keras 2 era")
    completed = subprocess.run(  # noqa: S603 - an argument list
        [sys.executable, "-m", "pytest_kerascompat", "fix", "--verify",
         f"--sweep-arg=--keras-cells={CELLS}", f"--sweep-arg=--keras-cache-dir={cache_dir}", "."],
        cwd=project, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    squares = {
        (found[1].split("::")[-1], found[2]): (found[3], found[4], bool(found[5]))
        for found in map(SQUARE.match, completed.stdout.splitlines())
        if found
    }
    assert len(squares) == 14, output  # seven tests in two cells
    before = {key: value[0] for key, value in squares.items()}
    assert {before[test, "tf2.15"] for test in ("test_train", "test_score")} == {"deprecated"}
    assert before["test_labels", "tf2.15"] == "removed"
    assert {before[test, "tf2.16"] for test in ("test_train", "test_labels", "test_scaled")} == {
        "removed"
    }
    for (test, cell), (old, new, worse) in squares.items():
        assert not worse, output
        if test == BUG:
            assert (old, new) == ("failed", "failed"), output
        else:
            assert new == "passed", f"{test} in {cell}: {old} -> {new}\n{output}"
    assert "0 findings left for a person." in completed.stdout
    source = (project / "trainlib.py").read_text()
    assert ".fit_generator(" not in source
    assert "# Two steps of four samples: one pass over the data." in source
    changed = subprocess.run(
        ["git", "diff", "--stat"], cwd=project, capture_output=True, text=True, check=True
    ).stdout
    assert "augment.py" in changed
    assert "trainlib.py" in changed
