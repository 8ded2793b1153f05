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
#: The longest cell name: files named after a cell (``<cell>.coverage.<host>.<pid>.<n>``,
#: ``.<cell>.jsonl.<random>.tmp``) must stay within the 255 bytes a file name may take.
MAX_CELL_NAME = 100
#: A cell name starts with a letter or digit: one starting with ``-`` would read as an
#: option on a worker's command line, and ``.`` or ``..`` as a directory.
CELL_NAME = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_CELL_NAME - 1}}}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def cell_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a cell's name, or None when it can."""
    if CELL_NAME.match(name):
        return None
    if len(name) > MAX_CELL_NAME:
        return (
            f"a cell name may be at most {MAX_CELL_NAME} characters (this one has "
            f"{len(name)}): files are named after it"
        )
    return (
        "a cell name may hold only letters, digits, '.', '_' and '-', and starts with "
        "a letter or digit"
    )


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
