"""``cache list`` and ``cache prune``: what a cache holds, and never pruning what is in use."""

from __future__ import annotations

import dataclasses
import datetime
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_kerascompat.commands.cli import main
from pytest_kerascompat.config.matrix import CellSpec
from pytest_kerascompat.env.environments import (
    READY_MARKER,
    USES_FILE,
    USES_KEPT,
    ensure_environment,
    envdir_for,
    holders_dir,
    is_held,
    mark_ready,
    record_use,
    release_holds,
    venv_python,
)
from pytest_kerascompat.plan.plans import CellPlan

from .conftest import RESOURCES

NOW = datetime.datetime(2026, 11, 29, 12, 0, tzinfo=datetime.timezone.utc)


def plan(name: str, requirement: str = "pytest") -> CellPlan:
    spec = CellSpec(name, matrix_file="/project/matrix.yaml")
    return CellPlan(spec, "3.11", sys.executable, "", (requirement,), ())


def built(cache: Path, cell: CellPlan, *, ready: bool = True, days_ago: float = 0) -> Path:
    """An environment as a sweep leaves it: the venv, its ready marker, its record of use."""
    envdir = envdir_for(cache, cell)
    location = envdir / "venv"
    venv_python(location).parent.mkdir(parents=True)
    venv_python(location).write_bytes(b"\0" * 2048)
    (location / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    if ready:
        mark_ready(location, cell)
    when = (NOW - datetime.timedelta(days=days_ago)).isoformat()
    uses = {"uses": [{"cell": cell.name, "matrix": "/project/matrix.yaml", "last_used": when}]}
    (envdir / USES_FILE).write_text(json.dumps(uses))
    return envdir


def cache_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["cache", *args, "--json"]) == 0
    data: dict[str, object] = json.loads(capsys.readouterr().out)
    return data


# A process that holds an environment as a running sweep does, until its stdin closes.
HOLDER = """
import sys
import time
from pathlib import Path
from pytest_kerascompat.env.environments import hold
hold(Path(sys.argv[1]))
print("held", flush=True)
sys.stdin.read()
"""


def test_list_names_each_environment_its_cells_size_last_use_and_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fresh = built(tmp_path, plan("tf2.16"), days_ago=1)
    half = built(tmp_path, plan("tf2.15", "keras"), ready=False, days_ago=3)
    data = cache_json(capsys, "list", "--cache-dir", str(tmp_path))
    environments = data["environments"]
    assert isinstance(environments, list)
    assert [env["path"] for env in environments] == [str(fresh), str(half)]
    first = environments[0]
    assert first["key"] == plan("tf2.16").key
    assert first["ready"] is True
    assert first["in_use"] is False
    assert first["size_bytes"] >= 2048
    assert first["last_used"] == (NOW - datetime.timedelta(days=1)).isoformat()
    assert first["uses"] == [
        {"cell": "tf2.16", "matrix": "/project/matrix.yaml", "last_used": first["last_used"]}
    ]
    assert environments[1]["ready"] is False
    assert environments[1]["key"] == half.name
    assert main(["cache", "list", "--cache-dir", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "2 environments" in text
    assert "tf2.16 (/project/matrix.yaml)" in text
    assert "not ready" in text


def test_prune_removes_unfinished_environments_and_old_ones_only_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recent = built(tmp_path, plan("recent"), days_ago=1)
    old = built(tmp_path, plan("old", "keras"), days_ago=40)
    half = built(tmp_path, plan("half", "scipy"), ready=False, days_ago=1)
    data = cache_json(capsys, "prune", "--cache-dir", str(tmp_path))
    assert [env["path"] for env in data["removed"]] == [str(half)]  # type: ignore[attr-defined, index]
    assert recent.exists()
    assert old.exists()
    assert not half.exists()
    data = cache_json(
        capsys, "prune", "--older-than", "30", "--dry-run", "--cache-dir", str(tmp_path)
    )
    assert [env["path"] for env in data["removed"]] == [str(old)]  # type: ignore[attr-defined, index]
    assert old.exists()
    cache_json(capsys, "prune", "--older-than", "30", "--cache-dir", str(tmp_path))
    assert recent.exists()
    assert not old.exists()
    cache_json(capsys, "prune", "--all", "--cache-dir", str(tmp_path))
    assert not recent.exists()
    assert cache_json(capsys, "list", "--cache-dir", str(tmp_path))["environments"] == []


def test_prune_never_removes_an_environment_another_process_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    held = built(tmp_path, plan("held"), days_ago=90)
    holder = subprocess.Popen(  # noqa: S603 - an argument list
        [sys.executable, "-c", HOLDER, str(held)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "held\n"
        data = cache_json(capsys, "prune", "--all", "--cache-dir", str(tmp_path))
        assert data["removed"] == []
        assert [env["in_use"] for env in data["kept_in_use"]] == [True]  # type: ignore[attr-defined]
        assert venv_python(held / "venv").exists()
    finally:
        holder.communicate("", timeout=30)
    # The holder is gone: its hold file is cleared and the environment can go.
    assert not is_held(held)
    assert list(holders_dir(held).iterdir()) == []
    data = cache_json(capsys, "prune", "--all", "--cache-dir", str(tmp_path))
    assert [env["path"] for env in data["removed"]] == [str(held)]  # type: ignore[attr-defined, index]


def test_a_sweep_that_reuses_an_environment_holds_it_and_records_its_use(tmp_path: Path) -> None:
    cell = plan("reused")
    envdir = built(tmp_path, cell, days_ago=10)
    (envdir / USES_FILE).unlink()
    try:
        location, was_built = ensure_environment(
            cell, cache_dir=tmp_path, plan_file=tmp_path / "plan.json",
            log=tmp_path / "install.log", cwd=tmp_path,
        )  # fmt: skip
        assert (location, was_built) == (envdir / "venv", False)
        assert is_held(envdir)
        uses = json.loads((envdir / USES_FILE).read_text())["uses"]
        assert [(use["cell"], use["matrix"]) for use in uses] == [
            ("reused", "/project/matrix.yaml")
        ]
    finally:
        release_holds()
    assert not is_held(envdir)


def test_the_record_of_use_keeps_the_newest_and_the_listing_shows_the_most_recent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    envdir = built(tmp_path, plan("shared"))
    for number in range(USES_KEPT + 5):
        cell = dataclasses.replace(plan(f"cell{number}"), spec=CellSpec(f"cell{number}"))
        record_use(envdir, cell, NOW + datetime.timedelta(minutes=number))
    uses = json.loads((envdir / USES_FILE).read_text())["uses"]
    assert len(uses) == USES_KEPT
    assert uses[-1]["cell"] == f"cell{USES_KEPT + 4}"
    assert main(["cache", "list", "--cache-dir", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "cell24 (matrix file unknown), cell23 (matrix file unknown), cell22" in text
    assert f"and {USES_KEPT - 3} more (--json lists them)" in text


def test_a_bad_number_of_days_or_cache_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["cache", "prune", "--older-than", "soon"])
    assert exit_info.value.code == 2
    assert "expected a number of days" in capsys.readouterr().err
    assert main(["cache", "list", "--cache-dir", str(tmp_path / "nowhere")]) == 2
    assert "no such cache directory" in capsys.readouterr().err


def test_the_environment_a_real_sweep_built_is_listed_and_pruned(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    matrix = pytester.path / "matrix.yaml"
    matrix.write_text((RESOURCES / "plain_matrix.yaml").read_text())
    pytester.makepyfile("import pytest\n\n@pytest.mark.keras_compat\ndef test_ok():\n    pass\n")
    result = pytester.runpytest_subprocess(
        "--keras-matrix",
        f"--keras-cache-dir={cache}",
        "--keras-cells=plain",
        "-p",
        "no:cacheprovider",
    )
    assert result.ret == 0
    command = [sys.executable, "-m", "pytest_kerascompat", "cache"]
    listed = pytester.run(*command, "list", "--json", f"--cache-dir={cache}")
    (env,) = json.loads(listed.stdout.str())["environments"]
    assert env["ready"] is True
    assert env["in_use"] is False  # the sweep's process ended, and its hold with it
    assert [(use["cell"], use["matrix"]) for use in env["uses"]] == [("plain", str(matrix))]
    assert next(Path(env["path"]).glob(f"*/{READY_MARKER}"))
    pruned = pytester.run(*command, "prune", "--all", f"--cache-dir={cache}")
    assert pruned.ret == 0
    pruned.stdout.fnmatch_lines(["removed 1 environment (*)"])
    assert not Path(env["path"]).exists()


WAITING_TEST = """
import pathlib, time
import pytest

@pytest.mark.keras_compat
def test_waits_for_the_go():
    here = pathlib.Path(__file__).parent
    (here / "started").write_text("")
    deadline = time.monotonic() + 60
    while not (here / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
"""


def test_prune_keeps_the_environment_of_a_sweep_still_running(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    pytester.path.joinpath("matrix.yaml").write_text(
        'defaults:\n  timeout: 90\ncells:\n  - name: plain\n    python: "3.11"\n'
    )
    pytester.makepyfile(test_wait=WAITING_TEST)
    sweep = subprocess.Popen(  # noqa: S603 - an argument list
        [sys.executable, "-m", "pytest", "--keras-matrix", f"--keras-cache-dir={cache}",
         "-p", "no:cacheprovider"],
        cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    command = [sys.executable, "-m", "pytest_kerascompat", "cache", "prune", "--all", "--json",
               f"--cache-dir={cache}"]  # fmt: skip
    try:
        deadline = time.monotonic() + 600
        while not (pytester.path / "started").exists():
            assert sweep.poll() is None, sweep.communicate()[0]
            assert time.monotonic() < deadline, "the sweep never started its test"
            time.sleep(0.2)
        during = json.loads(pytester.run(*command).stdout.str())
        assert during["removed"] == []
        assert [(env["ready"], env["in_use"]) for env in during["kept_in_use"]] == [(True, True)]
    finally:
        (pytester.path / "go").write_text("")
        output = sweep.communicate(timeout=300)[0]
    assert sweep.returncode == 0, output
    after = json.loads(pytester.run(*command).stdout.str())
    assert [env["path"] for env in after["removed"]] == [
        env["path"] for env in during["kept_in_use"]
    ]
