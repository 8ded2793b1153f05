from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pytest_kerascompat.config.matrix import (
    DEFAULT_TIMEOUT,
    MatrixError,
    load_matrix,
    parse_matrix,
    requirement_for_version,
)

RESOURCES = Path(__file__).parent / "resources"


def parse(text: str) -> object:
    return parse_matrix(textwrap.dedent(text), Path("matrix.yaml"))


def error_of(text: str) -> MatrixError:
    with pytest.raises(MatrixError) as caught:
        parse(text)
    return caught.value


def test_it_accepts_the_documented_form() -> None:
    matrix = load_matrix(RESOURCES / "documented_matrix.yaml")
    cell = matrix.cells[0]
    assert cell.name == "tf2.15"
    assert cell.tensorflow == "tensorflow==2.15.*"
    assert cell.python == "3.11"
    assert cell.keras is None
    assert cell.timeout == 300
    assert matrix.project is None


def test_the_bundled_matrix_and_the_examples_are_valid() -> None:
    root = Path(__file__).parents[1]
    for path in [
        root / "matrix.yaml",
        root / "pytest_kerascompat" / "config" / "default_matrix.yaml",
        *sorted((root / "examples").glob("*.yaml")),
    ]:
        assert load_matrix(path).cells, path


@pytest.mark.parametrize(
    ("written", "requirement"),
    [
        ("2.15", "tensorflow==2.15.*"),
        ("2.15.1", "tensorflow==2.15.1"),
        ("2", "tensorflow==2.*"),
        (">=2.16", "tensorflow>=2.16"),
        (">=2.16,<2.18", "tensorflow>=2.16,<2.18"),
        ("latest", "tensorflow"),
    ],
)
def test_short_version_forms_become_requirements(written: str, requirement: str) -> None:
    assert requirement_for_version("tensorflow", written) == requirement


def test_an_unquoted_version_keeps_its_trailing_zero() -> None:
    matrix = parse("""
        cells:
          - name: old
            tensorflow: 2.10
    """)
    assert matrix.cells[0].tensorflow == "tensorflow==2.10.*"  # type: ignore[attr-defined]


def test_defaults_apply_to_every_cell_and_cells_extend_them() -> None:
    matrix = parse("""
        defaults:
          timeout: 60
          packages: ["scipy"]
          env: {A: "1"}
        cells:
          - name: one
            tensorflow: "2.15"
            packages: ["pillow"]
            env: {B: 2}
          - name: two
            tensorflow: "2.16"
            timeout: 5
    """)
    one, two = matrix.cells  # type: ignore[attr-defined]
    assert one.packages == ("scipy", "pillow")
    assert one.env_dict == {"A": "1", "B": "2"}
    assert one.timeout == 60
    assert two.timeout == 5
    assert two.packages == ("scipy",)


def test_a_cell_without_timeout_gets_the_default() -> None:
    matrix = parse("cells: [{name: a, tensorflow: '2.15'}]")
    assert matrix.cells[0].timeout == DEFAULT_TIMEOUT  # type: ignore[attr-defined]


def test_a_missing_file_is_reported_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(MatrixError, match="does not exist") as caught:
        load_matrix(tmp_path / "nope.yaml")
    assert "nope.yaml" in str(caught.value)


def test_text_that_is_not_yaml_names_the_line() -> None:
    error = error_of("cells:\n  - name: a\n    tensorflow: [2.15\n")
    assert "not valid YAML" in str(error)
    assert error.line is not None


def test_a_document_that_is_not_a_mapping_is_refused() -> None:
    assert "top level" in str(error_of("- a\n- b\n"))


@pytest.mark.parametrize("text", ["defaults: {timeout: 5}\n", "cells: []\n", "cells:\n"])
def test_cells_must_be_present_and_non_empty(text: str) -> None:
    error = error_of(text)
    assert error.key == "cells"
    assert "non-empty list" in str(error)


def test_a_cell_that_is_not_a_mapping_is_refused() -> None:
    error = error_of("cells:\n  - tf2.15\n")
    assert "cell #1 must be a mapping" in str(error)
    assert error.line == 1


def test_an_unknown_key_suggests_the_closest_one() -> None:
    error = error_of("""
        cells:
          - name: a
            tensorflw: "2.15"
    """)
    assert error.cell == "a"
    assert error.key == "tensorflw"
    assert error.line == 4
    assert "did you mean 'tensorflow'?" in str(error)
    assert str(error).startswith("matrix.yaml:4: cell 'a': key 'tensorflw': unknown key")


def test_an_unknown_top_level_key_suggests_the_closest_one() -> None:
    error = error_of("cell:\n  - name: a\n")
    assert "did you mean 'cells'?" in str(error)


def test_an_unknown_key_in_defaults_is_refused() -> None:
    error = error_of("defaults: {timout: 3}\ncells: [{name: a}]\n")
    assert "in 'defaults'" in str(error)
    assert "did you mean 'timeout'?" in str(error)


def test_a_duplicate_cell_name_is_refused() -> None:
    error = error_of("""
        cells:
          - name: a
          - name: a
    """)
    assert error.cell == "a"
    assert error.line == 4
    assert "duplicate cell name" in str(error)


@pytest.mark.parametrize("name", ["tf 2.15", "tf/2", "tf:2", "ü"])
def test_a_cell_name_with_other_characters_is_refused(name: str) -> None:
    error = error_of(f"cells:\n  - name: '{name}'\n")
    assert "letters, digits" in str(error)
    assert error.key == "name"


@pytest.mark.parametrize(
    ("key", "value"),
    [("tensorflow", "two"), ("tensorflow", ">=2.x"), ("keras", "three"), ("python", "three")],
)
def test_an_invalid_version_is_refused(key: str, value: str) -> None:
    error = error_of(f"cells:\n  - name: a\n    {key}: '{value}'\n")
    assert error.key == key
    assert error.line == 3
    assert value in str(error)


def test_an_invalid_requirement_in_packages_is_refused() -> None:
    error = error_of("cells:\n  - name: a\n    packages: ['numpy<<2']\n")
    assert error.key == "packages"
    assert "not a valid requirement" in str(error)


@pytest.mark.parametrize("name", ["1ABC", "A-B", "A B"])
def test_an_environment_variable_name_must_be_an_identifier(name: str) -> None:
    error = error_of(f"cells:\n  - name: a\n    env: {{'{name}': '1'}}\n")
    assert error.key == f"env.{name}"
    assert "not a valid environment variable name" in str(error)


@pytest.mark.parametrize("value", ["true", "~", "[1]", "{a: 1}"])
def test_an_environment_variable_value_must_be_a_string_or_number(value: str) -> None:
    error = error_of(f"cells:\n  - name: a\n    env:\n      FLAG: {value}\n")
    assert (error.cell, error.key, error.line) == ("a", "env.FLAG", 4)
    assert str(error).startswith("matrix.yaml:4: cell 'a': key 'env.FLAG': expected a string")


def test_environment_variable_values_may_be_numbers_and_become_text() -> None:
    matrix = parse("cells:\n  - name: a\n    env: {RETRIES: 3, RATE: 0.5, NAME: x}\n")
    assert matrix.cells[0].env_dict == {"RETRIES": "3", "RATE": "0.5", "NAME": "x"}  # type: ignore[attr-defined]


def test_env_must_be_a_mapping() -> None:
    error = error_of("cells:\n  - name: a\n    env: [FLAG=1]\n")
    assert (error.cell, error.key, error.line) == ("a", "env", 3)
    assert "expected a mapping" in str(error)


@pytest.mark.parametrize("value", ["'false'", "no-thanks", "0", "[numpy<2]"])
def test_pins_must_be_true_or_false_in_a_cell_and_in_defaults(value: str) -> None:
    in_cell = error_of(f"cells:\n  - name: a\n    pins: {value}\n")
    assert str(in_cell) == "matrix.yaml:3: cell 'a': key 'pins': expected true or false"
    in_defaults = error_of(f"defaults:\n  pins: {value}\ncells:\n  - name: a\n")
    assert str(in_defaults) == "matrix.yaml:2: key 'pins': expected true or false"


def test_pins_may_be_turned_off_by_default_and_back_on_in_a_cell() -> None:
    matrix = parse("defaults: {pins: false}\ncells: [{name: a}, {name: b, pins: true}]\n")
    assert [cell.pins for cell in matrix.cells] == [False, True]  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", ["-1", "0", "soon", "[1]", ".inf"])
def test_a_timeout_must_be_a_positive_number(value: str) -> None:
    error = error_of(f"cells:\n  - name: a\n    timeout: {value}\n")
    assert error.key == "timeout"
    assert "positive number" in str(error)


def test_an_unknown_backend_is_refused() -> None:
    error = error_of("cells:\n  - name: a\n    backend: theano\n")
    assert error.key == "backend"
    assert "jax" in str(error)


def test_selecting_an_unknown_cell_suggests_the_closest() -> None:
    matrix = parse("cells: [{name: tf2.15}, {name: tf2.16}]")
    with pytest.raises(MatrixError, match=r"'tf2.17'.*did you mean 'tf2.1[56]'"):
        matrix.select(["tf2.17"])  # type: ignore[attr-defined]


def test_yaml_tags_that_build_objects_are_refused() -> None:
    error = error_of("cells: !!python/object/apply:os.system ['true']\n")
    assert "not valid YAML" in str(error)
