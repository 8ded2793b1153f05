"""Each option is declared once; the help, the ini keys, the README and Settings agree."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pytest_kerascompat.config.options import OPTIONS, Option, Settings, resolve_settings

README = Path(__file__).parents[1] / "README.md"


def readme_options_table() -> list[list[str]]:
    """The rows of the table in the README's Options section, one list of cells per row."""
    section = README.read_text(encoding="utf-8").split("\n## Options\n", 1)[1].split("\n## ")[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header, _rule, *rows = (
        [cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines
    )
    assert header == ["option", "what it does", "ini key", "environment variable", "default"]
    return rows


def declared_row(option: Option) -> list[str]:
    mirrored = option.mirrored
    return [
        f"`{option.flag}`",
        option.phrase,
        f"`{option.name}`" if mirrored else "",
        f"`{option.environment_variable}`" if mirrored else "",
        option.shown_default,
    ]


def test_the_readme_options_table_matches_the_declarations() -> None:
    assert readme_options_table() == [declared_row(option) for option in OPTIONS]


def test_each_settings_field_is_named_after_its_option() -> None:
    assert [field.name for field in dataclasses.fields(Settings)] == [
        option.field for option in OPTIONS
    ]


@pytest.mark.parametrize("option", OPTIONS, ids=[option.flag for option in OPTIONS])
def test_each_help_text_starts_with_a_capital_and_has_no_final_period(option: Option) -> None:
    for text in (option.command_line_help, option.ini_help):
        assert text[0].isupper()
        assert not text.endswith(".")


def test_every_option_and_its_ini_key_are_in_the_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        ["Keras compatibility matrix:"]
        + [f"*{option.flag}*" for option in OPTIONS]
        + [f"*{option.name} (string):*" for option in OPTIONS if option.mirrored]
    )


SAMPLES = {
    "--keras-matrix-file=PATH": ("m.yaml", "matrix_file", Path("m.yaml")),
    "--keras-cells=NAMES": ("a, b", "cells", ["a", "b"]),
    "--keras-report-json=PATH": ("r.json", "report_json", Path("r.json")),
    "--keras-report-md=PATH": ("r.md", "report_md", Path("r.md")),
    "--keras-report-html=PATH": ("r.html", "report_html", Path("r.html")),
    "--keras-junitxml=PATH": ("r.xml", "junitxml", Path("r.xml")),
    "--keras-cache-dir=PATH": ("cache", "cache_dir", Path("cache")),
    "--keras-jobs=N": ("2", "jobs", 2),
    "--keras-timeout=SECONDS": ("7.5", "timeout", 7.5),
    "--keras-no-pins": ("off", "pins", False),
    "--keras-all-tests": ("1", "all_tests", True),
    "--keras-resume": ("yes", "resume", True),
    "--keras-rebuild[=CELLS]": ("a,b", "rebuild", ("a", "b")),
}


def test_every_mirrored_option_has_a_sample() -> None:
    assert sorted(SAMPLES) == sorted(option.flag for option in OPTIONS if option.mirrored)


@pytest.mark.parametrize(("flag", "sample"), SAMPLES.items(), ids=list(SAMPLES))
def test_each_environment_variable_and_ini_key_sets_its_setting(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    flag: str,
    sample: tuple[str, str, object],
) -> None:
    text, field, expected = sample
    option = next(option for option in OPTIONS if option.flag == flag)
    if isinstance(expected, Path):
        expected = pytester.path / expected
    pytester.makeini(f"[pytest]\n{option.name} = {text}\n")
    assert getattr(resolve_settings(pytester.parseconfigure()), field) == expected
    pytester.makeini("[pytest]\n")
    monkeypatch.setenv(option.environment_variable, text)
    assert getattr(resolve_settings(pytester.parseconfigure()), field) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), ()),
        (("--keras-rebuild",), ("*",)),
        (("--keras-rebuild=all",), ("*",)),
        (("--keras-rebuild=tf2.15,tf2.16",), ("tf2.15", "tf2.16")),
    ],
    ids=["not-given", "bare", "all", "named"],
)
def test_keras_rebuild_takes_every_cell_bare_or_the_cells_it_names(
    pytester: pytest.Pytester, args: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    assert resolve_settings(pytester.parseconfigure(*args)).rebuild == expected


def test_keras_rebuild_followed_by_a_path_says_how_to_name_cells(
    pytester: pytest.Pytester,
) -> None:
    result = pytester.runpytest("--keras-rebuild", "tests/test_fit.py")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--keras-rebuild*'tests/test_fit.py' is not a cell name*--keras-rebuild=CELL,CELL*"]
    )
