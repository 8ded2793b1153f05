"""Value checks shared by ``matrix.yaml`` and the command line.

Standard library only: the plugin imports this at every pytest start, so it must
cost nothing (YAML and packaging load only when a sweep runs).
"""

from __future__ import annotations

import re

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
