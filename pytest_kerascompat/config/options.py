"""Command-line options, their ini mirrors, and one resolution order for all of them.

Each help text is written once and given to both ``addoption`` and ``addini``; a
setting comes from the command line, else its environment variable, else the ini
file, else the default. A bad value from any of them is a usage error naming where
it came from.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from pytest_kerascompat.config._validation import CELL_NAME, parse_timeout

T = TypeVar("T")

DEFAULT_MATRIX_NAME = "matrix.yaml"
BUNDLED_MATRIX = Path(__file__).with_name("default_matrix.yaml")

HELP = {
    "keras_matrix": "Run the tests marked keras_compat in every cell of the Keras matrix",
    "keras_probes": "Run the built-in data-feeding probes in every cell (implies --keras-matrix)",
    "keras_matrix_file": "Matrix file (default: matrix.yaml in the rootdir, else the bundled one)",
    "keras_cells": "Comma-separated cell names to run (default: all)",
    "keras_report_json": "Where to write the JSON report (default: .kerascompat/report.json)",
    "keras_report_md": "Also write the table as GitHub-flavoured Markdown to PATH",
    "keras_report_html": "Also write the table as one self-contained HTML page to PATH",
    "keras_junitxml": "Also write JUnit XML to PATH: one test case per test and cell",
    "keras_cache_dir": "Where cell environments are kept (default: ~/.cache/pytest-kerascompat)",
    "keras_jobs": "Cells run at once (default: from CPU count and memory)",
    "keras_timeout": "Seconds allowed per test, over the matrix's timeout",
    "keras_pins": "Apply known-good pins to old releases (default: true)",
    "keras_resume": "Keep the finished squares of the last interrupted run and run only the rest",
}
ENVIRONMENT = {
    "keras_matrix_file": "KERASCOMPAT_MATRIX_FILE",
    "keras_cells": "KERASCOMPAT_CELLS",
    "keras_report_json": "KERASCOMPAT_REPORT_JSON",
    "keras_report_md": "KERASCOMPAT_REPORT_MD",
    "keras_report_html": "KERASCOMPAT_REPORT_HTML",
    "keras_junitxml": "KERASCOMPAT_JUNITXML",
    "keras_cache_dir": "KERASCOMPAT_CACHE_DIR",
    "keras_jobs": "KERASCOMPAT_JOBS",
    "keras_timeout": "KERASCOMPAT_TIMEOUT",
    "keras_pins": "KERASCOMPAT_PINS",
    "keras_resume": "KERASCOMPAT_RESUME",
}


def parse_cell_names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected comma-separated cell names")
    for name in names:
        if not CELL_NAME.match(name):
            raise argparse.ArgumentTypeError(f"{name!r} is not a cell name")
    return names


def parse_jobs(text: str) -> int:
    try:
        jobs = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of jobs, not {text!r}") from None
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1 job, not {jobs}")
    return jobs


def parse_seconds(text: str) -> float:
    seconds = parse_timeout(text)
    if seconds is None:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, not {text!r}")
    return seconds


def parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("kerascompat", "Keras compatibility matrix")
    group.addoption("--keras-matrix", action="store_true", help=HELP["keras_matrix"])
    group.addoption("--keras-probes", action="store_true", help=HELP["keras_probes"])
    group.addoption("--keras-matrix-file", metavar="PATH", help=HELP["keras_matrix_file"])
    group.addoption(
        "--keras-cells", metavar="NAMES", type=parse_cell_names, help=HELP["keras_cells"]
    )
    for name in ("keras_report_json", "keras_report_md", "keras_report_html", "keras_junitxml"):
        flag = "--" + name.replace("_", "-")
        group.addoption(flag, dest=name, metavar="PATH", help=HELP[name])
    group.addoption("--keras-cache-dir", metavar="PATH", help=HELP["keras_cache_dir"])
    group.addoption("--keras-jobs", metavar="N", type=parse_jobs, help=HELP["keras_jobs"])
    group.addoption(
        "--keras-timeout", metavar="SECONDS", type=parse_seconds, help=HELP["keras_timeout"]
    )
    group.addoption(
        "--keras-no-pins",
        dest="keras_pins",
        action="store_false",
        default=None,
        help="Do not apply known-good pins to old releases",
    )
    group.addoption("--keras-resume", action="store_true", default=None, help=HELP["keras_resume"])
    for name in ENVIRONMENT:
        parser.addini(name, HELP[name], type="string", default=None)


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every kerascompat setting, resolved once per run."""

    probes: bool
    matrix_file: Path
    cells: list[str] | None
    report_json: Path
    cache_dir: Path | None
    jobs: int | None
    timeout: float | None
    pins: bool
    resume: bool = False
    report_md: Path | None = None
    report_html: Path | None = None
    junitxml: Path | None = None

    @property
    def report_destinations(self) -> dict[str, Path | None]:
        """Report format to path; JSON is always written."""
        return {
            "json": self.report_json,
            "md": self.report_md,
            "html": self.report_html,
            "junitxml": self.junitxml,
        }


def resolve(config: pytest.Config, name: str, parse: Callable[[str], T]) -> T | None:
    """Command line, then environment variable, then ini; ``None`` when none is set."""
    found = resolve_with_base(config, name, parse)
    return None if found is None else found[0]


def resolve_with_base(
    config: pytest.Config, name: str, parse: Callable[[str], T]
) -> tuple[T, Path] | None:
    """The value and the directory a relative path in it is relative to."""
    invocation_dir = Path(config.invocation_params.dir)
    value = getattr(config.option, name, None)
    if value is not None:
        return value, invocation_dir
    ini_dir = Path(config.inipath).parent if config.inipath else Path(config.rootpath)
    sources: list[tuple[str, Any, Path]] = [
        (f"environment variable {ENVIRONMENT[name]}", os.environ.get(ENVIRONMENT[name]),
         invocation_dir),
        (f"ini option {name} in {config.inipath}", config.getini(name), ini_dir),
    ]  # fmt: skip
    for where, raw, base in sources:
        if raw in (None, ""):
            continue
        try:
            return parse(str(raw)), base
        except argparse.ArgumentTypeError as error:
            raise pytest.UsageError(f"{where}: {error}") from None
    return None


def resolve_path(config: pytest.Config, name: str) -> Path | None:
    found = resolve_with_base(config, name, Path)
    if found is None:
        return None
    path, base = found
    path = Path(path).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def resolve_settings(config: pytest.Config) -> Settings:
    rootdir = Path(config.rootpath)
    matrix_file = resolve_path(config, "keras_matrix_file")
    return Settings(
        probes=bool(config.option.keras_probes),
        matrix_file=matrix_file or default_matrix(rootdir),
        cells=resolve(config, "keras_cells", parse_cell_names),
        report_json=resolve_path(config, "keras_report_json")
        or rootdir / ".kerascompat" / "report.json",
        cache_dir=resolve_path(config, "keras_cache_dir"),
        jobs=resolve(config, "keras_jobs", parse_jobs),
        timeout=resolve(config, "keras_timeout", parse_seconds),
        pins=resolve(config, "keras_pins", parse_bool) is not False,
        resume=bool(resolve(config, "keras_resume", parse_bool)),
        report_md=resolve_path(config, "keras_report_md"),
        report_html=resolve_path(config, "keras_report_html"),
        junitxml=resolve_path(config, "keras_junitxml"),
    )


def default_matrix(rootdir: Path) -> Path:
    candidate = rootdir / DEFAULT_MATRIX_NAME
    return candidate if candidate.is_file() else BUNDLED_MATRIX
