"""How a cell's environment is named, built and found again, without building one."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from pytest_kerascompat.config.matrix import CellSpec
from pytest_kerascompat.env.environments import default_cache_dir, nox_argv, venv_python
from pytest_kerascompat.env.nox_sessions import build_cell
from pytest_kerascompat.plan.plans import CellPlan
from pytest_kerascompat.sweep import _rundirs


def plan(name: str = "tf2.16", requirement: str = "tensorflow==2.16.*") -> CellPlan:
    return CellPlan(
        spec=CellSpec(name=name, tensorflow=requirement),
        python="3.12.1",
        executable="/usr/bin/python3",
        python_note="",
        requirements=(requirement,),
        pins=(),
    )


class FakeVenv:
    """The public parts of nox's ``VirtualEnv`` that ``build_cell`` uses."""

    def __init__(self, location: Path) -> None:
        self.location, self.reuse_existing, self.created = str(location), True, 0

    def create(self) -> bool:
        """As nox does when it may not reuse: an empty environment with its interpreter."""
        assert not self.reuse_existing
        shutil.rmtree(self.location)
        (Path(self.location) / "bin").mkdir(parents=True)
        (Path(self.location) / "bin" / "python").touch()
        self.created += 1
        return True


class FakeSession:
    def __init__(self, location: Path, *, fail: bool = False) -> None:
        location.mkdir(parents=True, exist_ok=True)
        (location / "bin").mkdir(exist_ok=True)
        (location / "bin" / "python").touch()
        self.virtualenv, self.fail, self.installed = FakeVenv(location), fail, 0

    def log(self, message: str) -> None:
        pass

    def install(self, *args: str, **kwargs: Any) -> None:
        self.installed += 1
        if self.fail:
            raise RuntimeError("interrupted")


def test_a_fresh_environment_is_built_in_place(tmp_path: Path) -> None:
    session = FakeSession(tmp_path / "venv")
    build_cell(session, plan())  # type: ignore[arg-type]
    assert (session.virtualenv.created, session.installed) == (0, 1)
    build_cell(session, plan())  # type: ignore[arg-type]
    assert (session.virtualenv.created, session.installed) == (0, 1), "ready: reused as it is"


def test_an_environment_built_for_other_requirements_is_created_again(tmp_path: Path) -> None:
    session = FakeSession(tmp_path / "venv")
    build_cell(session, plan(requirement="tensorflow==2.15.*"))  # type: ignore[arg-type]
    build_cell(session, plan())  # type: ignore[arg-type]
    assert session.virtualenv.created == 1
    assert session.virtualenv.reuse_existing is False


def test_a_half_built_environment_is_created_again(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        build_cell(FakeSession(tmp_path / "venv", fail=True), plan())  # type: ignore[arg-type]
    session = FakeSession(tmp_path / "venv")
    build_cell(session, plan())  # type: ignore[arg-type]
    assert (session.virtualenv.created, session.installed) == (1, 1)


def test_the_sweep_asks_nox_for_the_session_the_noxfile_defines(tmp_path: Path) -> None:
    argv = nox_argv(plan("tf2.16"), tmp_path)
    assert argv[argv.index("--sessions") + 1] == "keras_matrix(cell='tf2.16')"


def test_every_file_of_a_run_directory_is_named_by_its_cell(tmp_path: Path) -> None:
    assert _rundirs.plan_file(tmp_path) == tmp_path / "plan.json"
    assert _rundirs.events_file(tmp_path, "tf2.16") == tmp_path / "tf2.16.jsonl"
    assert _rundirs.log_file(tmp_path, "tf2.16", "worker") == tmp_path / "tf2.16.worker.log"
    assert _rundirs.skip_file(tmp_path, "tf2.16") == tmp_path / "tf2.16.skip"
    assert _rundirs.stack_file(tmp_path, "tf2.16", 2) == tmp_path / "tf2.16.stack.2.txt"


@pytest.mark.parametrize(
    ("platform", "parts"),
    [("linux", ("bin", "python")), ("darwin", ("bin", "python")),
     ("win32", ("Scripts", "python.exe"))],
)  # fmt: skip
def test_the_interpreter_of_an_environment_is_where_the_platform_puts_it(
    tmp_path: Path, platform: str, parts: tuple[str, str]
) -> None:
    assert venv_python(tmp_path, platform) == tmp_path.joinpath(*parts)


def test_the_cache_is_in_the_platforms_cache_directory_unless_one_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KERASCOMPAT_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "pytest-kerascompat"
    monkeypatch.setenv("KERASCOMPAT_CACHE_DIR", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
