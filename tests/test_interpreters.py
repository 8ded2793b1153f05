from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_kerascompat.plan.interpreters import (
    Interpreter,
    clear_cache,
    discover_interpreters,
    find_interpreter,
)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    clear_cache()
    yield
    clear_cache()


def _script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def _python(path: Path, identity: str) -> Path:
    """A fake interpreter answering the version probe with ``identity``."""
    return _script(path, f"echo '{identity}'")


def _link(path: Path, target: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)
    return path


@pytest.fixture
def machine(tmp_path: Path) -> dict[str, str]:
    """A pyenv root, a PATH and a uv that all describe the same fake machine."""
    versions = tmp_path / "pyenv" / "versions"
    py39 = _python(versions / "3.9.18" / "bin" / "python3.9", "cpython 3.9.18 ")
    _link(versions / "3.9.18" / "bin" / "python3", py39)
    py312 = _python(versions / "3.12.1" / "bin" / "python3.12", "cpython 3.12.1 ")
    _python(versions / "3.7.16" / "bin" / "python3.7", "cpython 3.7.16 m")
    _python(versions / "3.6.15" / "bin" / "python3.6", "cpython 3.6.15 m")
    _python(versions / "2.7.18" / "bin" / "python2.7", "cpython 2.7.18")
    _script(versions / "3.8.18" / "bin" / "python3.8", "exit 1")
    _python(versions / "pypy3.10-7.3.17" / "bin" / "python3.10", "pypy 3.10.14")
    _python(versions / "3.13.0t" / "bin" / "python3.13", "cpython 3.13.0 t")

    shims = tmp_path / "pyenv" / "shims"
    _script(shims / "python3.11", "echo 'pyenv: python3.11: command not found' >&2; exit 127")
    _python(shims / "python3.10", "cpython 3.10.99 ")

    bin_dir = tmp_path / "bin"
    py311 = _python(bin_dir / "python3.11", "cpython 3.11.7 ")
    _link(bin_dir / "python3", py311)
    _python(bin_dir / "python", "cpython 2.7.18")
    _link(tmp_path / "other" / "python3", py312)

    uv_python = _python(
        tmp_path / "uv" / "cpython-3.10.14" / "bin" / "python3.10", "cpython 3.10.14 "
    )
    listing = [
        {"path": str(uv_python), "implementation": "cpython"},
        {"path": str(py311), "implementation": "cpython"},
        {"path": str(shims / "python3.10"), "implementation": "cpython"},
        {
            "path": str(versions / "pypy3.10-7.3.17" / "bin" / "python3.10"),
            "implementation": "pypy",
        },
    ]
    uv = _script(
        tmp_path / "fake-uv",
        f"echo \"$PATH\" > '{tmp_path / 'uv-path.txt'}'\necho '{json.dumps(listing)}'",
    )
    search = [str(shims), str(bin_dir), str(tmp_path / "other"), "relative/bin"]
    return {
        "PATH": os.pathsep.join(search),
        "PYENV_ROOT": str(tmp_path / "pyenv"),
        "HOME": str(tmp_path),
        "UV": str(uv),
    }


def _summary(found: list[Interpreter]) -> list[tuple[str, str]]:
    return [(interpreter.full_version, interpreter.source) for interpreter in found]


def test_it_finds_pyenv_path_and_uv_interpreters_newest_first(machine: dict[str, str]) -> None:
    assert _summary(discover_interpreters(machine)) == [
        ("3.12.1", "pyenv"),
        ("3.11.7", "path"),
        ("3.10.14", "uv"),
        ("3.9.18", "pyenv"),
        ("3.7.16", "pyenv"),
    ]


def test_it_reports_each_real_binary_once_under_its_most_specific_name(
    machine: dict[str, str], tmp_path: Path
) -> None:
    executables = [found.executable for found in discover_interpreters(machine)]

    assert len({os.path.realpath(path) for path in executables}) == len(executables)
    assert tmp_path / "bin" / "python3.11" in executables
    assert tmp_path / "pyenv" / "versions" / "3.9.18" / "bin" / "python3.9" in executables


def test_it_never_runs_or_reports_shims(machine: dict[str, str], tmp_path: Path) -> None:
    found = discover_interpreters(machine)
    shims = tmp_path / "pyenv" / "shims"

    assert all(found_one.executable.parent != shims for found_one in found)
    assert "3.10.99" not in [found_one.full_version for found_one in found]


def test_uv_is_asked_with_a_path_free_of_shims_and_relative_entries(
    machine: dict[str, str], tmp_path: Path
) -> None:
    discover_interpreters(machine)

    uv_path = (tmp_path / "uv-path.txt").read_text().strip().split(os.pathsep)
    assert uv_path == [str(tmp_path / "bin"), str(tmp_path / "other")]


def test_it_drops_broken_old_free_threaded_and_non_cpython_candidates(
    machine: dict[str, str],
) -> None:
    versions = {found.full_version for found in discover_interpreters(machine)}

    assert versions.isdisjoint({"3.8.18", "3.6.15", "2.7.18", "3.10.99", "3.13.0"})
    assert "3.10.14" in versions


def test_a_failing_uv_costs_only_its_interpreters(machine: dict[str, str], tmp_path: Path) -> None:
    machine["UV"] = str(_script(tmp_path / "broken-uv", "echo oops; exit 2"))

    assert _summary(discover_interpreters(machine)) == [
        ("3.12.1", "pyenv"),
        ("3.11.7", "path"),
        ("3.9.18", "pyenv"),
        ("3.7.16", "pyenv"),
    ]


def test_pyenv_root_defaults_to_home(machine: dict[str, str]) -> None:
    pyenv_root = Path(machine.pop("PYENV_ROOT"))
    Path(machine["HOME"], ".pyenv").symlink_to(pyenv_root)

    assert ("3.9.18", "pyenv") in _summary(discover_interpreters(machine))


def test_results_are_cached_until_cleared(machine: dict[str, str], tmp_path: Path) -> None:
    first = discover_interpreters(machine)
    (tmp_path / "bin" / "python3.11").unlink()

    assert discover_interpreters(machine) == first
    clear_cache()
    assert "3.11.7" not in [found.full_version for found in discover_interpreters(machine)]


def test_a_different_environment_is_not_served_from_the_cache(
    machine: dict[str, str], tmp_path: Path
) -> None:
    with_pyenv = discover_interpreters(machine)

    without_pyenv = discover_interpreters({**machine, "PYENV_ROOT": str(tmp_path / "nowhere")})

    assert "3.9.18" in [found.full_version for found in with_pyenv]
    assert "3.9.18" not in [found.full_version for found in without_pyenv]


def test_callers_cannot_corrupt_the_cache(machine: dict[str, str]) -> None:
    discover_interpreters(machine).clear()

    assert discover_interpreters(machine)


def test_interpreter_reports_minor_and_full_version() -> None:
    interpreter = Interpreter(Path("/opt/python3.11"), (3, 11, 7), "path")

    assert (interpreter.minor, interpreter.full_version) == ("3.11", "3.11.7")


KNOWN = [
    Interpreter(Path("/p/python3.12"), (3, 12, 1), "pyenv"),
    Interpreter(Path("/p/python3.11"), (3, 11, 7), "pyenv"),
    Interpreter(Path("/usr/bin/python3.11"), (3, 11, 2), "path"),
    Interpreter(Path("/p/python3.9"), (3, 9, 18), "pyenv"),
]


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("3.11", "3.11.7"),
        ("python3.11", "3.11.7"),
        ("3.11.2", "3.11.2"),
        ("python3", "3.12.1"),
        (" 3.9 ", "3.9.18"),
        ("3.10", None),
        ("3.11.5", None),
    ],
)
def test_find_interpreter_understands_version_requests(
    request_text: str, expected: str | None
) -> None:
    found = find_interpreter(request_text, KNOWN)

    assert (found.full_version if found else None) == expected


def test_find_interpreter_runs_an_unknown_path_to_learn_its_version(tmp_path: Path) -> None:
    python = _python(tmp_path / "custom" / "python", "cpython 3.10.4 ")

    assert find_interpreter(str(python), KNOWN) == Interpreter(python, (3, 10, 4), "path")


def test_find_interpreter_returns_the_known_interpreter_behind_a_symlink(
    machine: dict[str, str], tmp_path: Path
) -> None:
    found = discover_interpreters(machine)

    resolved = find_interpreter(str(tmp_path / "bin" / "python3"), found)

    assert resolved is not None
    assert resolved.executable == tmp_path / "bin" / "python3.11"


def test_find_interpreter_rejects_missing_broken_and_unsupported_paths(tmp_path: Path) -> None:
    broken = _script(tmp_path / "broken", "exit 3")
    old = _python(tmp_path / "old", "cpython 3.6.15 m")

    assert find_interpreter(str(tmp_path / "missing"), KNOWN) is None
    assert find_interpreter(str(broken), KNOWN) is None
    assert find_interpreter(str(old), KNOWN) is None


def test_the_real_pyenv_interpreters_are_found() -> None:
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    installed = [
        match.group(1)
        for match in (re.fullmatch(r"(3\.\d+)\.\d+", entry.name) for entry in _dirs(root))
        if match
        and (root / "versions" / match.group(0) / "bin" / f"python{match.group(1)}").exists()
    ]
    expected = {minor for minor in installed if tuple(map(int, minor.split("."))) >= (3, 7)}
    if not expected:
        pytest.skip("no pyenv CPython >= 3.7 on this machine")

    found = {found.minor for found in discover_interpreters() if found.source == "pyenv"}

    assert expected <= found


def _dirs(root: Path) -> list[Path]:
    versions = root / "versions"
    return [entry for entry in versions.iterdir() if entry.is_dir()] if versions.is_dir() else []
