"""Command-line options, their ini mirrors, and one resolution order for all of them.

Each option is declared once, as one field of ``Settings`` carrying an ``Option``
record (as nox's ``_options.py`` does): its flag, parser, help and default. The
``addoption`` and ``addini`` calls, the ini key, the environment variable and the
resolution are derived from that record. A setting comes from the command line,
else its environment variable, else the ini file, else the default; a bad value
from any of them is a usage error naming where it came from.
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
GROUP = ("kerascompat", "Keras compatibility matrix")
OPTION = "kerascompat.option"


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


#: ``--keras-rebuild`` with no cell names: every cell's environment.
REBUILD_ALL = ("*",)


def parse_rebuild(text: str) -> tuple[str, ...]:
    """``all`` (or ``*``) for every cell, else cell names; the sweep checks they exist."""
    if text.strip().lower() in ("all", "*"):
        return REBUILD_ALL
    try:
        return tuple(parse_cell_names(text))
    except argparse.ArgumentTypeError as error:
        raise argparse.ArgumentTypeError(
            f"{error}; name cells as --keras-rebuild=CELL,CELL (a bare --keras-rebuild "
            "followed by a path takes the path as its value: write the option last, or "
            "--keras-rebuild=all)"
        ) from None


def parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")


def default_matrix(rootdir: Path) -> Path:
    candidate = rootdir / DEFAULT_MATRIX_NAME
    return candidate if candidate.is_file() else BUNDLED_MATRIX


def default_report_json(rootdir: Path) -> Path:
    return rootdir / ".kerascompat" / "report.json"


def no_default(rootdir: Path) -> None:
    return None


@dataclasses.dataclass(frozen=True)
class Option:
    """One option as the README shows it; everything else about it is derived.

    ``flag`` is written as in the README, ``--keras-jobs=N``: the metavar follows
    the ``=``. ``parse`` is ``None`` for a switch of the command line alone;
    ``parse_bool`` makes a switch mirrored in ini and the environment (a
    ``--keras-no-`` flag turns it off); ``Path`` makes a path, relative to the
    directory of whoever gave it. ``default`` is the value when nobody gave one,
    from the rootdir; ``shown_default`` is how help and README describe it.
    """

    flag: str
    help: str
    shown_default: str
    parse: Callable[[str], Any] | None = None
    default: Callable[[Path], Any] = no_default
    #: What a flag written ``--keras-x[=VALUE]`` means when given without its value.
    bare: Any = None

    @property
    def option(self) -> str:
        return self.flag.partition("=")[0].removesuffix("[")

    @property
    def metavar(self) -> str | None:
        return self.flag.partition("=")[2].removesuffix("]") or None

    @property
    def value_optional(self) -> bool:
        """``--keras-rebuild`` alone, or ``--keras-rebuild=CELLS``."""
        return "[=" in self.flag

    @property
    def negated(self) -> bool:
        return self.option.startswith("--keras-no-")

    @property
    def name(self) -> str:
        """The ``config.option`` attribute and the ini key: ``keras_jobs``."""
        return self.option.replace("--keras-no-", "--keras-").removeprefix("--").replace("-", "_")

    @property
    def field(self) -> str:
        """The ``Settings`` field: ``jobs``."""
        return self.name.removeprefix("keras_")

    @property
    def mirrored(self) -> bool:
        """Whether the ini key and the environment variable can set it too."""
        return self.parse is not None

    @property
    def environment_variable(self) -> str:
        return "KERASCOMPAT_" + self.field.upper()

    @property
    def switch(self) -> bool:
        return self.parse is None or self.parse is parse_bool

    @property
    def phrase(self) -> str:
        """The help as the flag reads: a ``--keras-no-`` flag does not do what it sets."""
        return f"Do not {self.help[0].lower()}{self.help[1:]}" if self.negated else self.help

    @property
    def command_line_help(self) -> str:
        return self.phrase if self.switch else self.ini_help

    @property
    def ini_help(self) -> str:
        if self.shown_default == "none":
            return self.help
        return f"{self.help} (default: {self.shown_default.replace('`', '')})"

    def add_to(self, parser: pytest.Parser, group: pytest.OptionGroup) -> None:
        if not self.mirrored:
            group.addoption(self.option, action="store_true", help=self.command_line_help)
            return
        kwargs: dict[str, Any] = {"dest": self.name, "help": self.command_line_help}
        if self.switch:
            kwargs.update(action="store_false" if self.negated else "store_true", default=None)
        else:
            kwargs.update(metavar=self.metavar, type=self.parse)
            if self.value_optional:
                kwargs.update(nargs="?", const=self.bare)
        group.addoption(self.option, **kwargs)
        parser.addini(self.name, self.ini_help, type="string", default=None)

    def value(self, config: pytest.Config) -> Any:
        """Command line, environment variable, ini, then the default."""
        if not self.mirrored:
            return bool(getattr(config.option, self.name))
        found = self.given(config)
        if found is None:
            return self.default(Path(config.rootpath))
        value, base = found
        if self.parse is not Path:
            return value
        path = Path(value).expanduser()
        return path if path.is_absolute() else (base / path).resolve()

    def given(self, config: pytest.Config) -> tuple[Any, Path] | None:
        """The value someone gave and the directory a relative path in it is relative to."""
        invocation_dir = Path(config.invocation_params.dir)
        value = getattr(config.option, self.name, None)
        if value is not None:
            return value, invocation_dir
        if self.parse is None:
            return None
        variable = self.environment_variable
        ini_dir = Path(config.inipath).parent if config.inipath else Path(config.rootpath)
        sources: list[tuple[str, Any, Path]] = [
            (f"environment variable {variable}", os.environ.get(variable), invocation_dir),
            (f"ini option {self.name} in {config.inipath}", config.getini(self.name), ini_dir),
        ]
        for where, raw, base in sources:
            if raw in (None, ""):
                continue
            try:
                return self.parse(str(raw)), base
            except argparse.ArgumentTypeError as error:
                raise pytest.UsageError(f"{where}: {error}") from None
        return None


def declares(
    flag: str,
    *,
    help: str,
    shown_default: str,
    parse: Callable[[str], Any] | None = None,
    default: Callable[[Path], Any] = no_default,
    bare: Any = None,
) -> dict[str, Option]:
    """The metadata of a ``Settings`` field that declares its option."""
    return {OPTION: Option(flag, help, shown_default, parse, default, bare)}


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every kerascompat setting, resolved once per run; each field declares its option."""

    matrix: bool = dataclasses.field(
        metadata=declares(
            "--keras-matrix",
            help="Run the tests marked keras_compat in every cell of the Keras matrix",
            shown_default="off",
        )
    )
    probes: bool = dataclasses.field(
        metadata=declares(
            "--keras-probes",
            help="Run the built-in data-feeding probes in every cell (implies --keras-matrix)",
            shown_default="off",
        )
    )
    matrix_file: Path = dataclasses.field(
        metadata=declares(
            "--keras-matrix-file=PATH",
            help="Matrix file",
            shown_default="`matrix.yaml` in the rootdir, else the bundled one",
            parse=Path,
            default=default_matrix,
        )
    )
    cells: list[str] | None = dataclasses.field(
        metadata=declares(
            "--keras-cells=NAMES",
            help="Comma-separated cell names to run",
            shown_default="all cells",
            parse=parse_cell_names,
        )
    )
    report_json: Path = dataclasses.field(
        metadata=declares(
            "--keras-report-json=PATH",
            help="Where to write the JSON report",
            shown_default="`.kerascompat/report.json` in the rootdir",
            parse=Path,
            default=default_report_json,
        )
    )
    report_md: Path | None = dataclasses.field(
        metadata=declares(
            "--keras-report-md=PATH",
            help="Also write the table as GitHub-flavoured Markdown to PATH",
            shown_default="none",
            parse=Path,
        )
    )
    report_html: Path | None = dataclasses.field(
        metadata=declares(
            "--keras-report-html=PATH",
            help="Also write the table as one self-contained HTML page to PATH",
            shown_default="none",
            parse=Path,
        )
    )
    junitxml: Path | None = dataclasses.field(
        metadata=declares(
            "--keras-junitxml=PATH",
            help="Also write JUnit XML to PATH: one test case per test and cell",
            shown_default="none",
            parse=Path,
        )
    )
    cache_dir: Path | None = dataclasses.field(
        metadata=declares(
            "--keras-cache-dir=PATH",
            help="Where cell environments are kept",
            shown_default="`~/.cache/pytest-kerascompat`",
            parse=Path,
        )
    )
    jobs: int | None = dataclasses.field(
        metadata=declares(
            "--keras-jobs=N",
            help="Cells run at once",
            shown_default="CPU count, capped at one cell per 3 GB of memory",
            parse=parse_jobs,
        )
    )
    timeout: float | None = dataclasses.field(
        metadata=declares(
            "--keras-timeout=SECONDS",
            help="Seconds allowed per test",
            shown_default="the matrix's `timeout`",
            parse=parse_seconds,
        )
    )
    pins: bool = dataclasses.field(
        metadata=declares(
            "--keras-no-pins",
            help="Apply known-good pins to old releases",
            shown_default="on",
            parse=parse_bool,
            default=lambda rootdir: True,
        )
    )
    all_tests: bool = dataclasses.field(
        metadata=declares(
            "--keras-all-tests",
            help="Run every collected test in every cell, marked keras_compat or not",
            shown_default="off",
            parse=parse_bool,
            default=lambda rootdir: False,
        )
    )
    resume: bool = dataclasses.field(
        metadata=declares(
            "--keras-resume",
            help="Keep the finished squares of the last interrupted run and run only the rest",
            shown_default="off",
            parse=parse_bool,
            default=lambda rootdir: False,
        )
    )
    rebuild: tuple[str, ...] = dataclasses.field(
        metadata=declares(
            "--keras-rebuild[=CELLS]",
            help=(
                "Rebuild the environments of every cell, or of the comma-separated CELLS, "
                "instead of reusing them"
            ),
            shown_default="reuse each environment while it is intact",
            parse=parse_rebuild,
            default=lambda rootdir: (),
            bare=REBUILD_ALL,
        )
    )

    @property
    def report_destinations(self) -> dict[str, Path | None]:
        """Report format to path; JSON is always written."""
        return {
            "json": self.report_json,
            "md": self.report_md,
            "html": self.report_html,
            "junitxml": self.junitxml,
        }


OPTIONS: tuple[Option, ...] = tuple(
    field.metadata[OPTION] for field in dataclasses.fields(Settings)
)
DECLARED = {option.name: option for option in OPTIONS}


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup(*GROUP)
    for option in OPTIONS:
        option.add_to(parser, group)


def resolve_settings(config: pytest.Config) -> Settings:
    return Settings(**{option.field: option.value(config) for option in OPTIONS})


def resolve(config: pytest.Config, name: str, parse: Callable[[str], T]) -> T | None:
    """Command line, then environment variable, then ini; ``None`` when none is set."""
    found = dataclasses.replace(DECLARED[name], parse=parse).given(config)
    return None if found is None else found[0]
