"""``python -m pytest_kerascompat ci-matrix``: the cells as a GitHub Actions matrix.

Each entry names a cell and the newest Python its TensorFlow release installs on, so a
CI job can set up that Python and run ``pytest --keras-cells=<cell>``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


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
    from pytest_kerascompat.env.environments import default_cache_dir
    from pytest_kerascompat.plan.index import PackageIndex
    from pytest_kerascompat.plan.plans import newest_supported_python

    path = args.matrix_file or default_matrix_file()
    matrix = load_matrix(path)
    index = PackageIndex(default_cache_dir())
    include = []
    for cell in matrix.cells:
        python = newest_supported_python(cell, index)
        include.append({"cell": cell.name, "python": python})
    print(json.dumps({"include": include}))
    return 0


def default_matrix_file() -> Path:
    from pytest_kerascompat.config.options import BUNDLED_MATRIX, DEFAULT_MATRIX_NAME

    local = Path.cwd() / DEFAULT_MATRIX_NAME
    return local if local.is_file() else BUNDLED_MATRIX
