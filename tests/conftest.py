from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_kerascompat.env.environments import READY_MARKER

RESOURCES = Path(__file__).parent / "resources"

# Sample user tests for sweeps, not tests of this project.
collect_ignore = ["resources"]

# Tests stop sweeps with SIGINT as Ctrl-C would. A shell starts background jobs with SIGINT
# ignored, and a child inherits that, so a suite run in the background (as CI may run it)
# would wait for a sweep that never hears the signal. A handler, unlike SIG_IGN, is reset
# to the default in every child.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def installed_python37() -> Path | None:
    """Any pyenv CPython 3.7 (the newest patch release), found where the product looks:
    ``$PYENV_ROOT/versions/3.7.*/bin/python3.7``."""
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    found = {
        int(path.parents[1].name.split(".")[2]): path
        for path in (root / "versions").glob("3.7.*/bin/python3.7")
        if path.parents[1].name.split(".")[2].isdigit() and os.access(path, os.X_OK)
    }
    return found[max(found)] if found else None


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One environment cache for the whole run, so cells are built once and shared.

    Set KERASCOMPAT_TEST_CACHE to keep it between runs.
    """
    kept = os.environ.get("KERASCOMPAT_TEST_CACHE")
    if kept:
        Path(kept).mkdir(parents=True, exist_ok=True)
        return Path(kept)
    return tmp_path_factory.mktemp("kerascompat-cache")


@pytest.fixture
def resources() -> Path:
    return RESOURCES


def copy_resource(name: str, destination: Path) -> Path:
    target = destination / Path(name).name
    shutil.copyfile(RESOURCES / name, target)
    return target


def bisect(cwd: Path, cache_dir: Path, *args: str) -> tuple[dict[str, Any], str]:
    """Run the command as a user would; return its JSON answer (it found a boundary) and
    its progress text."""
    completed = subprocess.run(  # noqa: S603 - an argument list
        [sys.executable, "-m", "pytest_kerascompat", "bisect", *args, "--format=json",
         f"--cache-dir={cache_dir}"],
        cwd=cwd, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout), completed.stderr


def ready_environments(cache_dir: Path) -> set[Path]:
    """Environments in a cache that finished building (their ready marker is written)."""
    return {marker.parent for marker in (cache_dir / "envs").glob(f"*/*/{READY_MARKER}")}
