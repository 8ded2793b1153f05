"""The smaller points of issue 13: each fixed, and shown here without a real cell."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from packaging.version import Version

from pytest_kerascompat.commands.ci_matrix import cell_entry
from pytest_kerascompat.config._validation import CommandError
from pytest_kerascompat.config.matrix import CellSpec, requirement_for_version
from pytest_kerascompat.plan.index import PackageIndex
from pytest_kerascompat.plan.plans import CellPlan, choose_interpreter
from pytest_kerascompat.sweep._launch import worker_env
from pytest_kerascompat.sweep.controller import replay

from .test_index import INDEX, Clock, FakeIndex, _page, _wheels


def plan(**spec: object) -> CellPlan:
    return CellPlan(
        spec=CellSpec(name="cell", **spec),  # type: ignore[arg-type]
        python="3.12.1",
        executable="/usr/bin/python3",
        python_note="",
        requirements=("tensorflow==2.16.*",),
        pins=(),
    )


def test_a_pythonpath_from_the_matrix_comes_first_and_the_cell_package_stays(
    tmp_path: Path,
) -> None:
    cell = plan(env=(("PYTHONPATH", "src:vendor"),))
    env = worker_env(cell, tmp_path / "cellpath", tmp_path / "env", {"PYTHONPATH": "/caller"})
    assert env["PYTHONPATH"] == os.pathsep.join(["src:vendor", str(tmp_path / "cellpath")])


def test_without_one_only_the_cell_package_is_on_the_path(tmp_path: Path) -> None:
    env = worker_env(plan(), tmp_path / "cellpath", tmp_path / "env", {"PYTHONPATH": "/caller"})
    assert env["PYTHONPATH"] == str(tmp_path / "cellpath")


def fake_python(tmp_path: Path, name: str, answer: str) -> Path:
    """An executable that answers the version question as another interpreter would."""
    path = tmp_path / name
    path.write_text(f"#!/bin/sh\necho '{answer}'\n")
    path.chmod(0o755)
    return path


@pytest.mark.parametrize(
    ("python", "expected"),
    [
        ("/bin/sh", "/bin/sh is not a Python interpreter"),
        ("{tmp}/python2", "{tmp}/python2 is Python 2.7.18; a cell needs CPython 3.7 or newer"),
        ("{tmp}/pypy3", "{tmp}/pypy3 is PyPy 3.10.14, not CPython; a cell needs CPython 3.7"),
        ("{tmp}/missing", "{tmp}/missing does not exist or is not an executable file"),
        ("2.7", "Python 2.7 is too old; a cell needs CPython 3.7 or newer"),
    ],
)
def test_a_python_that_is_no_usable_cpython_says_exactly_that(
    tmp_path: Path, python: str, expected: str
) -> None:
    fake_python(tmp_path, "python2", "CPython 2.7.18")
    fake_python(tmp_path, "pypy3", "PyPy 3.10.14")
    cell = CellSpec(name="c", python=python.format(tmp=tmp_path))
    interpreter, note = choose_interpreter(cell, [], PackageIndex(tmp_path / "cache"))
    assert interpreter is None
    assert expected.format(tmp=tmp_path) in note
    assert "pyenv install" not in note


def test_an_index_cache_entry_dated_in_the_future_is_stale(tmp_path: Path) -> None:
    fake, clock = FakeIndex(), Clock()
    PackageIndex(tmp_path, index_url=INDEX, fetch=fake, clock=clock).releases("fakeflow")
    fake.pages[f"{INDEX}/fakeflow/"] = _page(
        "fakeflow", _wheels("fakeflow", "2.17.0", range(11, 12))
    )
    clock.now -= 30 * 86400  # the entry now claims to come from a month ahead

    again = PackageIndex(tmp_path, index_url=INDEX, fetch=fake, clock=clock)

    assert list(again.releases("fakeflow")) == [Version("2.17.0")]
    assert len(fake.requests) == 2


def test_a_bad_line_in_an_earlier_runs_events_is_skipped_and_reported(tmp_path: Path) -> None:
    finish = {"event": "finish", "time": 1.0, "test": "t.py::test_a", "outcome": "passed"}
    previous = tmp_path / "old" / "cell.jsonl"
    previous.parent.mkdir()
    previous.write_text(
        "\n".join(
            [
                json.dumps({"event": "collected", "tests": [{"test": "t.py::test_a"}]}),
                json.dumps({"event": "collected", "tests": ["t.py::test_b"]}),
                "42",
                '["not", "an", "object"]',
                json.dumps({"event": "no-such-kind"}),
                json.dumps(finish),
                '{"event": "fini',  # torn by a crash: dropped without a word
            ]
        )
    )
    heard: list[str] = []
    results = tmp_path / "new" / "cell.jsonl"

    run = replay(previous, results, heard.append)

    assert run.settled == {"t.py::test_a"}
    assert [line.split(": skipped")[0] for line in heard] == [
        *(f"--keras-resume: {previous}:{number}" for number in (3, 4, 5)),
        f"--keras-resume: {previous}",
    ]
    assert heard[3].startswith(f"--keras-resume: {previous}: skipped a collected event: ")
    assert "'42'" in heard[0]
    kept = results.read_text().splitlines()
    assert [json.loads(line)["event"] for line in kept] == ["collected", "collected", "finish"]


@pytest.mark.parametrize(
    ("tensorflow", "expected"),
    [
        ("9.9", "no release of tensorflow matches tensorflow==9.9.* (the newest is 2.15.0)"),
        ("2.14", "no Python has wheels of tensorflow==2.14.* on the index"),
    ],
)
def test_ci_matrix_fails_clearly_on_a_release_with_no_wheels(
    tmp_path: Path, tensorflow: str, expected: str
) -> None:
    fake = FakeIndex()
    yanked = _wheels("tensorflow", "2.14.0", range(9, 12), yanked="broken build")
    fake.pages[f"{INDEX}/tensorflow/"] = _page(
        "tensorflow", [*_wheels("tensorflow", "2.15.0", range(9, 12)), *yanked]
    )
    index = PackageIndex(tmp_path, index_url=INDEX, fetch=fake, clock=Clock())
    cell = CellSpec(name="future", tensorflow=requirement_for_version("tensorflow", tensorflow))
    with pytest.raises(CommandError) as caught:
        cell_entry(cell, index, None)
    assert f"cell 'future': {expected}" in str(caught.value)
