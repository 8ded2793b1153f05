from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

RESOURCES = Path(__file__).parent / "resources"

# Sample user tests for sweeps, not tests of this project.
collect_ignore = ["resources"]


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
