"""The plugin's options, marker and fixtures, in process with pytester."""

from __future__ import annotations

import pytest

from pytest_kerascompat.config.options import BUNDLED_MATRIX

BAD_MATRIX = """\
cells:
  - name: tf2.15
    tensorflw: "2.15"
"""


def test_it_registers_the_marker_with_its_signature(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.keras_compat(api=None, breaks=None):*"])


def test_it_shows_its_options_in_a_named_group(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "Keras compatibility matrix:",
            "*--keras-matrix*Run the tests marked keras_compat in every cell*",
            "*--keras-jobs=N*",
            "*keras_matrix_file (string):*",
        ]
    )


def test_marked_tests_run_as_ordinary_tests_without_the_matrix(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest
        pytestmark = pytest.mark.keras_compat(api="fit_generator")

        def test_cell(keras_cell):
            assert keras_cell.name == "local"

        def test_plain():
            pass
        """
    )
    result = pytester.runpytest("--strict-markers")
    result.assert_outcomes(passed=2)


def test_a_misspelt_matrix_key_is_a_usage_error_naming_file_line_and_key(
    pytester: pytest.Pytester,
) -> None:
    pytester.makefile(".yaml", matrix=BAD_MATRIX)
    result = pytester.runpytest("--keras-matrix")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*matrix.yaml:3: cell 'tf2.15': key 'tensorflw': unknown key "
            "(did you mean 'tensorflow'?)*"
        ]
    )
    assert "Traceback" not in result.stderr.str()


def test_a_missing_matrix_file_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--keras-matrix", "--keras-matrix-file", "nope.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*nope.yaml: the matrix file does not exist*"])


def test_an_unknown_cell_is_a_usage_error_with_a_suggestion(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--keras-probes", "--keras-cells", "tf2.17")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--keras-cells names 'tf2.17'*did you mean*"])


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--keras-jobs", "0", "expected at least 1 job"),
        ("--keras-jobs", "many", "expected a whole number of jobs"),
        ("--keras-timeout", "-5", "expected a positive number of seconds"),
        ("--keras-cells", "a b", "'a b' is not a cell name"),
    ],
)
def test_bad_option_values_are_usage_errors(
    pytester: pytest.Pytester, option: str, value: str, message: str
) -> None:
    result = pytester.runpytest("--keras-matrix", option, value)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])


def test_a_bad_environment_variable_is_a_usage_error_naming_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KERASCOMPAT_JOBS", "lots")
    result = pytester.runpytest("--keras-matrix")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*environment variable KERASCOMPAT_JOBS: *lots*"])


def test_a_bad_ini_value_is_a_usage_error_naming_the_file(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nkeras_timeout = never\n")
    result = pytester.runpytest("--keras-matrix")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ini option keras_timeout in *tox.ini*never*"])


def test_the_command_line_wins_over_environment_and_ini(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini("[pytest]\nkeras_jobs = 3\n")
    monkeypatch.setenv("KERASCOMPAT_JOBS", "2")
    config = pytester.parseconfigure("--keras-jobs", "1")
    from pytest_kerascompat.config.options import resolve, resolve_settings

    assert resolve_settings(config).jobs == 1
    config = pytester.parseconfigure()
    assert resolve(config, "keras_jobs", int) == 2
    monkeypatch.delenv("KERASCOMPAT_JOBS")
    config = pytester.parseconfigure()
    assert resolve_settings(config).jobs == 3


def test_the_bundled_matrix_is_used_when_the_rootdir_has_none(pytester: pytest.Pytester) -> None:
    from pytest_kerascompat.config.options import resolve_settings

    assert resolve_settings(pytester.parseconfigure()).matrix_file == BUNDLED_MATRIX
    pytester.makefile(".yaml", matrix="cells: [{name: a}]\n")
    assert resolve_settings(pytester.parseconfigure()).matrix_file.name == "matrix.yaml"
    assert resolve_settings(pytester.parseconfigure()).matrix_file != BUNDLED_MATRIX


def test_ini_paths_are_relative_to_the_ini_file(pytester: pytest.Pytester) -> None:
    from pytest_kerascompat.config.options import resolve_settings

    pytester.makeini("[pytest]\nkeras_matrix_file = ci/cells.yaml\n")
    settings = resolve_settings(pytester.parseconfigure())
    assert settings.matrix_file == pytester.path / "ci" / "cells.yaml"


def test_pins_can_be_turned_off_from_the_command_line_and_ini(pytester: pytest.Pytester) -> None:
    from pytest_kerascompat.config.options import resolve_settings

    assert resolve_settings(pytester.parseconfigure()).pins is True
    assert resolve_settings(pytester.parseconfigure("--keras-no-pins")).pins is False
    pytester.makeini("[pytest]\nkeras_pins = false\n")
    assert resolve_settings(pytester.parseconfigure()).pins is False


def test_the_header_names_the_matrix_and_the_cache(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", matrix="cells: [{name: a, python: '2.1'}]\n")
    result = pytester.runpytest("--keras-matrix", "--keras-cache-dir", "cache", "--co")
    result.stdout.fnmatch_lines(["kerascompat: *matrix.yaml (1 cells), * environments in *cache"])


BAD_MATRICES = [
    ("- just\n- a list\n", "expected a mapping with a 'cells' list"),
    ("cells: [\n", "not valid YAML"),
    ("defaults: {timeout: 3}\n", "key 'cells': expected a non-empty list of cells"),
    ("cells: []\n", "key 'cells': expected a non-empty list of cells"),
    ("cells:\n  - tf2.15\n", "cell #1 must be a mapping"),
    (
        "cells:\n  - name: a\n    pyhton: '3.11'\n",
        "key 'pyhton': unknown key (did you mean 'python'?)",
    ),
    (
        "cells:\n  - name: a\n  - name: a\n",
        ":3: cell 'a': key 'name': duplicate cell name",
    ),
    ("cells:\n  - name: 'a b'\n", "may hold only letters, digits"),
    ("cells:\n  - name: a\n    tensorflow: 'two'\n", "key 'tensorflow': 'two' is not a version"),
    (
        "cells:\n  - name: a\n    packages: ['numpy<<2']\n",
        "key 'packages': 'numpy<<2' is not a valid",
    ),
    ("cells:\n  - name: a\n    env: {1X: '1'}\n", "key 'env.1X': '1X' is not a valid environment"),
    ("cells:\n  - name: a\n    timeout: soon\n", "key 'timeout': expected a positive number"),
    ("cells:\n  - name: a\n    timeout: -3\n", "key 'timeout': expected a positive number"),
    ("cells:\n  - name: a\n    backend: theano\n", "key 'backend': unknown backend 'theano'"),
]


@pytest.mark.parametrize(("text", "message"), BAD_MATRICES)
def test_every_matrix_mistake_is_a_usage_error_with_its_place(
    pytester: pytest.Pytester, text: str, message: str
) -> None:
    pytester.makefile(".yaml", matrix=text)
    result = pytester.runpytest("--keras-matrix")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: *matrix.yaml*{message}*"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
