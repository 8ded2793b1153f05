"""Nothing stale is trusted: resume compares what the squares depended on, a ready
environment is checked before reuse, and each run keeps its own report.

The fast tests here fabricate run directories and environments in ``tmp_path``; the
ones at the end sweep real cells (nox, uv, workers) that install only pytest, in a
cache of their own so damaging an environment never touches one another test shares.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_kerascompat.config.matrix import CellSpec
from pytest_kerascompat.env import _integrity
from pytest_kerascompat.env.environments import (
    READY_MARKER,
    built_at,
    mark_ready,
    reason_to_rebuild,
)
from pytest_kerascompat.model.results import Report
from pytest_kerascompat.plan.plans import CellPlan
from pytest_kerascompat.sweep._fingerprint import run_identity, source_digests
from pytest_kerascompat.sweep._rundirs import events_file, plan_file, resumable_cells

from .conftest import RESOURCES

SELECTION = {"mode": "user", "user_args": [], "cell_args": {}, "probes": []}


def plan(
    name: str = "tf2.15", *, env: tuple[tuple[str, str], ...] = (), **changes: object
) -> CellPlan:
    values: dict[str, object] = {
        "spec": CellSpec(name=name, tensorflow="tensorflow==2.15.*", env=env),
        "python": "3.11.9",
        "executable": "/usr/bin/python3.11",
        "python_note": "",
        "requirements": ("tensorflow==2.15.*", "pytest"),
        "pins": ("numpy<2",),
    }
    values.update(changes)
    return CellPlan(**values)  # type: ignore[arg-type]


def earlier_run(
    runs: Path,
    plans: list[CellPlan],
    identity: dict[str, object] | None,
    name: str = "20261129-100000-1",
) -> Path:
    """A finished run directory as a sweep leaves it: plan file and one events file per cell."""
    run_dir = runs / name
    run_dir.mkdir(parents=True)
    data: dict[str, object] = {
        "selection": SELECTION,
        "plans": [p.to_dict() for p in plans],
        "keys": {p.name: p.plan_key for p in plans},
    }
    if identity is not None:
        data["identity"] = identity
    plan_file(run_dir).write_text(json.dumps(data))
    for p in plans:
        events_file(run_dir, p.name).write_text('{"event": "done"}\n')
    return run_dir


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "tests").mkdir(parents=True)
    (root / "tests" / "test_fit.py").write_text("def test_fit():\n    pass\n")
    (root / "conftest.py").write_text("")
    return root


def identity_of(root: Path, **options: object) -> dict[str, object]:
    return run_identity([root], options=options, environ={})


def resume(
    runs: Path, plans: list[CellPlan], identity: dict[str, object]
) -> tuple[set[str], list[str]]:
    current = runs / "99999999-999999-2"
    current.mkdir(parents=True, exist_ok=True)
    found = resumable_cells(runs, current, plans, SELECTION, identity)
    return set(found.cells), [f"[{cell}] {note}" for cell, note in found.notes]


def test_resume_keeps_every_cell_when_nothing_changed(project: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    plans = [plan("a"), plan("b")]
    earlier_run(runs, plans, identity_of(project))
    assert resume(runs, plans, identity_of(project)) == ({"a", "b"}, [])


def test_resume_keeps_nothing_after_a_test_file_changed_and_names_it(
    project: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    plans = [plan("a")]
    earlier_run(runs, plans, identity_of(project))
    (project / "tests" / "test_fit.py").write_text("def test_fit():\n    assert False\n")
    (project / "tests" / "test_new.py").write_text("")
    kept, notes = resume(runs, plans, identity_of(project))
    assert kept == set()
    assert notes == [
        "[matrix] --keras-resume: tests/test_fit.py changed, tests/test_new.py added since "
        "run 20261129-100000-1: every square runs again"
    ]


def test_resume_ignores_a_touched_file_whose_content_is_the_same(
    project: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    earlier_run(runs, [plan("a")], identity_of(project))
    test_file = project / "tests" / "test_fit.py"
    os.utime(test_file, (1, 1))
    assert resume(runs, [plan("a")], identity_of(project))[0] == {"a"}


@pytest.mark.parametrize(
    ("changed", "said"),
    [
        ({"env": (("TF_USE_LEGACY_KERAS", "1"),)}, "env (TF_USE_LEGACY_KERAS) changed"),
        ({"pins": ()}, "pins changed"),
        ({"requirements": ("tensorflow==2.16.*", "pytest")}, "requirements changed"),
        ({"executable": "/opt/python3.11", "python": "3.11.4"}, "interpreter changed"),
        ({"project": "/src/app", "project_fingerprint": "f00"}, "project changed"),
    ],
    ids=["env", "pins", "requirements", "interpreter", "project"],
)
def test_resume_runs_again_a_cell_whose_plan_changed_and_says_what(
    project: Path, tmp_path: Path, changed: dict[str, object], said: str
) -> None:
    runs = tmp_path / "runs"
    earlier_run(runs, [plan("a"), plan("b")], identity_of(project))
    kept, notes = resume(runs, [plan("a"), plan("b", **changed)], identity_of(project))
    assert kept == {"a"}
    assert notes == [f"[b] --keras-resume: {said}: runs again"]


def test_the_plan_key_changes_with_env_and_the_environment_key_does_not() -> None:
    before, after = plan(), plan(env=(("KERAS_BACKEND", "jax"),))
    assert before.plan_key != after.plan_key
    assert before.key == after.key, "cells differing only in env share one environment"


@pytest.mark.parametrize(
    ("before", "now", "said"),
    [
        ({"timeout": None}, {"timeout": 5.0}, "option timeout changed"),
        ({}, {"variables": {"KERAS_BACKEND": "jax"}}, "environment variable KERAS_BACKEND changed"),
        ({"tool": "0.1"}, {"tool": "0.2"}, "pytest-kerascompat changed (0.1 to 0.2)"),
    ],
    ids=["option", "variable", "tool"],
)
def test_resume_keeps_nothing_when_an_outcome_changing_setting_changed(
    project: Path, tmp_path: Path, before: dict[str, object], now: dict[str, object], said: str
) -> None:
    runs = tmp_path / "runs"
    base = identity_of(project)
    old = {**base, **({"options": before} if "timeout" in before else before)}
    new = {**base, **({"options": now} if "timeout" in now else now)}
    earlier_run(runs, [plan("a")], old)
    kept, notes = resume(runs, [plan("a")], new)
    assert kept == set()
    assert said in notes[0]


def test_resume_trusts_no_run_that_recorded_no_fingerprint(project: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    earlier_run(runs, [plan("a")], identity=None)
    kept, notes = resume(runs, [plan("a")], identity_of(project))
    assert kept == set()
    assert "recorded no fingerprint of its sources" in notes[0]


def test_resume_says_when_no_earlier_run_selected_the_same_tests(
    project: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    earlier_run(runs, [plan("a")], identity_of(project))
    data = json.loads(plan_file(runs / "20261129-100000-1").read_text())
    data["selection"]["user_args"] = ["-k", "fit"]
    plan_file(runs / "20261129-100000-1").write_text(json.dumps(data))
    kept, notes = resume(runs, [plan("a")], identity_of(project))
    assert kept == set()
    assert notes == [
        "[matrix] --keras-resume: no earlier run selected the same tests (paths, -k, -m, "
        "square ids and other options passed to the cells): every square runs"
    ]


def test_sources_are_python_and_configuration_outside_environments_and_hidden_dirs(
    project: Path,
) -> None:
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (project / "ran.log").write_text("written by a test")
    (project / "data.csv").write_text("1,2\n")
    for ignored in (".venv/lib/x.py", "venv/lib/y.py", "pkg/__pycache__/z.py", ".kerascompat/a.py"):
        (project / ignored).parent.mkdir(parents=True, exist_ok=True)
        (project / ignored).write_text("")
    (project / "venv" / "pyvenv.cfg").write_text("")
    (project / "report.md.py").write_text("")
    digests = source_digests([project], skip=[project / "report.md.py"])
    assert sorted(digests) == ["conftest.py", "pyproject.toml", "tests/test_fit.py"]


def fake_site(location: Path) -> Path:
    """A virtual environment's site-packages with one distribution, as an installer leaves it."""
    site = location / "lib" / "python3.11" / "site-packages"
    (site / "keras").mkdir(parents=True)
    (site / "keras" / "__init__.py").write_text("x = 1\n")
    (site / "keras" / "models.py").write_text("y = 2\n")
    info = site / "keras-3.5.0.dist-info"
    info.mkdir()
    (info / "RECORD").write_text(
        "keras/__init__.py,sha256=abc,6\nkeras/models.py,sha256=def,6\n"
        "keras/__pycache__/x.pyc,,\nkeras-3.5.0.dist-info/RECORD,,\n"
    )
    return site


def test_an_intact_environment_has_no_damage(tmp_path: Path) -> None:
    fake_site(tmp_path)
    assert _integrity.damage(tmp_path, ["keras"]) is None


def test_a_deleted_init_is_damage_named_with_its_distribution(tmp_path: Path) -> None:
    (fake_site(tmp_path) / "keras" / "__init__.py").unlink()
    assert _integrity.damage(tmp_path) == (
        "keras/__init__.py is missing (keras 3.5.0, per its RECORD)"
    )


def test_a_file_of_another_size_is_damage(tmp_path: Path) -> None:
    (fake_site(tmp_path) / "keras" / "models.py").write_text("")
    assert "keras/models.py has 0 bytes instead of 6" in (_integrity.damage(tmp_path) or "")


def test_a_required_distribution_uninstalled_by_hand_is_damage(tmp_path: Path) -> None:
    fake_site(tmp_path)
    assert _integrity.damage(tmp_path, ["tensorflow"]) == (
        "tensorflow is not installed in it any more"
    )


def test_a_ready_environment_is_rebuilt_when_damaged_or_older_than_a_rebuild(
    tmp_path: Path,
) -> None:
    cell = plan(requirements=("keras",), spec=CellSpec(name="k3", keras="keras==3.*"))
    site = fake_site(tmp_path)
    mark_ready(tmp_path, cell)
    assert reason_to_rebuild(tmp_path, cell, rebuild_before=None) is None
    assert reason_to_rebuild(tmp_path, cell, rebuild_before=built_at(tmp_path) + 1) == (
        "--keras-rebuild asked for a new environment"
    )
    assert reason_to_rebuild(tmp_path, cell, rebuild_before=built_at(tmp_path) - 1) is None, (
        "built after the sweep started: already new"
    )
    (site / "keras" / "__init__.py").unlink()
    assert reason_to_rebuild(tmp_path, cell, None) == (
        "environment damaged: keras/__init__.py is missing (keras 3.5.0, per its RECORD)"
    )
    marker = json.loads((tmp_path / READY_MARKER).read_text())
    assert marker["built"] == built_at(tmp_path)


def test_a_rebuild_naming_no_cell_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("matrix.yaml").write_text((RESOURCES / "plain_matrix.yaml").read_text())
    result = pytester.runpytest("--keras-matrix", "--keras-rebuild=plian")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*matrix.yaml: --keras-rebuild names 'plian', which is not a cell here; "
            "cells: plain, plain-b*"
        ]
    )


# Real sweeps: nox, uv and workers on cells that install only pytest.

ONE_TEST = "import pytest\n\n@pytest.mark.keras_compat\ndef test_ok():\n    pass\n"


def run(
    pytester: pytest.Pytester, cache: Path, *args: str, cells: str = "plain"
) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "--keras-matrix", f"--keras-cache-dir={cache}", f"--keras-cells={cells}",
        "-p", "no:cacheprovider", *args,
    )  # fmt: skip


@pytest.fixture
def plain(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.path.joinpath("matrix.yaml").write_text((RESOURCES / "plain_matrix.yaml").read_text())
    pytester.makepyfile(test_one=ONE_TEST)
    return pytester


def installed_file(cache: Path, relative: str) -> Path:
    (found,) = cache.glob(f"envs/*/*/lib/python*/site-packages/{relative}")
    return found


def test_a_damaged_environment_is_rebuilt_saying_why(
    plain: pytest.Pytester, tmp_path: Path
) -> None:
    cache = tmp_path / "own-cache"
    assert run(plain, cache).ret == 0
    installed_file(cache, "iniconfig/__init__.py").unlink()
    result = run(plain, cache)
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "[[]plain[]] environment damaged: iniconfig/__init__.py is missing (iniconfig *, "
            "per its RECORD); rebuilding it",
            "[[]plain[]] environment built; running tests",
        ]
    )
    assert installed_file(cache, "iniconfig/__init__.py").is_file()
    again = run(plain, cache)
    again.stdout.fnmatch_lines(["[[]plain[]] environment reused; running tests"])


def test_keras_rebuild_builds_the_named_cell_anew(plain: pytest.Pytester, tmp_path: Path) -> None:
    cache = tmp_path / "own-cache"
    assert run(plain, cache).ret == 0
    result = run(plain, cache, "--keras-rebuild=plain")
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "[[]plain[]] --keras-rebuild asked for a new environment; rebuilding it",
            "[[]plain[]] environment built; running tests",
        ]
    )
    assert len(list(cache.glob("envs/*/*/lib"))) == 1, "rebuilt in place, not beside"


def test_resume_runs_again_what_changed_since_and_keeps_the_rest(
    plain: pytest.Pytester, cache_dir: Path
) -> None:
    plain.makepyfile(test_two=ONE_TEST.replace("test_ok", "test_two"))
    assert run(plain, cache_dir).ret == 0
    kept = run(plain, cache_dir, "--keras-resume")
    kept.stdout.fnmatch_lines(["[[]plain[]] every square kept from the interrupted run"])
    plain.makepyfile(test_two=ONE_TEST.replace("test_ok", "test_two_renamed"))
    changed = run(plain, cache_dir, "--keras-resume")
    assert changed.ret == 0
    changed.stdout.fnmatch_lines(
        ["[[]matrix[]] --keras-resume: test_two.py changed since run *: every square runs again"]
    )
    assert "squares kept" not in changed.stdout.str()
    assert "every square kept" not in changed.stdout.str()
    tests = sorted(r.test.split("::")[-1] for r in Report.read_json(
        plain.path / ".kerascompat" / "report.json").results)  # fmt: skip
    assert tests == ["test_ok", "test_two_renamed"]


def test_each_run_keeps_its_own_report_and_report_json_is_the_last(
    plain: pytest.Pytester, cache_dir: Path
) -> None:
    first = run(plain, cache_dir)
    second = run(plain, cache_dir, cells="plain-b")
    assert (first.ret, second.ret) == (0, 0)
    runs = sorted((plain.path / ".kerascompat" / "runs").iterdir())
    own = [Report.read_json(path / "report.json") for path in runs]
    assert [[cell.name for cell in report.cells] for report in own] == [["plain"], ["plain-b"]]
    latest = plain.path / ".kerascompat" / "report.json"
    assert latest.read_text() == (runs[1] / "report.json").read_text()
    second.stdout.fnmatch_lines([f"report: {latest}", f"this run: {runs[1] / 'report.json'}"])


def test_two_sweeps_at_once_in_one_project_each_keep_their_cells(
    plain: pytest.Pytester, cache_dir: Path
) -> None:
    argv = [sys.executable, "-m", "pytest", "--keras-matrix", f"--keras-cache-dir={cache_dir}",
            "-p", "no:cacheprovider"]  # fmt: skip
    sweeps = [
        subprocess.Popen(  # noqa: S603 - an argument list
            [*argv, f"--keras-cells={cell}"], cwd=plain.path, stdout=subprocess.PIPE, text=True
        )
        for cell in ("plain", "plain-b")
    ]
    outputs = [each.communicate(timeout=300)[0] for each in sweeps]
    assert [each.returncode for each in sweeps] == [0, 0], outputs
    runs = sorted((plain.path / ".kerascompat" / "runs").iterdir())
    cells = sorted(
        cell.name for path in runs for cell in Report.read_json(path / "report.json").cells
    )
    assert cells == ["plain", "plain-b"], "neither sweep lost its cell"
    latest = Report.read_json(plain.path / ".kerascompat" / "report.json")
    assert [cell.name for cell in latest.cells] in (["plain"], ["plain-b"]), "one whole report"
