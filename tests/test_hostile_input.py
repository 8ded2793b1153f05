"""Hostile or broken input is a usage error, found fast and in little memory (issue 13)."""

from __future__ import annotations

import ast
import json
import os
import resource
import stat
import textwrap
import time
from pathlib import Path

import pytest

from pytest_kerascompat.commands.cli import main
from pytest_kerascompat.commands.scan import scan_paths
from pytest_kerascompat.commands.scan.sources import MAX_TREE_DEPTH, tree_depth
from pytest_kerascompat.config.matrix import (
    MAX_MATRIX_BYTES,
    MatrixError,
    load_matrix,
    parse_matrix,
)
from pytest_kerascompat.model.results import CellReport, Outcome, Report, Result

ALIAS_BOMB = """\
a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
cells:
  - name: x
    packages: *h
"""


def matrix_error(text: str) -> MatrixError:
    with pytest.raises(MatrixError) as caught:
        parse_matrix(textwrap.dedent(text), Path("matrix.yaml"))
    return caught.value


def peak_memory_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def test_an_alias_bomb_is_a_usage_error_in_milliseconds_and_little_memory(
    tmp_path: Path,
) -> None:
    path = tmp_path / "matrix.yaml"
    path.write_text(ALIAS_BOMB)
    before, started = peak_memory_kib(), time.monotonic()
    with pytest.raises(MatrixError) as caught:
        load_matrix(path)
    assert time.monotonic() - started < 1.0
    assert peak_memory_kib() - before < 50 * 1024
    assert "aliases expand to more than 10,000 values" in str(caught.value)
    assert str(path) in str(caught.value)


def test_ci_matrix_refuses_an_alias_bomb_as_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "matrix.yaml"
    path.write_text(ALIAS_BOMB)
    assert main(["ci-matrix", "--matrix-file", str(path)]) == 2
    assert "alias bomb" in capsys.readouterr().err


def test_aliases_within_the_bound_still_work() -> None:
    matrix = parse_matrix(
        textwrap.dedent("""\
            defaults:
              packages: &common ["numpy<2", "pandas"]
            cells:
              - {name: a, tensorflow: "2.15", packages: *common}
              - {name: b, tensorflow: "2.16", packages: *common}
        """),
        Path("matrix.yaml"),
    )
    assert matrix.cells[1].packages == ("numpy<2", "pandas", "numpy<2", "pandas")


def test_a_matrix_file_beyond_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "matrix.yaml"
    path.write_text("cells:\n  - name: a\n" + "#" * MAX_MATRIX_BYTES)
    with pytest.raises(MatrixError, match="larger than 1024 KiB"):
        load_matrix(path)


def test_nesting_beyond_the_bound_is_a_usage_error_not_a_recursion_error() -> None:
    error = matrix_error("cells: " + "[" * 5000 + "]" * 5000)
    assert "nested more than 50 levels deep" in str(error)


def test_a_merge_key_with_an_override_works() -> None:
    matrix = parse_matrix(
        textwrap.dedent("""\
            cells:
              - &base
                name: a
                tensorflow: "2.15"
                env: {A: "1"}
              - <<: *base
                name: b
                tensorflow: "2.16"
        """),
        Path("matrix.yaml"),
    )
    assert [(cell.name, cell.tensorflow, cell.env) for cell in matrix.cells] == [
        ("a", "tensorflow==2.15.*", (("A", "1"),)),
        ("b", "tensorflow==2.16.*", (("A", "1"),)),
    ]


def test_a_key_written_twice_beside_a_merge_key_is_still_a_duplicate() -> None:
    error = matrix_error("""\
        base: &base {name: a}
        cells:
          - <<: *base
            name: b
            name: c
    """)
    assert "duplicate key 'name'" in str(error)


@pytest.mark.parametrize("name", ["-p", "--co", ".", "..", "-"])
def test_a_cell_name_cannot_start_like_an_option_or_a_directory(name: str) -> None:
    error = matrix_error(f"cells:\n  - name: '{name}'\n")
    assert "starts with a letter or digit" in str(error)
    assert error.key == "name"


def test_a_cell_name_is_limited_to_a_length_every_file_name_built_from_it_fits() -> None:
    matrix_error_text = str(matrix_error(f"cells:\n  - name: {'a' * 101}\n"))
    assert "at most 100 characters (this one has 101)" in matrix_error_text
    longest = parse_matrix(f"cells:\n  - name: {'a' * 100}\n", Path("matrix.yaml"))
    assert len(f".{longest.cells[0].name}.jsonl.abcdefgh.tmp".encode()) < 255
    assert len(f"{longest.cells[0].name}.coverage.{'h' * 64}.4194304.123456".encode()) < 255


def test_a_product_generating_too_long_a_name_is_refused() -> None:
    error = matrix_error(f"""\
        cells:
          - name: {"n" * 95}
            tensorflow: ["2.15", "2.16"]
    """)
    assert "at most 100 characters" in str(error)


# ------------------------------------------------------------------------------ merge


def write_shard(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def good_shard() -> dict[str, object]:
    return Report(
        cells=[CellReport(name="a", python="3.11", tensorflow="2.15.1")],
        results=[Result(cell="a", test="t.py::test", outcome=Outcome.PASSED)],
    ).to_dict()


def merge_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], data: object) -> str:
    shard = write_shard(tmp_path / "shard.json", data)
    assert main(["merge", str(shard), "--json", str(tmp_path / "out.json")]) == 2
    assert not (tmp_path / "out.json").exists()
    error = capsys.readouterr().err
    assert error.startswith(f"error: {shard}: ")
    return error


def test_a_result_for_a_cell_the_shard_does_not_declare_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = good_shard()
    data["results"][0]["cell"] = "ghost"  # type: ignore[index]
    error = merge_error(tmp_path, capsys, data)
    assert "results[0].cell: 'ghost' is not one of the report's cells" in error


@pytest.mark.parametrize(
    ("where", "value", "expected"),
    [
        (("cells", 0, "status"), "fine", "cells[0].status: expected one of ok, "),
        (("cells", 0, "env"), {"A": 1}, "cells[0].env: expected an object of strings"),
        (("cells", 0, "requirements"), "tensorflow", "cells[0].requirements: expected a list"),
        (("results", 0, "outcome"), "won", "results[0].outcome: expected one of passed"),
        (("results", 0, "duration"), "slow", "results[0].duration: expected a number or null"),
        (("results", 0, "probe"), "no", "results[0].probe: expected true or false"),
        (("results", 0), "t.py::test", "results[0]: expected an object"),
        (("cells", 0, "name"), "-p", "cells[0].name: a cell name may hold only"),
    ],
)
def test_a_field_of_the_wrong_type_is_a_usage_error_naming_it(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    where: tuple[object, ...],
    value: object,
    expected: str,
) -> None:
    data: object = good_shard()
    parent = data
    for step in where[:-1]:
        parent = parent[step]  # type: ignore[index]
    parent[where[-1]] = value  # type: ignore[index]
    assert expected in merge_error(tmp_path, capsys, data)


def test_a_shard_nested_too_deeply_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = good_shard()
    deep: object = []
    for _ in range(40):
        deep = [deep]
    data["run"] = {"started": "now", "selection": {"args": deep}}
    assert "nested more than 32 levels deep" in merge_error(tmp_path, capsys, data)
    text = '{"cells": [], "results": [], "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    assert "not a JSON report (nested too deeply)" in merge_error(tmp_path, capsys, text)


def test_cells_that_differ_in_requirements_or_env_do_not_merge(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = good_shard(), good_shard()
    second["cells"][0]["env"] = {"TF_USE_LEGACY_KERAS": "1"}  # type: ignore[index]
    paths = [write_shard(tmp_path / name, data) for name, data in
             (("1.json", first), ("2.json", second))]  # fmt: skip
    assert main(["merge", *map(str, paths)]) == 2
    assert "cell 'a' differs between" in capsys.readouterr().err
    second = good_shard()
    second["cells"][0]["requirements"] = ["tensorflow==2.15.*", "numpy<2"]  # type: ignore[index]
    write_shard(paths[1], second)
    assert main(["merge", *map(str, paths)]) == 2
    assert "requirements tensorflow==2.15.*, numpy<2" in capsys.readouterr().err


def test_a_well_formed_shard_still_merges(tmp_path: Path) -> None:
    shard = write_shard(tmp_path / "shard.json", good_shard())
    assert main(["merge", str(shard), "--json", str(tmp_path / "out.json")]) == 0
    assert Report.read_json(tmp_path / "out.json").cells[0].name == "a"


# ------------------------------------------------------------------------------ scan


@pytest.mark.parametrize(
    "source",
    [
        "import keras\nx = " + " + ".join(["a"] * 5000) + "\n",
        "import tensorflow as tf\nx = tf.keras." + ".".join(["b"] * 2500) + "()\n",
    ],
    ids=["5000-term-sum", "2500-attribute-chain"],
)
def test_scan_reports_an_expression_too_deep_to_analyse_as_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str
) -> None:
    deep = tmp_path / "deep.py"
    deep.write_text(source)
    found = tmp_path / "found.py"
    found.write_text("import tensorflow as tf\ntf.keras.layers.Dense(2).get_weights\n")
    assert main(["scan", "--format", "json", str(deep), str(found)]) in (0, 1)
    report = json.loads(capsys.readouterr().out)
    assert report["skipped"] == [
        {"path": str(deep), "reason": "too deeply nested to analyse (more than 400 levels)",
         "cell": None}
    ]  # fmt: skip


def test_scan_analyses_the_deepest_tree_it_allows(tmp_path: Path) -> None:
    chain = "import tensorflow as tf\nx = tf.keras." + ".".join(["b"] * 380) + "()\n"
    path = tmp_path / "chain.py"
    path.write_text(chain)
    assert tree_depth(ast.parse(chain)) <= MAX_TREE_DEPTH
    assert scan_paths([str(path)]).skipped == []


def test_a_notebook_cell_too_deep_to_analyse_is_skipped_alone(tmp_path: Path) -> None:
    cells = [
        {"cell_type": "code", "source": "x = " + " + ".join(["a"] * 3000)},
        {"cell_type": "code", "source": "import tensorflow as tf\n"},
    ]
    notebook = tmp_path / "n.ipynb"
    notebook.write_text(json.dumps({"cells": cells, "metadata": {}}))
    report = scan_paths([str(notebook)])
    assert [(item.cell, item.reason) for item in report.skipped] == [
        (1, "too deeply nested to analyse (more than 400 levels)")
    ]


# ------------------------------------------------------------------------------ bisect


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--with=--index-url=https://example.invalid"], "--with '--index-url=https://exam"),
        (["--with", "numpy<2; nonsense"], "--with 'numpy<2; nonsense' is not a requirement"),
        (["--package=-e"], "--package '-e' is not a package name"),
        (["--package", "tensorflow==2.15"], "give versions with --range"),
        (["--python", "three"], "--python 'three' is not a Python version"),
        (["--env", "1A=x"], "--env '1A=x': write it as NAME=VALUE"),
        (["--project", "no/such/dir"], "--project 'no/such/dir': no such directory"),
    ],
)
def test_bisect_checks_every_option_as_the_sweep_does(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["bisect", "--probe", "tf_data", "--cache-dir", str(tmp_path / "c"), *options]
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert message in error
    assert "Traceback" not in error
    assert not (tmp_path / "c").exists(), "nothing is built before the request is checked"


@pytest.mark.parametrize("timeout", ["-5", "0", "nan", "inf", "soon"])
def test_bisect_refuses_a_timeout_that_is_not_a_positive_number_of_seconds(
    capsys: pytest.CaptureFixture[str], timeout: str
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["bisect", "--probe", "tf_data", f"--timeout={timeout}"])
    assert caught.value.code == 2
    assert f"expected a positive number of seconds, not '{timeout}'" in capsys.readouterr().err


def test_bisect_refuses_a_cache_dir_it_cannot_write_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["bisect", "--probe", "tf_data", "--cache-dir", str(blocker / "cache")]) == 2
    error = capsys.readouterr().err
    assert f"--cache-dir {blocker / 'cache'}: cannot create it: Not a directory" in error
    assert "give a directory you can write to" in error


# ------------------------------------------------------------------------------ files


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_files_written_atomically_get_the_mode_the_umask_gives(
    tmp_path: Path, umask: int, mode: int
) -> None:
    from pytest_kerascompat.env._files import write_text_atomically

    previous = os.umask(umask)
    try:
        write_text_atomically(tmp_path / "report.json", "{}")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "report.json").stat().st_mode) == mode


def test_a_directory_that_cannot_take_files_says_why(tmp_path: Path) -> None:
    from pytest_kerascompat.env._files import directory_problem

    blocker = tmp_path / "file"
    blocker.write_text("")
    assert directory_problem(tmp_path / "new" / "deeper") is None
    assert directory_problem(blocker) == "it exists and is not a directory"
    assert directory_problem(blocker / "below") == "cannot create it: Not a directory"
