"""``python -m pytest_kerascompat ci-matrix``: the cells as a GitHub Actions matrix.

Each entry names a cell, the newest Python its TensorFlow release installs on, and the
key to cache its environments under, so a CI job can set up that Python, restore its
cache and run ``pytest --keras-cells=<cell>``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_kerascompat.config._validation import CommandError

if TYPE_CHECKING:
    from pytest_kerascompat.config.matrix import CellSpec
    from pytest_kerascompat.plan.index import PackageIndex


def add_parser(commands: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        "ci-matrix", help='Print the cells as a GitHub Actions matrix ({"include": [...]})'
    )
    parser.add_argument(
        "--matrix-file",
        type=Path,
        help="Matrix file (default: ./matrix.yaml, else the bundled one)",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    from pytest_kerascompat.config.matrix import load_matrix
    from pytest_kerascompat.config.options import default_matrix
    from pytest_kerascompat.env.environments import default_cache_dir
    from pytest_kerascompat.plan.index import PackageIndex
    from pytest_kerascompat.plan.plans import resolve_project

    path = args.matrix_file or default_matrix(Path.cwd())
    matrix = load_matrix(path)
    index = PackageIndex(default_cache_dir())
    project = resolve_project(matrix)
    include = [cell_entry(cell, index, project) for cell in matrix.cells]
    print(json.dumps({"include": include}))
    return 0


def cell_entry(cell: CellSpec, index: PackageIndex, project: str | None) -> dict[str, Any]:
    """A CI job's entry; a cell no Python can install is an error, never ``"python": null``."""
    from pytest_kerascompat.plan.plans import ci_cache_key, newest_supported_python

    python = newest_supported_python(cell, index)
    if python is None:
        raise CommandError(
            f"{cell.matrix_file or 'matrix'}: cell {cell.name!r}: {no_wheels(cell, index)}"
        )
    return {
        "cell": cell.name,
        "python": python,
        "cache_key": ci_cache_key(cell, python, project, index),
    }


def no_wheels(cell: CellSpec, index: PackageIndex) -> str:
    """Why no Python suits the cell: a release that does not exist, or one without wheels."""
    for anchor in cell.anchors:
        releases = [
            version for version in index.releases(anchor.name) if version in anchor.specifier
        ]
        if not releases:
            newest = max(index.releases(anchor.name), default=None)
            known = f" (the newest is {newest})" if newest else ""
            return f"no release of {anchor.name} matches {anchor}{known}; correct the version"
    wanted = " and ".join(str(anchor) for anchor in cell.anchors) or "the cell"
    return (
        f"no Python has wheels of {wanted} on the index; choose releases that publish "
        "wheels, or give the cell a python"
    )
