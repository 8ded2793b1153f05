"""``python -m pytest_kerascompat scan``: finding changed Keras APIs in code without running it.

The sample files under ``tests/resources/scan/`` mark each line that must be reported
with a comment ``# expect: <rule>``; a test compares the findings with those marks, so a
missing finding and an extra one both fail.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from pytest_kerascompat.commands.cli import main
from pytest_kerascompat.commands.scan import (
    Finding,
    ScanReport,
    rule_names,
    scan_paths,
    select_rules,
)
from pytest_kerascompat.commands.scan.output import escape_data, escape_property
from pytest_kerascompat.commands.scan.sources import without_ipython
from pytest_kerascompat.model.changes import KNOWN_CHANGES

from .conftest import RESOURCES

SAMPLES = RESOURCES / "scan"
LEGACY = SAMPLES / "legacy_training.py"
MODERN = SAMPLES / "modern_training.py"
OWN_TRAINER = SAMPLES / "own_trainer.py"
SUPPRESSED = SAMPLES / "suppressed.py"
NOTEBOOK = SAMPLES / "notebook.ipynb"
EXPECT = re.compile(r"expect: (\w+)( \(unsure\))?")
HINTS = {change.api: change.hint for change in KNOWN_CHANGES}
# Before Python 3.10 an imported name has no position of its own: the statement's is used.
IMPORT_COLUMN = 39 if sys.version_info >= (3, 10) else 1


def scan(*paths: Path | str, select: list[str] | None = None) -> ScanReport:
    return scan_paths([str(path) for path in paths], select_rules(select))


def found(report: ScanReport) -> set[tuple[int, str]]:
    return {(finding.line, finding.rule) for finding in report.findings}


def expected(path: Path) -> set[tuple[int, str]]:
    """The ``# expect: rule`` marks of a sample file, as ``(line, rule)``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return {
        (number, mark.group(1))
        for number, line in enumerate(lines, start=1)
        for mark in EXPECT.finditer(line)
    }


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def only(report: ScanReport) -> Finding:
    assert len(report.findings) == 1, report.findings
    return report.findings[0]


# --- what is reported --------------------------------------------------------------------


def test_it_reports_every_marked_use_in_legacy_training_code_and_nothing_else() -> None:
    report = scan(LEGACY)
    assert found(report) == expected(LEGACY)
    assert len(report.findings) == len(expected(LEGACY)), "one finding per marked line"
    assert report.skipped == []


def test_the_samples_exercise_every_rule_of_the_table() -> None:
    rules = {finding.rule for finding in scan(SAMPLES, select=["ALL"]).findings}
    assert rules == set(rule_names())


def test_it_reports_nothing_in_code_that_only_mentions_changed_apis() -> None:
    text = MODERN.read_text(encoding="utf-8")
    assert '"call model.fit_generator(gen)' in text, "a string that mentions it"
    assert "# model.fit_generator(batches(4))" in text, "a comment that mentions it"
    assert "A docstring that says model.fit_generator(gen)" in text
    report = scan(MODERN)
    assert report.findings == []
    assert report.exit_status == 0


def test_each_finding_carries_the_fix_and_ranges_of_the_table() -> None:
    for finding in scan(SAMPLES, select=["ALL"]).findings:
        change = next(change for change in KNOWN_CHANGES if change.api == finding.rule)
        assert finding.fix == change.hint
        assert (finding.breaks, finding.warns) == (change.breaks, change.warns)


def test_every_rule_has_a_version_range_that_parses_as_a_requirement() -> None:
    for change in KNOWN_CHANGES:
        if change.rule is None:
            continue
        ranges = [text for text in (change.breaks, change.warns) if text]
        assert ranges, change.api
        for text in ranges:
            assert Requirement(text).name in ("keras", "tensorflow"), text


def test_it_points_at_the_method_name_with_columns_counted_in_characters_from_one(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "train.py", 'label = "café"; model.fit_generator(gen)\n')
    finding = only(scan(path))
    line = path.read_text(encoding="utf-8").splitlines()[0]
    assert (finding.line, finding.column) == (1, line.index("fit_generator") + 1)


def test_it_names_every_forbidden_keyword_of_a_fit_call_in_one_finding() -> None:
    [finding] = [f for f in scan(LEGACY).findings if f.line == 44]
    assert finding.rule == "fit_workers"
    assert finding.message == "model.fit() is called with workers=, use_multiprocessing="


def test_a_method_of_the_users_own_class_is_reported_plainly() -> None:
    findings = {finding.line: finding for finding in scan(OWN_TRAINER).findings}
    assert set(findings) == {line for line, _ in expected(OWN_TRAINER)}
    unsure = findings[23]
    assert not unsure.confident
    assert unsure.message == (
        "a method called fit_generator() (Trainer in this file has one and is not a Keras "
        "model): if trainer is a Keras model, this breaks"
    )
    assert findings[18].confident, "self in a keras.Model subclass"
    assert findings[25].confident, "bound to keras.models.load_model(...)"


@pytest.mark.parametrize(
    ("code", "reported"),
    [
        ("from keras.preprocessing.image import ImageDataGenerator\n", True),
        ("import keras\nkeras.preprocessing.image.ImageDataGenerator()\n", True),
        ("from keras.preprocessing import image\nimage.ImageDataGenerator()\n", True),
        ("import keras.preprocessing.image as kimage\nkimage.ImageDataGenerator()\n", True),
        ("from tensorflow.keras.preprocessing.image import ImageDataGenerator\n", False),
        ("import tensorflow as tf\ntf.keras.preprocessing.image.ImageDataGenerator()\n", False),
        ("from tensorflow import keras\nkeras.preprocessing.image.ImageDataGenerator()\n", False),
        ("ImageDataGenerator = object\nImageDataGenerator()\n", False),
    ],
)
def test_it_tells_standalone_keras_image_data_generator_from_tf_keras(
    tmp_path: Path, code: str, reported: bool
) -> None:
    report = scan(write(tmp_path, "images.py", code))
    assert [f.rule for f in report.findings] == (["image_data_generator"] if reported else [])


@pytest.mark.parametrize(
    ("code", "reported"),
    [
        ("from keras.utils import Sequence\nclass B(Sequence):\n"
         "    def __init__(self):\n        self.n = 1\n", True),
        ("import tensorflow as tf\nclass B(tf.keras.utils.PyDataset):\n"
         "    def __init__(self):\n        self.n = 1\n", True),
        ("from typing import Sequence\nclass B(Sequence):\n"
         "    def __init__(self):\n        self.n = 1\n", False),
        ("from keras.utils import Sequence\nclass B(Sequence):\n"
         "    def __init__(self):\n        super(B, self).__init__()\n", False),
        ("from keras.utils import Sequence\nclass B(Sequence):\n"
         "    def __len__(self):\n        return 1\n", False),
    ],
)  # fmt: skip
def test_it_reports_a_keras_dataset_whose_init_skips_the_base_init(
    tmp_path: Path, code: str, reported: bool
) -> None:
    report = scan(write(tmp_path, "data.py", code))
    assert [(f.rule, f.line) for f in report.findings] == (
        [("sequence_super_init", 3)] if reported else []
    )


INIT_SKIPS = "    def __init__(self):\n        self.n = 1\n"
INIT_CALLS = "    def __init__(self):\n        super().__init__()\n"
BASE_SKIPS = "import keras\nclass BaseBatches(keras.utils.Sequence):\n" + INIT_SKIPS
BASE_CALLS = "import keras\nclass BaseBatches(keras.utils.Sequence):\n" + INIT_CALLS
BASE_NO_INIT = "from keras.utils import PyDataset\nclass BaseBatches(PyDataset):\n    pass\n"
SUB_CALLS = "from mylib.base import BaseBatches\nclass Batches(BaseBatches):\n" + INIT_CALLS
SUB_SKIPS = "from mylib.base import BaseBatches\nclass Batches(BaseBatches):\n" + INIT_SKIPS
SUB_RELATIVE = (
    "from .base import BaseBatches\nclass Mid(BaseBatches):\n    pass\n"
    "class Batches(Mid):\n" + INIT_SKIPS
)
SUB_OTHER = "from other.base import BaseBatches\nclass Batches(BaseBatches):\n" + INIT_SKIPS


@pytest.mark.parametrize(
    ("base", "sub", "expected"),
    [
        # The subclass calls super().__init__(), which stops at the base in the other file.
        (BASE_SKIPS, SUB_CALLS, [("base.py", 3), ("data.py", 3)]),
        # The subclass skips it; its base, a Keras dataset in the other file, is fine.
        (BASE_CALLS, SUB_SKIPS, [("data.py", 3)]),
        (BASE_NO_INIT, SUB_SKIPS, [("data.py", 3)]),
        (BASE_NO_INIT, SUB_RELATIVE, [("data.py", 5)]),
        # Every __init__ on the way reaches Keras's, or the base is not the scanned one.
        (BASE_CALLS, SUB_CALLS, []),
        (BASE_NO_INIT, SUB_CALLS, []),
        (BASE_CALLS, SUB_OTHER, []),
    ],
)  # fmt: skip
def test_it_follows_a_datasets_base_into_another_scanned_file(
    tmp_path: Path, base: str, sub: str, expected: list[tuple[str, int]]
) -> None:
    write(tmp_path, "mylib/base.py", base)
    write(tmp_path, "mylib/data.py", sub)
    report = scan(tmp_path / "mylib")
    found = [(Path(f.path).name, f.line) for f in report.findings]
    assert sorted(found) == expected
    assert {f.rule for f in report.findings} <= {"sequence_super_init"}


def test_a_cross_file_finding_names_the_base_that_breaks_the_chain(tmp_path: Path) -> None:
    write(tmp_path, "mylib/base.py", BASE_SKIPS)
    write(tmp_path, "mylib/data.py", SUB_CALLS)
    (finding,) = [f for f in scan(tmp_path).findings if f.path.endswith("data.py")]
    assert "Batches.__init__ (BaseBatches subclass" in finding.message
    assert "but BaseBatches.__init__ (" in finding.message
    assert "base.py) does not" in finding.message


GENERATOR = "def gen():\n    yield 1\n"


@pytest.mark.parametrize(
    ("code", "reported"),
    [
        (GENERATOR + "model.fit(x=gen(), class_weight={0: 1})\n", True),
        (GENERATOR + "def train(model):\n    data = gen()\n"
         "    model.fit(data, class_weight={0: 1})\n", True),
        (GENERATOR + "def train(model, ok):\n    data = gen()\n    if ok:\n"
         "        data = load()\n    model.fit(data, class_weight={0: 1})\n", False),
        (GENERATOR + "def train(model, data):\n    model.fit(data, class_weight={0: 1})\n",
         False),
        (GENERATOR + "class Loader:\n    def gen(self):\n        return []\n"
         "model.fit(gen(), class_weight={0: 1})\n", False),
        (GENERATOR + "model.fit(gen(), steps_per_epoch=2)\n", False),
        ("def gen():\n    return [1]\nmodel.fit(gen(), class_weight={0: 1})\n", False),
    ],
)  # fmt: skip
def test_it_reports_class_weight_with_a_generator_only_when_sure(
    tmp_path: Path, code: str, reported: bool
) -> None:
    report = scan(write(tmp_path, "fit.py", code))
    assert [f.rule for f in report.findings] == (["class_weight_generator"] if reported else [])


@pytest.mark.parametrize(
    ("code", "reported"),
    [
        ("from keras.optimizers import Adam\nAdam(lr=0.1)\n", True),
        ("from tensorflow import keras\nkeras.optimizers.SGD(lr=0.1)\n", True),
        ("from keras.optimizers import Adam\nAdam(learning_rate=0.1)\n", False),
        ("import torch\ntorch.optim.Adam(params, lr=0.1)\n", False),
        ("from torch.optim import Adam\nAdam(params, lr=0.1)\n", False),
    ],
)
def test_it_reports_lr_only_on_keras_optimizers(tmp_path: Path, code: str, reported: bool) -> None:
    report = scan(write(tmp_path, "optimizer.py", code))
    assert [f.rule for f in report.findings] == (["optimizer_lr"] if reported else [])


@pytest.mark.parametrize(
    ("arguments", "reported"),
    [
        ("batches, types", True),
        ("batches, types, *rest", True),
        ("*args, types", False),
        ("batches, *rest", False),
        ("*args", False),
    ],
)
def test_a_positional_output_types_is_reported_only_when_no_star_argument_comes_before(
    tmp_path: Path, arguments: str, reported: bool
) -> None:
    """After ``*args`` nobody knows which position an argument lands in."""
    code = f"import tensorflow as tf\ntf.data.Dataset.from_generator({arguments})\n"
    report = scan(write(tmp_path, "data.py", code))
    assert [f.rule for f in report.findings] == (
        ["from_generator_output_types"] if reported else []
    )


def test_it_honours_suppression_comments_for_every_rule_or_named_ones() -> None:
    report = scan(SUPPRESSED)
    assert found(report) == expected(SUPPRESSED)
    assert (9, "fit_generator") in found(report), "ignore[fit_workers] keeps fit_generator"
    assert (11, "evaluate_generator") in found(report), "the marker in a string does nothing"


def test_rules_can_be_selected_and_ignored_and_some_run_only_when_selected(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "data.py",
        "model.fit_generator(g)\ntf.data.Dataset.from_generator(g, output_signature=s)\n",
    )
    assert found(scan(path)) == {(1, "fit_generator")}
    assert found(scan(path, select=["tf_data_from_generator"])) == {(2, "tf_data_from_generator")}
    assert found(scan(path, select=["ALL"])) == {
        (1, "fit_generator"),
        (2, "tf_data_from_generator"),
    }
    assert found(scan_paths([str(path)], select_rules(ignore=["fit_generator"]))) == set()


# --- notebooks ----------------------------------------------------------------------------


def test_it_reports_notebook_findings_by_cell_and_line_through_magics() -> None:
    report = scan(NOTEBOOK)
    assert report.skipped == []
    assert [(f.cell, f.line, f.column, f.rule) for f in report.findings] == [
        (2, 5, IMPORT_COLUMN, "image_data_generator"),
        (5, 4, 7, "fit_generator"),
        (6, 5, 42, "class_weight_generator"),
    ]


def test_a_notebook_cell_that_does_not_parse_is_skipped_and_the_others_scanned(
    tmp_path: Path,
) -> None:
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    notebook["cells"].insert(2, {"cell_type": "code", "source": ["def broken(:\n"]})
    path = write(tmp_path, "broken.ipynb", json.dumps(notebook))
    report = scan(path)
    assert [(s.cell, s.reason.split(":")[0]) for s in report.skipped] == [(3, "cannot parse")]
    assert [(f.cell, f.rule) for f in report.findings] == [
        (2, "image_data_generator"),
        (6, "fit_generator"),
        (7, "class_weight_generator"),
    ]


def test_ipython_lines_become_pass_and_python_is_left_alone() -> None:
    cleaned = without_ipython("%matplotlib inline\nfor f in files:\n    !cp {f} d\nx = !ls\nx?")
    assert (
        cleaned
        == "pass  # matplotlib inline\nfor f in files:\n    pass  # cp {f} d\npass  # ls\npass  # "
    )
    assert without_ipython("y = (a\n% b)") == "y = (a\n% b)", "a modulo, not a magic"
    assert without_ipython("%%bash\nls") is None
    assert without_ipython("%%time\nfit()") == "\nfit()"


# --- files that cannot be read -------------------------------------------------------------


def test_a_file_that_does_not_parse_is_reported_and_skipped_and_the_rest_scanned(
    tmp_path: Path,
) -> None:
    shutil.copy(LEGACY, tmp_path / "legacy.py")
    write(tmp_path, "broken.py", "def broken(:\n    model.fit_generator(g)\n")
    write(tmp_path, "bad.ipynb", "{not json")
    (tmp_path / "latin1.py").write_bytes(b'name = "caf\xe9"\nmodel.fit_generator(g)\n')
    report = scan(tmp_path)
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert set(reasons) == {"broken.py", "bad.ipynb", "latin1.py"}
    assert reasons["broken.py"].startswith("cannot parse: SyntaxError")
    assert "(line 1)" in reasons["broken.py"]
    assert reasons["bad.ipynb"].startswith("not a readable notebook")
    assert reasons["latin1.py"].startswith("cannot read")
    assert found(report) == expected(LEGACY)
    assert report.files == 4


def test_a_notebook_of_another_language_is_skipped_with_the_language_named(
    tmp_path: Path,
) -> None:
    notebook = {"cells": [], "metadata": {"kernelspec": {"language": "R"}}, "nbformat": 4}
    report = scan(write(tmp_path, "analysis.ipynb", json.dumps(notebook)))
    assert [s.reason for s in report.skipped] == ["a r notebook, not Python"]


# --- which files ---------------------------------------------------------------------------


def test_directories_are_walked_without_hidden_dirs_caches_and_virtual_environments(
    tmp_path: Path,
) -> None:
    use = "model.fit_generator(g)\n"
    write(tmp_path, "src/train.py", use)
    write(tmp_path, "src/deep/more.py", use)
    shutil.copy(NOTEBOOK, tmp_path / "src" / "notebook.ipynb")
    write(tmp_path, "src/notes.txt", use)
    for skipped in (".venv/lib.py", ".nox/s/x.py", "src/__pycache__/x.py", "node_modules/x.py",
                    "lib/site-packages/x.py", "env/lib.py"):  # fmt: skip
        write(tmp_path, skipped, use)
    write(tmp_path, "env/pyvenv.cfg", "home = /usr/bin\n")
    report = scan(tmp_path)
    paths = sorted({Path(f.path).relative_to(tmp_path).as_posix() for f in report.findings})
    assert paths == ["src/deep/more.py", "src/notebook.ipynb", "src/train.py"]


def test_a_file_named_explicitly_is_scanned_whatever_its_suffix_and_once(tmp_path: Path) -> None:
    script = write(tmp_path, "train", "#!/usr/bin/env python\nmodel.fit_generator(g)\n")
    report = scan(script, script, tmp_path)
    assert [(Path(f.path).name, f.line) for f in report.findings] == [("train", 2)]


# --- the command ---------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["scan", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_the_text_format_is_one_line_per_finding_like_ruff(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(capsys, str(SUPPRESSED))
    lines = out.splitlines()
    assert status == 1
    assert lines[0] == (
        f"{SUPPRESSED}:9:11: fit_generator model.fit_generator() is called "
        f"[warns tensorflow>=2.1,<2.16; breaks keras>=3] fix: {HINTS['fit_generator']}"
    )
    assert lines[-1] == "Found 3 uses (3 errors, 0 warnings) in 1 file."
    status, out, _ = run(capsys, str(NOTEBOOK))
    assert out.splitlines()[1].startswith(f"{NOTEBOOK}:cell 5:4:7: fit_generator ")


def test_a_clean_scan_exits_0_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, str(MODERN))
    assert (status, out, err) == (0, "No uses of changed Keras APIs in 1 file.\n", "")


def test_files_not_scanned_go_to_stderr_and_do_not_fail_the_scan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "broken.py", "def broken(:\n")
    status, out, err = run(capsys, str(tmp_path))
    assert status == 0
    assert err.startswith(f"{tmp_path / 'broken.py'}: not scanned: cannot parse: SyntaxError")
    assert out == "No uses of changed Keras APIs in 1 file; 1 not scanned (see above).\n"


def test_the_json_format_holds_every_field_of_every_finding(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(capsys, "--format", "json", str(NOTEBOOK), str(OWN_TRAINER))
    data = json.loads(out)
    assert status == 1
    assert (data["schema_version"], data["files"], data["skipped"]) == (1, 2, [])
    assert data["findings"][0] == {
        "path": str(NOTEBOOK),
        "cell": 2,
        "line": 5,
        "column": IMPORT_COLUMN,
        "rule": "image_data_generator",
        "severity": "error",
        "confidence": "high",
        "message": "keras.preprocessing.image.ImageDataGenerator is imported",
        "breaks": "keras>=3",
        "warns": None,
        "fix": HINTS["image_data_generator"],
    }
    confidences = [f["confidence"] for f in data["findings"] if f["path"] == str(OWN_TRAINER)]
    assert confidences == ["high", "low", "high"]


def test_the_github_format_annotates_breaks_as_errors_and_warnings_as_warnings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(capsys, "--format", "github", str(LEGACY), str(NOTEBOOK))
    lines = out.splitlines()
    assert status == 1
    assert len(lines) == len(expected(LEGACY)) + 3
    path = str(LEGACY).replace(":", "%3A").replace(",", "%2C")
    assert (
        f"::error file={path},line=38,col=11,title=kerascompat fit_generator::"
        + (
            "model.fit_generator() is called [warns tensorflow>=2.1,<2.16; breaks keras>=3] "
            f"fix: {HINTS['fit_generator']}"
        )
        in lines
    )
    assert sum(line.startswith("::warning ") for line in lines) == 4, "the warns-only rules"
    notebook = [line for line in lines if "notebook.ipynb" in line]
    assert notebook[1].startswith("::error file=")
    assert "line=" not in notebook[1].split("::")[1], "notebook lines mean nothing to GitHub"
    assert notebook[1].split("::", 2)[2].startswith("cell 5, line 4: model.fit_generator()")


def test_github_commands_escape_data_and_properties() -> None:
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("a,b:c%\n") == "a%2Cb%3Ac%25%0A"


def test_github_annotations_escape_a_path_with_a_comma_and_colon(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "a,b:c.py", "model.fit_generator(g)\n")
    _, out, _ = run(capsys, "--format", "github", str(path))
    escaped = str(path).replace(":", "%3A").replace(",", "%2C")
    assert out.startswith(f"::error file={escaped},line=1,col=7,")


def test_a_missing_path_is_a_usage_error_without_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run(capsys, str(SAMPLES), "no/such/file.py")
    assert (status, out) == (2, "")
    assert err == "error: no such file or directory: no/such/file.py\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--select", "fit_generater", "x.py"], "unknown rule fit_generater (known: "),
        (["--ignore", "nope", "x.py"], "unknown rule nope"),
        (["--format", "xml", "x.py"], "invalid choice: 'xml'"),
        ([], "the following arguments are required: PATH"),
    ],
)
def test_bad_options_are_usage_errors(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["scan", *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_the_module_entry_point_runs_the_scan() -> None:
    done = subprocess.run(  # noqa: S603 - an argument list, never a shell
        [sys.executable, "-m", "pytest_kerascompat", "scan", "--select", "predict_classes",
         str(LEGACY)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines()[0].startswith(f"{LEGACY}:41:11: predict_classes ")


def test_the_readme_rules_table_gives_every_rule_with_the_ranges_of_the_table() -> None:
    readme = (RESOURCES.parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Scanning code without running it", 1)[1].split("\n## ", 1)[0]
    row = r"^\| `(\w+)` \|.*\|\s*(`[^`]+`)?\s*\|\s*(`[^`]+`)?\s*\|$"
    rows = re.findall(row, section, re.MULTILINE)
    documented = {rule: (warns.strip("`") or None, breaks.strip("`") or None)
                  for rule, warns, breaks in rows}  # fmt: skip
    changes = {c.api: (c.warns, c.breaks) for c in KNOWN_CHANGES if c.rule is not None}
    assert documented == changes


def test_the_pre_commit_hook_runs_the_scan_on_python_and_notebooks() -> None:
    hooks = yaml.safe_load((RESOURCES.parent.parent / ".pre-commit-hooks.yaml").read_text())
    [hook] = hooks
    assert hook["id"] == "kerascompat-scan"
    assert hook["entry"] == "python -m pytest_kerascompat scan"
    assert hook["language"] == "python"
    assert hook["types_or"] == ["python", "jupyter"]
