"""``fix``: each rewrite on sample code (before and after), the support window, the command.

The rewrites are checked as text: what changes, and that comments, spacing and the
code around them stay exactly as written.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import libcst as cst
import pytest
from packaging.version import Version

from pytest_kerascompat.commands.cli import main
from pytest_kerascompat.commands.fix import rewrites
from pytest_kerascompat.commands.fix import verify as verify_module
from pytest_kerascompat.commands.fix.files import FileFix
from pytest_kerascompat.commands.fix.rewrites import REWRITES, SourceFix, fix_source
from pytest_kerascompat.commands.fix.window import Window, support_window, tf_keras_floor
from pytest_kerascompat.commands.scan import select_rules
from pytest_kerascompat.config.matrix import parse_matrix
from pytest_kerascompat.model.changes import KNOWN_CHANGES, KnownChange
from pytest_kerascompat.model.results import CellReport, CellStatus, Outcome, Report, Result

from .test_command_imports import modules_loaded_by


def window(tensorflow: str | None = "2.4", keras: str | None = None) -> Window:
    tf = Version(tensorflow) if tensorflow else None
    floor = Version(keras) if keras else (tf_keras_floor(tf, False) if tf else None)
    return Window(tf, floor)


def fixed(
    text: str,
    tensorflow: str | None = "2.4",
    keras: str | None = None,
    rules: list[KnownChange] | None = None,
) -> SourceFix:
    source = textwrap.dedent(text)
    rules = select_rules() if rules is None else rules
    return fix_source(source, "sample.py", window(tensorflow, keras), rules)


def after(text: str, **kwargs: str | None) -> str:
    return fixed(text, **kwargs).after  # type: ignore[arg-type]


def reasons(result: SourceFix) -> list[str]:
    return [left.reason for left in result.left]


def same(text: str) -> str:
    return textwrap.dedent(text)


# --- fit_generator, evaluate_generator, predict_generator --------------------------------


def test_fit_generator_becomes_fit_with_the_steps_named_and_comments_kept() -> None:
    before = """
        history = model.fit_generator(gen(), 10,  epochs=3)  # train  here
        other( 1,2 )   # untouched
    """
    assert after(before) == same("""
        history = model.fit(gen(), steps_per_epoch=10,  epochs=3)  # train  here
        other( 1,2 )   # untouched
    """)


def test_a_multi_line_fit_generator_call_keeps_its_layout_and_keras_1_keywords_are_renamed() -> (
    None
):
    before = """
        model.fit_generator(
            generator=batches(),  # the data
            steps_per_epoch=5,
            nb_epoch=2,
        )
    """
    assert after(before) == same("""
        model.fit(
            x=batches(),  # the data
            steps_per_epoch=5,
            epochs=2,
        )
    """)


def test_evaluate_and_predict_generator_keep_their_quiet_default() -> None:
    before = """
        loss = model.evaluate_generator(gen(), 3)
        out = model.predict_generator(gen(), steps=3, verbose=1)
    """
    assert after(before) == same("""
        loss = model.evaluate(gen(), steps=3, verbose=0)
        out = model.predict(gen(), steps=3, verbose=1)
    """)


def test_calls_whose_arguments_differ_between_releases_are_left_with_the_reason() -> None:
    before = """
        model.fit_generator(gen(), 5, 2, 0, None, None, 1, 1)
        model.fit_generator(gen(), samples_per_epoch=100)
        model.evaluate_generator(*arguments)
    """
    result = fixed(before)
    assert result.after == result.before
    assert [left.finding.rule for left in result.left] == ["fit_generator"] * 2 + [
        "evaluate_generator"
    ]
    assert "8 positional arguments" in reasons(result)[0]
    assert "counts samples (samples_per_epoch=)" in reasons(result)[1]
    assert "*args or **kwargs" in reasons(result)[2]


def test_a_users_own_fit_generator_method_on_a_plain_class_is_left_alone() -> None:
    before = """
        class Trainer:
            def fit_generator(self, data):
                return data

        trainer = Trainer()
        trainer.fit_generator([1, 2])
    """
    result = fixed(before)
    assert result.after == result.before
    assert not result.fixed
    assert result.left
    assert "not sure this is Keras's" in reasons(result)[0]


def test_fit_generator_is_not_rewritten_below_the_releases_where_fit_takes_generators() -> None:
    result = fixed("model.fit_generator(gen(), 5)\n", tensorflow="1.14")
    assert result.after == result.before
    assert reasons(result) == [
        "fit_generator needs tensorflow>=1.15, and the oldest tensorflow supported is 1.14"
    ]


# --- optimizers ---------------------------------------------------------------------------


def test_lr_becomes_learning_rate_on_keras_optimizers_and_not_on_torch() -> None:
    before = """
        import tensorflow as tf
        import torch

        opt = tf.keras.optimizers.Adam(lr=0.01, beta_1=0.8)  # fast
        other = torch.optim.Adam(params, lr=0.01)
    """
    assert after(before) == same("""
        import tensorflow as tf
        import torch

        opt = tf.keras.optimizers.Adam(learning_rate=0.01, beta_1=0.8)  # fast
        other = torch.optim.Adam(params, lr=0.01)
    """)


def test_a_lowercase_keras_2_optimizer_alias_becomes_its_class() -> None:
    before = """
        import keras
        from keras import optimizers

        opt = keras.optimizers.rmsprop(lr=1e-4)
        other = optimizers.sgd(lr=0.1, momentum=0.9)  # old
    """
    assert after(before) == same("""
        import keras
        from keras import optimizers

        opt = keras.optimizers.RMSprop(learning_rate=1e-4)
        other = optimizers.SGD(learning_rate=0.1, momentum=0.9)  # old
    """)
    result = fixed("from keras.optimizers import adam\nopt = adam(lr=0.1)\n")
    assert result.after == result.before
    assert "imported by its lowercase Keras 2 alias" in reasons(result)[0]


def test_an_optimizer_given_both_spellings_is_left_for_a_person() -> None:
    result = fixed("import keras\nkeras.optimizers.SGD(lr=1, learning_rate=2)\n")
    assert result.after == result.before
    assert "both lr= and learning_rate=" in reasons(result)[0]


# --- predict_classes ----------------------------------------------------------------------


def test_predict_classes_thresholds_a_sigmoid_model_at_one_half() -> None:
    before = """
        model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
        labels = model.predict_classes(x, batch_size=8)  # 0 or 1
    """
    assert after(before) == same("""
        model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
        labels = (model.predict(x, batch_size=8, verbose=0) > 0.5).astype("int32")  # 0 or 1
    """)


def test_predict_classes_takes_the_argmax_of_a_softmax_model() -> None:
    before = """
        model = keras.Sequential([keras.layers.Dense(3, activation='softmax')])
        labels = model.predict_classes(x)
    """
    assert after(before) == same("""
        model = keras.Sequential([keras.layers.Dense(3, activation='softmax')])
        labels = model.predict(x, verbose=0).argmax(axis=-1)
    """)


def test_predict_classes_is_left_when_the_file_does_not_tell_softmax_from_sigmoid() -> None:
    result = fixed("labels = model.predict_classes(x)\n")
    assert result.after == result.before
    assert "neither of softmax and sigmoid" in reasons(result)[0]


# --- ImageDataGenerator ---------------------------------------------------------------------


def test_standalone_image_data_generator_imports_come_from_tf_keras() -> None:
    before = """
        from keras.preprocessing.image import ImageDataGenerator, load_img  # images
        from tensorflow.keras.preprocessing.image import img_to_array
    """
    assert after(before) == same("""
        from tensorflow.keras.preprocessing.image import ImageDataGenerator, load_img  # images
        from tensorflow.keras.preprocessing.image import img_to_array
    """)


def test_a_dotted_image_data_generator_uses_the_files_tensorflow_name() -> None:
    before = """
        import keras
        import tensorflow as tf

        augment = keras.preprocessing.image.ImageDataGenerator(rescale=0.5)
    """
    assert after(before) == same("""
        import keras
        import tensorflow as tf

        augment = tf.keras.preprocessing.image.ImageDataGenerator(rescale=0.5)
    """)
    result = fixed("import keras\nkeras.preprocessing.image.ImageDataGenerator()\n")
    assert result.after == result.before
    assert "does not import tensorflow" in reasons(result)[0]


# --- Dataset.from_generator -----------------------------------------------------------------


def test_output_types_and_shapes_become_one_output_signature() -> None:
    before = """
        import tensorflow as tf

        ds = tf.data.Dataset.from_generator(
            gen, output_types=(tf.float32, tf.int64), output_shapes=((None, 3), ())
        )  # pairs
        one = tf.data.Dataset.from_generator(gen, tf.float32)
        named = tf.data.Dataset.from_generator(gen, output_types={"x": tf.float32})
    """
    lines = after(before).splitlines()
    assert lines[3:9] == [
        "ds = tf.data.Dataset.from_generator(",
        "    gen, output_signature=(",
        "        tf.TensorSpec(shape=(None, 3), dtype=tf.float32),",
        "        tf.TensorSpec(shape=(), dtype=tf.int64),",
        "    )",
        ")  # pairs",
    ]
    single = "tf.TensorSpec(shape=None, dtype=tf.float32)"
    assert lines[9] == f"one = tf.data.Dataset.from_generator(gen, output_signature={single})"
    named = f'{{"x": {single}}}'
    assert lines[10] == f"named = tf.data.Dataset.from_generator(gen, output_signature={named})"


def test_output_signature_is_not_written_for_a_project_that_supports_tensorflow_2_3() -> None:
    before = "import tensorflow as tf\ntf.data.Dataset.from_generator(g, output_types=tf.int32)\n"
    result = fixed(before, tensorflow="2.3")
    assert result.after == result.before
    assert reasons(result) == [
        "from_generator_output_signature needs tensorflow>=2.4, and the oldest tensorflow "
        "supported is 2.3"
    ]


def test_output_types_held_in_a_variable_are_left_as_their_structure_is_unknown() -> None:
    before = "import tensorflow as tf\ntf.data.Dataset.from_generator(g, output_types=types)\n"
    result = fixed(before)
    assert result.after == result.before
    assert "output_types=types is not written out" in reasons(result)[0]


# --- Sequence / PyDataset -------------------------------------------------------------------


def test_a_sequence_init_gains_kwargs_and_calls_super_after_its_docstring() -> None:
    before = '''
        from tensorflow import keras

        class Batches(keras.utils.Sequence):
            def __init__(self, x, batch_size=2):  # keep
                """Batches of x."""
                self.x = x

        class Other(keras.utils.PyDataset):
            def __init__(self, x, **options):
                self.x = x
    '''
    assert after(before) == same('''
        from tensorflow import keras

        class Batches(keras.utils.Sequence):
            def __init__(self, x, batch_size=2, **kwargs):  # keep
                """Batches of x."""
                super().__init__(**kwargs)
                self.x = x

        class Other(keras.utils.PyDataset):
            def __init__(self, x, **options):
                super().__init__(**options)
                self.x = x
    ''')


def test_a_sequence_whose_base_is_the_files_own_class_is_left() -> None:
    before = """
        from tensorflow import keras

        class Base(keras.utils.Sequence):
            def __init__(self, x):
                super().__init__()
                self.x = x

        class Child(Base):
            def __init__(self, x, y):
                self.y = y
    """
    result = fixed(before)
    assert result.after == result.before
    assert "derives from Base, a class of this file" in reasons(result)[0]


# --- workers= and friends -------------------------------------------------------------------


def test_default_workers_arguments_are_dropped_in_every_release() -> None:
    before = """
        model.fit(data, epochs=1, workers=1, use_multiprocessing=False)  # serial
        model.fit(
            data,
            max_queue_size=10,
        )
    """
    assert after(before) == same("""
        model.fit(data, epochs=1)  # serial
        model.fit(
            data,
        )
    """)


SEQUENCE_FIT = """
    from tensorflow import keras

    class Batches(keras.utils.Sequence):
        def __init__(self, x):
            self.x = x

    data = Batches(x)
    model.fit(data, epochs=1, workers=4, use_multiprocessing=True)
    model.fit(other, workers=4)
"""


def test_workers_stay_on_fit_with_a_note_while_keras_2_is_supported() -> None:
    result = fixed(SEQUENCE_FIT)
    assert "model.fit(data, epochs=1, workers=4, use_multiprocessing=True)" in result.after
    notes = {left.finding.line: left.reason for left in result.left}
    assert notes[9] == ("fit_workers_move needs keras>=3, and the oldest keras supported is 2.4")
    assert "not a Sequence/PyDataset this file defines" in notes[10]


def test_workers_move_to_the_sequence_constructor_when_only_keras_3_is_supported() -> None:
    result = fixed(SEQUENCE_FIT, tensorflow="2.16")
    assert result.after == same("""
        from tensorflow import keras

        class Batches(keras.utils.Sequence):
            def __init__(self, x, **kwargs):
                super().__init__(**kwargs)
                self.x = x

        data = Batches(x, workers=4, use_multiprocessing=True)
        model.fit(data, epochs=1)
        model.fit(other, workers=4)
    """)
    assert [left.finding.line for left in result.left] == [10]


def test_workers_move_into_an_init_that_already_forwards_its_kwargs() -> None:
    before = """
        from tensorflow import keras

        class Batches(keras.utils.PyDataset):
            def __init__(self, x, **options):
                super().__init__(**options)
                self.x = x

        model.fit(Batches(x), workers=2)
    """
    assert after(before, tensorflow="2.16").splitlines()[-1] == "model.fit(Batches(x, workers=2))"


@pytest.mark.parametrize(
    ("init", "fits", "reason", "construction"),
    [
        ("super().__init__()", "model.fit(data, workers=2)", "must pass **kwargs to super",
         "data = Batches(x)\n"),
        ("super().__init__(**kw)", "model.fit(data, workers=2)\nmodel.fit(data, workers=3)",
         "this Batches(...) already has them", "data = Batches(x, workers=2)\n"),
    ],
)  # fmt: skip
def test_workers_stay_where_moving_them_would_break_the_constructor(
    init: str, fits: str, reason: str, construction: str
) -> None:
    source = (
        "from tensorflow import keras\n\n"
        "class Batches(keras.utils.PyDataset):\n"
        f"    def __init__(self, x, **kw):\n        {init}\n\n"
        f"data = Batches(x)\n{fits}\n"
    )
    result = fixed(source, tensorflow="2.16")
    assert reason in reasons(result)[-1]
    assert construction in result.after


# --- the table of rewrites ------------------------------------------------------------------


def test_every_rewrite_clears_a_scan_rule_and_declares_a_parsable_range() -> None:
    rules = {change.api for change in KNOWN_CHANGES if change.rule}
    assert {rewrite.rule for rewrite in REWRITES} <= rules
    for rewrite in REWRITES:
        assert window("99.0", "99.0").refusal(rewrite.requires) is None


def test_rules_without_a_mechanical_rewrite_are_left_with_the_tables_fix() -> None:
    result = fixed("import keras\nlayer = keras.layers.ThresholdedReLU()\n")
    assert result.after == result.before
    assert reasons(result)[0].startswith("no mechanical rewrite: Keras 3 removed ThresholdedReLU")


def test_a_rewrite_that_would_not_parse_is_not_written(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = lambda node: cst.Name("def")  # noqa: E731 - an edit gone wrong: a keyword
    monkeypatch.setattr(rewrites, "generator_edit", lambda call, method: broken)
    result = fixed("model.fit_generator(gen(), 5)\n")
    assert result.after == result.before
    assert not result.fixed
    assert "did not parse" in reasons(result)[0]


# --- the support window ---------------------------------------------------------------------

MATRIX = """
cells:
  - name: tf2.3
    tensorflow: "2.3"
  - name: tf2.15
    tensorflow: "2.15"
  - name: legacy
    tensorflow: "2.16"
    env: {TF_USE_LEGACY_KERAS: "1"}
  - name: keras3
    tensorflow: ">=2.16"
"""


def test_the_window_is_the_declared_floor_and_ignores_matrix_cells_below_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p"\ndependencies = ["tensorflow>=2.15", "numpy"]\n'
    )
    matrix = parse_matrix(MATRIX, tmp_path / "matrix.yaml")
    found = support_window(tmp_path, [], matrix)
    assert (found.tensorflow, found.keras) == (Version("2.15"), Version("2.15"))
    assert found.sources == ("pyproject.toml", str(tmp_path / "matrix.yaml"))
    assert support_window(tmp_path, ["tensorflow>=2.16"], matrix).keras == Version("2.16")
    assert support_window(tmp_path, ["tensorflow>=2.17"], matrix).keras == Version("3.0")


def test_tensorflow_in_an_extra_or_under_another_distribution_name_counts(
    tmp_path: Path,
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p"\ndependencies = ["numpy"]\n'
        "[project.optional-dependencies]\n"
        'tf = ["tensorflow-cpu>=2.12"]\ngpu = ["tensorflow>=2.14"]\n'
    )
    found = support_window(tmp_path, [], None)
    assert (found.tensorflow, found.keras) == (Version("2.12"), Version("2.12"))


def test_without_declared_requirements_the_matrix_is_the_window(tmp_path: Path) -> None:
    matrix = parse_matrix(MATRIX, tmp_path / "matrix.yaml")
    assert support_window(tmp_path, [], matrix).tensorflow == Version("2.3")
    nothing = support_window(tmp_path, [], None)
    assert "does not say the oldest tensorflow" in str(nothing.refusal(["tensorflow>=2.4"]))


# --- the command --------------------------------------------------------------------------

TRAIN = """\
import tensorflow as tf

model = tf.keras.Sequential([tf.keras.layers.Dense(1, activation="sigmoid")])
model.fit_generator(batches(), 5)  # train
"""


def git(cwd: Path, *args: str) -> None:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args]
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)  # noqa: S603


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p"\ndependencies = ["tensorflow>=2.4"]\n'
    )
    (tmp_path / "train.py").write_text(TRAIN)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "start")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_diff_prints_a_unified_diff_and_changes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fix", "--diff", "train.py"]) == 0
    out, err = capsys.readouterr()
    assert "--- a/train.py\n+++ b/train.py\n" in out
    assert "-model.fit_generator(batches(), 5)  # train\n" in out
    assert "+model.fit(batches(), steps_per_epoch=5)  # train\n" in out
    assert "support window: tensorflow >= 2.4" in err
    assert "1 rewrite would be made in 1 file; 0 findings left for a person." in err
    assert (project / "train.py").read_text() == TRAIN


def test_it_writes_a_clean_file_of_a_git_work_tree_and_exits_0(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fix", "."]) == 0
    assert "model.fit(batches(), steps_per_epoch=5)  # train" in (project / "train.py").read_text()
    assert "train.py:4:7: fit_generator fixed" in capsys.readouterr().out


def test_it_exits_1_when_a_finding_is_left_for_a_person(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "more.py").write_text("import keras\nkeras.layers.LocallyConnected2D(1, 1)\n")
    git(project, "add", "more.py")
    git(project, "commit", "-qm", "more")
    assert main(["fix", "."]) == 1
    assert "more.py:2:1: removed_layers left: no mechanical rewrite" in capsys.readouterr().out


def test_uncommitted_changes_stop_the_write_unless_forced(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "train.py").write_text(TRAIN + "# mine\n")
    assert main(["fix", "train.py"]) == 2
    assert "train.py has uncommitted changes" in capsys.readouterr().err
    assert (project / "train.py").read_text() == TRAIN + "# mine\n"
    assert main(["fix", "--force", "train.py"]) == 0
    assert "model.fit(batches(), steps_per_epoch=5)" in (project / "train.py").read_text()


def test_a_file_outside_a_git_work_tree_is_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.py").write_text(TRAIN)
    assert main(["fix", "--supports", "tensorflow>=2.4", "train.py"]) == 2
    assert "train.py is not in a git work tree" in capsys.readouterr().err
    assert (tmp_path / "train.py").read_text() == TRAIN


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--diff", "--verify", "x.py"], "--diff changes nothing"),
        (["--supports", "tensorflow>>2", "x.py"], "'tensorflow>>2' is not a requirement"),
        (["missing.py"], "no such file or directory: missing.py"),
    ],
)  # fmt: skip
def test_usage_errors_exit_2_with_a_message(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.py").write_text("x = 1\n")
    assert main(["fix", *args]) == 2
    assert message in capsys.readouterr().err


NOTEBOOK = {
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Training\n"]},
        {
            "cell_type": "code",
            "execution_count": 3,
            "metadata": {"tags": ["train"]},
            "outputs": [{"output_type": "stream", "name": "stdout", "text": ["ok\n"]}],
            "source": [
                "%matplotlib inline\n",
                "import tensorflow as tf\n",
                "model.fit_generator(gen(), 5)  # go",
            ],
        },
    ],
    "metadata": {"kernelspec": {"language": "python", "name": "python3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def test_a_notebooks_code_cells_are_rewritten_and_the_rest_of_the_document_kept(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = project / "train.ipynb"
    path.write_text(json.dumps(NOTEBOOK, indent=1) + "\n")
    git(project, "add", "train.ipynb")
    git(project, "commit", "-qm", "notebook")
    assert main(["fix", "train.ipynb"]) == 0
    notebook = json.loads(path.read_text())
    expected = json.loads(json.dumps(NOTEBOOK))
    expected["cells"][1]["source"][2] = "model.fit(gen(), steps_per_epoch=5)  # go"
    assert notebook == expected
    assert "train.ipynb:cell 2:3:7: fit_generator fixed" in capsys.readouterr().out


def test_a_notebooks_diff_is_shown_per_code_cell(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "train.ipynb").write_text(json.dumps(NOTEBOOK, indent=1) + "\n")
    assert main(["fix", "--diff", "train.ipynb"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("--- a/train.ipynb (cell 2)\n+++ b/train.ipynb (cell 2)\n")
    assert " %matplotlib inline\n" in out
    assert "+model.fit(gen(), steps_per_epoch=5)  # go\n" in out


def test_ignored_rules_are_neither_fixed_nor_reported(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fix", "--ignore", "fit_generator", "train.py"]) == 0
    assert (project / "train.py").read_text() == TRAIN
    assert "0 rewrites made in 0 files; 0 findings left" in capsys.readouterr().out


def test_verify_without_a_rewrite_runs_no_sweep(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(verify_module, "sweep", None)  # called, it would raise TypeError
    assert main(["fix", "--verify", "--ignore", "fit_generator", "train.py"]) == 0
    assert "fix --verify: no rewrite to make, so no sweep to run" in capsys.readouterr().out


def test_an_unreadable_pyproject_is_a_usage_error_naming_it(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "pyproject.toml").write_text("[project\n")
    assert main(["fix", "--diff", "train.py"]) == 2
    assert f"{project / 'pyproject.toml'}: cannot read" in capsys.readouterr().err


# --- --verify -----------------------------------------------------------------------------


def test_verify_prints_every_square_and_reports_a_rolled_back_file(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[list[str]] = []

    def sweep(cwd: Path, args: list[str], label: str, scratch: Path) -> Report:
        calls.append(list(args))
        outcome = Outcome.DEPRECATED if label == "before" else Outcome.FAILED
        return Report(
            cells=[CellReport("tf2.15")], results=[square("train.py::t", outcome, "tf2.15")]
        )

    monkeypatch.setattr(verify_module, "sweep", sweep)
    assert main(["fix", "--verify", "--sweep-arg=--keras-cells=tf2.15", "train.py"]) == 1
    out = capsys.readouterr().out
    assert calls == [["--keras-cells=tf2.15"]] * 2
    assert "  train.py::t  tf2.15  deprecated -> failed  WORSE" in out
    assert "train.py:4:7: fit_generator left: rolled back: the rewrites of this file made" in out
    assert "0 rewrites made in 0 files; 1 finding left for a person." in out
    assert (project / "train.py").read_text() == TRAIN


def square(test: str, outcome: Outcome, cell: str = "tf2.16") -> Result:
    return Result(cell=cell, test=test, outcome=outcome)


def test_a_square_is_worse_when_its_outcome_falls_a_rank_or_disappears() -> None:
    before = Report(
        cells=[CellReport("tf2.16"), CellReport("tf2.15")],
        results=[
            square("t.py::a", Outcome.REMOVED),
            square("t.py::b", Outcome.DEPRECATED),
            square("t.py::c", Outcome.PASSED),
            square("t.py::d", Outcome.FAILED),
            square("t.py::e", Outcome.PASSED, "tf2.15"),
        ],
    )
    after = Report(
        cells=[CellReport("tf2.16"), CellReport("tf2.15", status=CellStatus.IMPORT_ERROR)],
        results=[
            square("t.py::a", Outcome.PASSED),
            square("t.py::b", Outcome.FAILED),
            square("t.py::d", Outcome.REMOVED),
        ],
    )
    changes = {(c.test, c.cell): c for c in verify_module.compare(before, after)}
    assert not changes["t.py::a", "tf2.16"].worse
    assert changes["t.py::b", "tf2.16"].worse
    assert changes["t.py::c", "tf2.16"].after == "missing"
    assert changes["t.py::c", "tf2.16"].worse
    assert not changes["t.py::d", "tf2.16"].worse
    assert changes["t.py::e", "tf2.15"].after == "import-error"
    assert changes["t.py::e", "tf2.15"].worse


def test_verify_rolls_back_the_file_whose_test_got_worse_and_keeps_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib, test = tmp_path / "lib.py", tmp_path / "test_lib.py"
    files = [FileFix(lib, "old lib\n", "new lib\n"), FileFix(test, "old test\n", "new test\n")]
    for file in files:
        file.path.write_text(file.before)
    seen: dict[str, dict[str, str]] = {}

    def sweep(cwd: Path, args: list[str], label: str, scratch: Path) -> Report:
        seen[label] = {path.name: path.read_text() for path in (lib, test)}
        outcome = Outcome.PASSED if label == "before" else Outcome.FAILED
        return Report(cells=[CellReport("tf2.16")], results=[square("test_lib.py::t", outcome)])

    monkeypatch.setattr(verify_module, "sweep", sweep)
    changes, rolled_back = verify_module.verify(tmp_path, files, ["--keras-cells=tf2.16"])
    assert seen["before"] == {"lib.py": "old lib\n", "test_lib.py": "old test\n"}
    assert seen["after"] == {"lib.py": "new lib\n", "test_lib.py": "new test\n"}
    assert [(c.before, c.after, c.worse) for c in changes] == [("passed", "failed", True)]
    assert rolled_back == [files[1]]
    assert test.read_text() == "old test\n"
    assert lib.read_text() == "new lib\n"


def test_a_worse_square_in_a_test_file_not_rewritten_rolls_back_every_file(
    tmp_path: Path,
) -> None:
    files = [FileFix(tmp_path / "lib.py", "a", "b")]
    worse = verify_module.SquareChange("tests/test_x.py::t", "tf2.16", "passed", "failed")
    assert verify_module.to_roll_back([worse], files, tmp_path) == files


# --- what the command line loads ------------------------------------------------------------


def test_libcst_loads_only_when_fix_runs(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("model.fit_generator(data)\n")
    assert "libcst" not in modules_loaded_by("scan", str(tmp_path), cwd=tmp_path)
    assert "libcst" not in modules_loaded_by("fix", "--help", cwd=tmp_path)
    assert "libcst" in modules_loaded_by("fix", "--diff", str(tmp_path), cwd=tmp_path)
