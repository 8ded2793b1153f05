"""Value checks shared by ``matrix.yaml`` and the command lines.

Standard library only: the plugin imports this at every pytest start, so it must
cost nothing (YAML and packaging load only when a sweep runs).
"""

from __future__ import annotations

import re
from pathlib import Path


class CommandError(Exception):
    """What ``python -m pytest_kerascompat`` reports as ``error: ...`` with exit status 2:
    a mistake in what was asked (or an index it cannot reach), never a traceback."""


#: Keras 3 backends a cell or ``bisect --backend`` may name.
BACKENDS = ("tensorflow", "jax", "torch", "numpy", "openvino")
CELL_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_timeout(value: object) -> float | None:
    """A positive, finite number of seconds, or None when ``value`` is not one."""
    if not isinstance(value, str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if 0 < number < float("inf") else None


def absolute_project(project: str, base: Path) -> str:
    """``.[test]`` relative to ``base``, as an absolute path keeping its extras."""
    path, _, extras = project.partition("[")
    absolute = (base / path).resolve()
    return f"{absolute}[{extras}" if extras else str(absolute)
