"""What each command of ``python -m pytest_kerascompat`` loads: scan runs on every commit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# Runs the command as ``python -m`` would, then prints every module it loaded.
WRAPPER = """
import json, runpy, sys
sys.argv = ["pytest_kerascompat", *sys.argv[1:]]
try:
    runpy.run_module("pytest_kerascompat", run_name="__main__", alter_sys=True)
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def modules_loaded_by(*args: str, cwd: Path) -> set[str]:
    done = subprocess.run(  # noqa: S603 - an argument list
        [sys.executable, "-c", WRAPPER, *args],
        cwd=cwd, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_scan_loads_neither_yaml_nor_the_report_renderers(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("model.fit_generator(data)\n")
    loaded = modules_loaded_by("scan", str(tmp_path), cwd=tmp_path)
    assert "pytest_kerascompat.commands.scan" in loaded
    assert not {name for name in loaded if name == "yaml" or name.startswith("yaml.")}
    assert not {name for name in loaded if name.startswith("pytest_kerascompat.report")}
    assert "pytest_kerascompat.config.matrix" not in loaded
