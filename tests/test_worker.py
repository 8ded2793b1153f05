"""The cell worker plugin, driven through pytester with no TensorFlow installed.

Most runs are in-process; the ones that kill or stall the interpreter run in a subprocess
with the ``cell`` package copied under the name the controller gives it,
``kerascompat_cell``, which also proves the package imports only relatively.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_kerascompat.cell import fixtures, worker
from pytest_kerascompat.cell.protocol import EXIT_IMPORT_ERROR
from pytest_kerascompat.cell.worker import describe_exception

from .conftest import installed_python37

CELL_DIR = Path(worker.__file__).resolve().parent
PROBE_FILE = CELL_DIR / "probes" / "test_data_feeding.py"
PYTHON37 = installed_python37()
WORKER_ARGS = ("-p", "no:kerascompat", "-p", "no:cacheprovider")

Event = dict[str, Any]


@pytest.fixture(autouse=True)
def hermetic_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner runs see only the worker: no third-party plugins (cells have none either),
    and, since in-process runs share this interpreter, no Keras stack a previous run
    imported."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setattr(fixtures, "_STACKS", {})


def read_events(path: Path) -> list[Event]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def run_worker(
    pytester: pytest.Pytester, *args: str, isolated: bool = False
) -> tuple[pytest.RunResult, list[Event]]:
    """Run pytest with the worker recording to ``events.jsonl``; return both.

    ``isolated`` runs it in a subprocess, loading the worker as ``kerascompat_cell``.
    """
    events = pytester.path / "events.jsonl"
    if isolated:
        plugin = "kerascompat_cell.worker"
        run = pytester.runpytest_subprocess
    else:
        plugin = "pytest_kerascompat.cell.worker"
        run = pytester.runpytest
    result = run("-p", plugin, *WORKER_ARGS, f"--kc-results={events}", *args)
    return result, read_events(events) if events.exists() else []


def of_kind(events: list[Event], kind: str) -> list[Event]:
    return [event for event in events if event["event"] == kind]


def finished(events: list[Event]) -> dict[str, Event]:
    """``finish`` events by test id."""
    return {event["test"]: event for event in of_kind(events, "finish")}


def only(events: list[Event], kind: str) -> Event:
    (event,) = of_kind(events, kind)
    return event


@pytest.fixture
def cell_on_pythonpath(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A copy of ``cell/`` named ``kerascompat_cell`` on ``PYTHONPATH``, as cells get it."""
    root = tmp_path_factory.mktemp("cellpath")
    shutil.copytree(
        CELL_DIR, root / "kerascompat_cell", ignore=shutil.ignore_patterns("__pycache__")
    )
    monkeypatch.setenv("PYTHONPATH", str(root))
    return root


@pytest.fixture
def fake_tensorflow(pytester: pytest.Pytester) -> None:
    """Importable ``tensorflow`` (with ``tf.keras``) and ``keras`` stand-ins."""
    pytester.syspathinsert()
    pytester.makepyfile(
        **{
            "tensorflow/__init__": "__version__ = '2.99.0'\nfrom . import keras",
            "tensorflow/keras/__init__": "__version__ = '2.99.1'\nfrom . import backend, layers",
            "tensorflow/keras/backend": "def backend():\n    return 'fakeflow'",
            "tensorflow/keras/layers": "",
            "keras/__init__": "def version():\n    return '3.99.0'\nfrom . import backend, layers",
            "keras/backend": "def backend():\n    return 'jax'",
            "keras/layers": "",
        }
    )


# --------------------------------------------------------------------- event stream


def test_events_come_as_session_collected_start_finish_pairs_then_done(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_order="""
        import pytest

        @pytest.mark.keras_compat
        def test_one():
            pass

        @pytest.mark.keras_compat(api="fit")
        def test_two():
            pass
        """
    )
    result, events = run_worker(pytester, "--kc-cell=tf215")

    assert result.ret == 0
    collecting = [event for event in events if event["event"] == "collecting"]
    assert collecting[-1]["test"] == "test_order.py", "each collector is said before it runs"
    assert [event["event"] for event in events if event["event"] != "collecting"] == [
        "session", "collected", "start", "finish", "start", "finish", "done",
    ]  # fmt: skip
    assert events.index(collecting[0]) == 1, "collection begins after the session"
    assert [event["test"] for event in of_kind(events, "start")] == [
        "test_order.py::test_one",
        "test_order.py::test_two",
    ]
    times = [event["time"] for event in events]
    assert times == sorted(times)
    assert events[-1]["exitstatus"] == 0


def test_session_event_describes_the_interpreter_and_a_missing_keras_as_null(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass")
    _, events = run_worker(pytester, "--kc-cell=bare")

    session = only(events, "session")
    assert session["cell"] == "bare"
    assert session["python"] == ".".join(map(str, sys.version_info[:3]))
    assert session["executable"] == sys.executable
    assert session["pid"] == os.getpid()
    assert (session["tensorflow"], session["keras"], session["backend"]) == (None, None, None)
    assert session["import_seconds"] >= 0


def test_session_event_reports_tf_keras_versions_and_backend(
    pytester: pytest.Pytester, fake_tensorflow: None
) -> None:
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass")
    _, events = run_worker(pytester, "--kc-keras-module=tf.keras", "--kc-require=tensorflow")

    session = only(events, "session")
    assert session["tensorflow"] == "2.99.0"
    assert session["keras"] == "2.99.1"
    assert session["keras_module"] == "tf.keras"
    assert session["backend"] == "fakeflow"


def test_session_event_reports_standalone_keras_through_its_version_function(
    pytester: pytest.Pytester, fake_tensorflow: None
) -> None:
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass")
    _, events = run_worker(pytester, "--kc-keras-module=keras")

    session = only(events, "session")
    assert (session["keras"], session["keras_module"], session["backend"]) == (
        "3.99.0",
        "keras",
        "jax",
    )


def test_session_event_calls_legacy_tf_keras_by_its_own_name(pytester: pytest.Pytester) -> None:
    pytester.syspathinsert()
    pytester.makepyfile(
        **{
            "tensorflow/__init__": "__version__ = '2.16.2'\nimport tf_keras as keras",
            "tf_keras/__init__": "__version__ = '2.16.0'\nfrom . import layers",
            "tf_keras/layers": "",
            "test_nothing": "def test_nothing():\n    pass",
        }
    )
    _, events = run_worker(pytester, "--kc-keras-module=tf.keras")

    session = only(events, "session")
    assert (session["keras"], session["keras_module"]) == ("2.16.0", "tf_keras")


def test_start_event_is_on_disk_before_the_test_body_runs(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_flush="""
        import json
        import pytest

        @pytest.mark.keras_compat
        def test_reads_its_own_start(pytestconfig):
            with open(pytestconfig.getoption("kc_results")) as handle:
                last = json.loads(handle.read().splitlines()[-1])
            assert last["event"] == "start"
            assert last["test"] == "test_flush.py::test_reads_its_own_start"
        """
    )
    result, events = run_worker(pytester)

    assert result.ret == 0
    assert finished(events)["test_flush.py::test_reads_its_own_start"]["outcome"] == "passed"


# ------------------------------------------------------------------------ selection


def test_user_mode_keeps_only_tests_marked_keras_compat_including_module_pytestmark(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_marked_module="""
        import pytest
        pytestmark = pytest.mark.keras_compat(api="whole_module")

        def test_inherits_module_mark():
            pass
        """,
        test_mixed="""
        import pytest

        @pytest.mark.keras_compat(api="fit", breaks="keras>=3")
        def test_marked():
            pass

        def test_unmarked():
            pass
        """,
    )
    result, events = run_worker(pytester, "--kc-mode=user")

    collected = only(events, "collected")["tests"]
    assert collected == [
        {"test": "test_marked_module.py::test_inherits_module_mark", "api": "whole_module",
         "probe": False, "breaks": None},
        {"test": "test_mixed.py::test_marked", "api": "fit", "probe": False,
         "breaks": "keras>=3"},
    ]  # fmt: skip
    result.assert_outcomes(passed=2, deselected=1)


def test_marker_api_may_be_given_positionally(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_positional="""
        import pytest

        @pytest.mark.keras_compat("predict", "tensorflow<2")
        def test_positional():
            pass
        """
    )
    _, events = run_worker(pytester)

    (test,) = only(events, "collected")["tests"]
    assert (test["api"], test["breaks"]) == ("predict", "tensorflow<2")


def test_marker_breaks_may_list_several_ranges(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_ranges="""
        import pytest

        @pytest.mark.keras_compat(api="fit_generator", breaks=["keras>=3", "tensorflow<2"])
        def test_ranges():
            pass
        """
    )
    _, events = run_worker(pytester)

    (test,) = only(events, "collected")["tests"]
    assert test["breaks"] == ["keras>=3", "tensorflow<2"]


@pytest.fixture
def probes_and_user_tests(pytester: pytest.Pytester) -> Path:
    probes = pytester.mkdir("probes")
    (probes / "test_probe.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.keras_compat(api='fit_generator')\n"
        "def test_fit_generator():\n    pass\n"
    )
    pytester.makepyfile(
        test_user="import pytest\n\n@pytest.mark.keras_compat\ndef test_user():\n    pass\n"
    )
    return probes


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("user", ["test_user.py::test_user"]),
        ("probes", ["probes::test_fit_generator"]),
        ("both", ["probes::test_fit_generator", "test_user.py::test_user"]),
    ],
)
def test_mode_chooses_between_user_tests_and_probes_named_by_stable_probe_ids(
    pytester: pytest.Pytester, probes_and_user_tests: Path, mode: str, expected: list[str]
) -> None:
    _, events = run_worker(
        pytester, f"--kc-mode={mode}", f"--kc-probes-dir={probes_and_user_tests}"
    )

    tests = only(events, "collected")["tests"]
    assert [test["test"] for test in tests] == expected
    assert all(test["probe"] == test["test"].startswith("probes::") for test in tests)
    assert sorted(finished(events)) == sorted(expected)


def test_skip_file_deselects_the_tests_it_lists(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_restart="""
        import pytest
        pytestmark = pytest.mark.keras_compat

        def test_crashed_last_time():
            pass

        def test_still_to_run():
            pass
        """
    )
    skip = pytester.path / "skip.txt"
    skip.write_text("test_restart.py::test_crashed_last_time\n\n")
    result, events = run_worker(pytester, f"--kc-skip={skip}")

    assert [test["test"] for test in only(events, "collected")["tests"]] == [
        "test_restart.py::test_still_to_run"
    ]
    result.assert_outcomes(passed=1, deselected=1)


def test_without_results_file_the_plugin_records_and_deselects_nothing(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_plain="""
        import pytest

        @pytest.mark.keras_compat(api="fit")
        def test_marked(keras_cell):
            assert keras_cell.name == "local"

        def test_unmarked():
            pass
        """
    )
    result = pytester.runpytest(
        "-p", "pytest_kerascompat.cell.worker", *WORKER_ARGS, "--strict-markers", "--kc-mode=probes"
    )

    result.assert_outcomes(passed=2)
    assert not list(pytester.path.glob("*.jsonl"))


def test_marker_is_registered_with_its_help_text(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("-p", "pytest_kerascompat.cell.worker", *WORKER_ARGS, "--markers")

    result.stdout.fnmatch_lines(
        ["@pytest.mark.keras_compat(api=None, breaks=None): run this test*"]
    )


# ------------------------------------------------------------------------- outcomes


OUTCOMES = """
import pytest
pytestmark = pytest.mark.keras_compat

@pytest.fixture
def broken():
    raise RuntimeError("fixture exploded")

@pytest.fixture
def bad_teardown():
    yield
    raise RuntimeError("teardown exploded")

def test_passes():
    pass

def test_fails():
    assert 1 == 2, "numbers differ"

def test_errors_in_setup(broken):
    pass

def test_errors_in_teardown(bad_teardown):
    pass

def test_skips():
    pytest.skip("not today")

@pytest.mark.skip(reason="marked skip")
def test_marked_skip():
    pass

@pytest.mark.xfail(reason="known removal")
def test_xfails():
    raise AttributeError("'Model' object has no attribute 'fit_generator'")

@pytest.mark.xfail(reason="maybe broken")
def test_xpasses():
    pass

def test_imperative_xfail():
    pytest.xfail("not yet")

@pytest.mark.xfail(strict=True, reason="must fail")
def test_strict_xpass():
    pass
"""


@pytest.fixture
def outcomes(pytester: pytest.Pytester) -> dict[str, Event]:
    pytester.makepyfile(test_outcomes=OUTCOMES)
    _, events = run_worker(pytester)
    return {test.split("::")[-1]: event for test, event in finished(events).items()}


@pytest.mark.parametrize(
    ("test", "outcome", "when", "exc_type", "message"),
    [
        ("test_passes", "passed", "call", None, None),
        ("test_fails", "failed", "call", "AssertionError", "numbers differ"),
        ("test_errors_in_setup", "error", "setup", "RuntimeError", "fixture exploded"),
        ("test_errors_in_teardown", "error", "teardown", "RuntimeError", "teardown exploded"),
        ("test_skips", "skipped", "call", None, "not today"),
        ("test_marked_skip", "skipped", "setup", None, "marked skip"),
        ("test_xfails", "xfailed", "call", "AttributeError", "known removal"),
        ("test_xpasses", "xpassed", "call", None, "maybe broken"),
        ("test_imperative_xfail", "xfailed", "call", None, "not yet"),
        ("test_strict_xpass", "failed", "call", None, "[XPASS(strict)] must fail"),
    ],
)
def test_finish_event_maps_outcomes_the_way_pytest_counts_them(
    outcomes: dict[str, Event],
    test: str,
    outcome: str,
    when: str,
    exc_type: str | None,
    message: str | None,
) -> None:
    event = outcomes[test]

    assert (event["outcome"], event["when"]) == (outcome, when)
    assert (event["exc_type"], event["message"]) == (exc_type, message)


def test_xfailed_test_still_names_what_went_missing(outcomes: dict[str, Event]) -> None:
    assert named(outcomes["test_xfails"]["missing"]) == {
        "kind": "attribute",
        "name": "fit_generator",
        "owner": "Model",
    }


def test_a_test_that_stops_the_session_is_still_finished_as_an_error(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_exit="""
        import pytest
        pytestmark = pytest.mark.keras_compat

        def test_exits():
            pytest.exit("giving up")

        def test_never_runs():
            pass
        """
    )
    _, events = run_worker(pytester)

    assert [event["event"] for event in events][-3:] == ["start", "finish", "done"]
    finish = only(events, "finish")
    assert (finish["test"], finish["outcome"], finish["when"]) == (
        "test_exit.py::test_exits",
        "error",
        "call",
    )
    assert (finish["exc_type"], finish["message"]) == ("_pytest.outcomes.Exit", "giving up")


def test_finish_event_carries_identity_and_duration(outcomes: dict[str, Event]) -> None:
    event = outcomes["test_passes"]

    assert event["test"] == "test_outcomes.py::test_passes"
    assert (event["api"], event["probe"], event["warnings"]) == (None, False, [])
    assert event["duration"] >= 0


def test_the_duration_is_the_time_the_test_took(pytester: pytest.Pytester) -> None:
    """At least the test's own sleep, and at most the whole run's wall time (which a
    duration counted twice would exceed: the sleep is most of the run)."""
    pytester.makepyfile(
        test_sleeps="""
        import time
        import pytest

        @pytest.mark.keras_compat
        def test_sleeps():
            time.sleep(1.0)
        """
    )
    started = time.perf_counter()
    _, events = run_worker(pytester)
    wall = time.perf_counter() - started

    duration = only(events, "finish")["duration"]
    assert 1.0 <= duration <= wall, (duration, wall)


# -------------------------------------------------------------------- missing names


MISSING = """
import os
import pytest
pytestmark = pytest.mark.keras_compat

class Model:
    pass

class Trainer:
    def fit(self, x):
        pass

def test_attribute_on_object():
    Model().fit_generator

def test_attribute_on_module():
    os.fit_generator

def test_cannot_import_name():
    from os import fit_generator

def test_no_module_named():
    import json.gone_xyz

def test_unexpected_keyword():
    Trainer().fit(1, workers=2)
"""


@pytest.fixture
def missing(pytester: pytest.Pytester) -> dict[str, Any]:
    pytester.makepyfile(test_missing=MISSING)
    _, events = run_worker(pytester)
    return {test.split("::")[-1]: event["missing"] for test, event in finished(events).items()}


NEW_NAMES = sys.version_info >= (3, 10)


def named(missing: dict[str, Any]) -> dict[str, Any]:
    """What is missing and where it was looked up, without whose class it was."""
    return {key: missing[key] for key in ("kind", "name", "owner")}


@pytest.mark.parametrize(
    ("test", "expected"),
    [
        (
            "test_attribute_on_object",
            {"kind": "attribute", "name": "fit_generator",
             "owner": "test_missing.Model" if NEW_NAMES else "Model"},
        ),
        ("test_attribute_on_module", {"kind": "attribute", "name": "fit_generator", "owner": "os"}),
        ("test_cannot_import_name", {"kind": "attribute", "name": "fit_generator", "owner": "os"}),
        ("test_no_module_named", {"kind": "import", "name": "json.gone_xyz", "owner": "json"}),
        (
            "test_unexpected_keyword",
            {"kind": "keyword", "name": "workers", "owner": "Trainer.fit" if NEW_NAMES else "fit"},
        ),
    ],
)  # fmt: skip
def test_finish_event_names_the_missing_attribute_import_or_keyword(
    missing: dict[str, Any], test: str, expected: dict[str, str]
) -> None:
    assert named(missing[test]) == expected


def test_a_missing_attribute_or_keyword_carries_whose_class_and_callable_it_was(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        trainerlib="""
        class Model:
            def fit(self, x, epochs=1):
                return x
        """,
        test_whose="""
        import pytest
        import trainerlib

        pytestmark = pytest.mark.keras_compat

        class Regressor(trainerlib.Model):
            pass

        class Plain:
            pass

        def train(data):
            return data

        def test_subclass_attribute():
            model = Regressor()
            model.fit_generator(None)

        def test_plain_attribute():
            Plain().fit_generator

        def test_library_keyword():
            model = Regressor()
            model.fit(1, workers=2)

        def test_own_keyword():
            train(1, workers=2)
        """,
    )
    _, events = run_worker(pytester)
    seen = {test.split("::")[-1]: event["missing"] for test, event in finished(events).items()}

    assert seen["test_subclass_attribute"]["mro"] == [
        "test_whose.Regressor", "trainerlib.Model", "object"
    ]  # fmt: skip
    assert seen["test_plain_attribute"]["mro"] == ["test_whose.Plain", "object"]
    assert seen["test_library_keyword"]["raised_by"] == "trainerlib"
    assert seen["test_library_keyword"]["mro"] == ["trainerlib.Model", "object"]
    assert seen["test_own_keyword"]["raised_by"] == "test_whose"
    assert seen["test_own_keyword"]["mro"] is None


# ------------------------------------------------------------------ warnings, logs


def test_warnings_raised_during_a_test_are_listed_with_qualified_categories(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_warns="""
        import warnings
        import pytest

        class KerasDeprecation(UserWarning):
            pass

        @pytest.mark.keras_compat
        def test_warns():
            for _ in range(3):
                warnings.warn("fit_generator is deprecated\\nuse fit", KerasDeprecation)
            warnings.warn("old", DeprecationWarning)
        """
    )
    _, events = run_worker(pytester)

    (event,) = finished(events).values()
    assert [(w["category"], w["message"]) for w in event["warnings"]] == [
        ("test_warns.KerasDeprecation", "fit_generator is deprecated"),
        ("DeprecationWarning", "old"),
    ]
    assert all(w["filename"].endswith("test_warns.py") for w in event["warnings"])


def test_deprecation_log_records_count_as_warnings_even_from_a_non_propagating_logger(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_logs="""
        import logging
        import pytest

        @pytest.mark.keras_compat
        def test_logs():
            tensorflow = logging.getLogger("tensorflow")
            tensorflow.propagate = False
            try:
                tensorflow.warning("Model.fit_generator is DEPRECATED and will be removed")
            finally:
                tensorflow.propagate = True
            logging.getLogger("tensorflow").warning("%s is deprecated", "Model.predict_generator")
            logging.getLogger("keras").warning("something unrelated")
            logging.getLogger("keras").info("an info about deprecation")
        """
    )
    _, events = run_worker(pytester)

    (event,) = finished(events).values()
    assert [(w["category"], w["message"]) for w in event["warnings"]] == [
        ("logging:tensorflow", "Model.fit_generator is DEPRECATED and will be removed"),
        ("logging:tensorflow", "Model.predict_generator is deprecated"),
    ]


# ------------------------------------------------------------ imports and fixtures


def test_required_module_that_fails_to_import_stops_the_session_with_exit_code_3(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_never="def test_never():\n    pass")
    result, events = run_worker(pytester, "--kc-require=nonexistent_module_xyz")

    assert result.ret == EXIT_IMPORT_ERROR == 3
    assert [event["event"] for event in events] == ["import_error", "done"]
    error = events[0]
    assert error["module"] == "nonexistent_module_xyz"
    assert error["exc_type"] == "ModuleNotFoundError"
    assert error["message"] == "No module named 'nonexistent_module_xyz'"
    assert error["traceback"].splitlines()[-1].startswith("ModuleNotFoundError")
    assert events[-1]["exitstatus"] == 3


def test_fixtures_hand_out_the_modules_imported_at_session_start(
    pytester: pytest.Pytester, fake_tensorflow: None
) -> None:
    pytester.makepyfile(
        test_fixtures="""
        import sys
        import pytest

        @pytest.mark.keras_compat
        def test_fixtures(keras, tf, keras_cell):
            assert tf is sys.modules["tensorflow"]
            assert keras is tf.keras
            assert keras_cell.as_dict() == {
                "name": "fake", "python": keras_cell.python, "tensorflow": "2.99.0",
                "keras": "2.99.1", "keras_module": "tf.keras", "backend": "fakeflow",
            }
        """
    )
    result, events = run_worker(pytester, "--kc-cell=fake", "--kc-keras-module=tf.keras")

    assert result.ret == 0
    assert only(events, "finish")["outcome"] == "passed"


def test_keras_and_tf_fixtures_skip_with_a_reason_when_nothing_is_installed(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_skips="""
        def test_needs_keras(keras):
            pass

        def test_needs_tf(tf):
            pass
        """
    )
    result = pytester.runpytest("-p", "pytest_kerascompat.cell.worker", *WORKER_ARGS, "-rs")

    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*Keras under test (tf.keras or keras) is not installed*"])
    result.stdout.fnmatch_lines(["*TensorFlow is not installed*"])


# ------------------------------------------------------- crashes and hangs (slow-ish)


def test_a_test_that_kills_the_interpreter_leaves_a_start_without_finish(
    pytester: pytest.Pytester, cell_on_pythonpath: Path
) -> None:
    pytester.makepyfile(
        test_crash="""
        import os
        import pytest
        pytestmark = pytest.mark.keras_compat

        def test_before():
            pass

        def test_segfaults_like():
            os._exit(7)
        """
    )
    result, events = run_worker(pytester, isolated=True)

    assert result.ret == 7
    assert [event["event"] for event in events if event["event"] != "collecting"] == [
        "session", "collected", "start", "finish", "start",
    ]  # fmt: skip
    assert events[-1]["test"] == "test_crash.py::test_segfaults_like"


def run_past_a_1_s_limit(pytester: pytest.Pytester) -> tuple[pytest.RunResult, list[Event], str]:
    """Run the worker in a subprocess with a 1 s test time limit; also return the stacks
    it dumped."""
    stack = pytester.path / "stack.txt"
    result, events = run_worker(
        pytester, "--kc-timeout=1", f"--kc-stack-file={stack}", isolated=True
    )
    return result, events, stack.read_text()


def test_a_test_running_past_the_timeout_dumps_its_stack_to_the_stack_file(
    pytester: pytest.Pytester, cell_on_pythonpath: Path
) -> None:
    pytester.makepyfile(
        test_hang="""
        import time
        import pytest

        def sleeping_for_a_while():
            time.sleep(3)

        @pytest.mark.keras_compat
        def test_hangs():
            sleeping_for_a_while()
        """
    )
    result, events, dump = run_past_a_1_s_limit(pytester)

    assert "Timeout (0:00:01)!" in dump
    assert "in sleeping_for_a_while" in dump
    assert result.ret == 0
    assert only(events, "finish")["outcome"] == "passed"


def test_a_test_busy_in_python_gets_its_whole_stack_once(
    pytester: pytest.Pytester, cell_on_pythonpath: Path
) -> None:
    """A running thread's frames are read holding the GIL: none is cut off."""
    pytester.makepyfile(
        test_busy="""
        import time
        import pytest

        def spin_in_python():
            end = time.monotonic() + 2
            while time.monotonic() < end:
                sum(range(1000))

        def train_with_a_busy_loader():
            spin_in_python()

        @pytest.mark.keras_compat
        def test_busy():
            train_with_a_busy_loader()
        """
    )

    _, _, dump = run_past_a_1_s_limit(pytester)

    assert dump.count("Timeout (0:00:01)!") == 1, "faulthandler's fallback stayed cancelled"
    main_thread = dump.split("\n\n")[-2]
    assert main_thread.index("in spin_in_python") < main_thread.index("in test_busy")
    assert "in train_with_a_busy_loader" in main_thread


def test_a_test_holding_the_gil_in_c_is_still_dumped_by_faulthandler(
    pytester: pytest.Pytester, cell_on_pythonpath: Path
) -> None:
    """A catastrophic regex holds the GIL in C for seconds, as a stuck native op can."""
    pytester.makepyfile(
        test_native="""
        import re
        import pytest

        @pytest.mark.keras_compat
        def test_native_loop():
            re.match(r"(a+)+$", "a" * 26 + "b")
        """
    )

    _, _, dump = run_past_a_1_s_limit(pytester)

    assert dump.count("Timeout") == 1
    assert "Timeout (0:00:01.500000)!" in dump, "written by faulthandler, from C"
    assert "in test_native_loop" in dump


# -------------------------------------------------------------- describe_exception


def raised(action: Any) -> BaseException:
    try:
        action()
    except BaseException as exc:
        return exc
    raise AssertionError("expected an exception")


def test_describe_exception_qualifies_non_builtin_types() -> None:
    description = describe_exception(raised(lambda: json.loads("{")))

    assert description["exc_type"] == "json.decoder.JSONDecodeError"
    assert description["missing"] is None


def test_describe_exception_keeps_the_first_non_empty_line_of_the_message() -> None:
    description = describe_exception(ValueError("\n  \nShapes are incompatible\n(4, 1) vs (4,)"))

    assert description == {
        "exc_type": "ValueError",
        "message": "Shapes are incompatible",
        "missing": None,
    }


def test_describe_exception_gives_no_message_for_an_empty_exception() -> None:
    assert describe_exception(RuntimeError())["message"] is None


def test_describe_exception_parses_a_lazy_modules_attribute_error_message() -> None:
    # Raised by a module ``__getattr__``: no ``name``/``obj`` to rely on.
    exc = AttributeError("module 'keras.preprocessing.image' has no attribute 'ImageDataGenerator'")

    assert named(describe_exception(exc)["missing"]) == {
        "kind": "attribute",
        "name": "ImageDataGenerator",
        "owner": "keras.preprocessing.image",
    }


@pytest.mark.skipif(not NEW_NAMES, reason="AttributeError.obj is Python 3.10+")
def test_describe_exception_uses_the_object_an_attribute_was_looked_up_on() -> None:
    def lookup() -> Any:
        return json.decoder.JSONDecoder.fit_generator  # type: ignore[attr-defined]

    description = describe_exception(raised(lookup))

    assert named(description["missing"]) == {
        "kind": "attribute",
        "name": "fit_generator",
        "owner": "json.decoder.JSONDecoder",
    }


def test_describe_exception_reads_old_style_cannot_import_messages() -> None:
    exc = ImportError("cannot import name 'np_utils' from 'keras.utils' (/site/keras/utils.py)")

    assert named(describe_exception(exc)["missing"]) == {
        "kind": "attribute",
        "name": "np_utils",
        "owner": "keras.utils",
    }


def test_describe_exception_treats_a_top_level_module_not_found_as_import_without_owner() -> None:
    exc = raised(lambda: __import__("keras_gone_xyz"))

    assert named(describe_exception(exc)["missing"]) == {
        "kind": "import",
        "name": "keras_gone_xyz",
        "owner": None,
    }


@pytest.mark.parametrize(
    ("exc", "owner"),
    [
        (TypeError("fit() got an unexpected keyword argument 'workers'"), "fit"),
        (TypeError("TensorFlowTrainer.fit() got an unexpected keyword argument 'workers'"),
         "TensorFlowTrainer.fit"),
        (ValueError("Unrecognized keyword arguments passed to Dense: {'workers': 2}"), "Dense"),
    ],
)  # fmt: skip
def test_describe_exception_recognises_python_and_keras_keyword_rejections(
    exc: BaseException, owner: str
) -> None:
    assert named(describe_exception(exc)["missing"]) == {
        "kind": "keyword",
        "name": "workers",
        "owner": owner,
    }


def test_describe_exception_does_not_call_every_type_error_a_missing_name() -> None:
    exc = raised(lambda: len(5))  # type: ignore[arg-type]

    assert describe_exception(exc)["missing"] is None


# -------------------------------------------------------------------- Python 3.7


def cell_sources() -> Iterator[Path]:
    yield from sorted(CELL_DIR.glob("*.py"))
    yield PROBE_FILE


@pytest.mark.skipif(PYTHON37 is None, reason="no pyenv Python 3.7 is installed")
@pytest.mark.parametrize("source", list(cell_sources()), ids=lambda path: path.name)
def test_cell_sources_compile_under_python_3_7(source: Path, tmp_path: Path) -> None:
    # ``cfile`` keeps the 3.7 bytecode out of the repository's __pycache__.
    code = (
        "import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)"
    )
    completed = subprocess.run(  # noqa: S603 - fixed interpreter, arguments are our paths
        [str(PYTHON37), "-c", code, str(source), str(tmp_path / "out.pyc")],
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr


def test_a_module_that_fails_to_import_is_recorded_with_the_original_exception(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_gone="from json import no_such_name\n",
        test_attr="import json\njson.no_such_attribute\n",
    )
    _, events = run_worker(pytester, "--continue-on-collection-errors")
    errors = {event["test"]: event for event in of_kind(events, "collect_error")}
    assert errors["test_gone.py"]["exc_type"] == "ImportError"
    assert errors["test_gone.py"]["missing"]["name"] == "no_such_name"
    assert errors["test_attr.py"]["exc_type"] == "AttributeError"
    assert named(errors["test_attr.py"]["missing"]) == {
        "kind": "attribute",
        "name": "no_such_attribute",
        "owner": "json",
    }


def test_named_mode_runs_the_tests_on_the_command_line_marked_or_not(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_named="""
        import pytest

        def test_unmarked():
            pass

        @pytest.mark.keras_compat(api="x")
        def test_marked():
            pass

        def test_not_named():
            pass
        """
    )

    _, events = run_worker(
        pytester, "--kc-mode=named", "test_named.py::test_unmarked", "test_named.py::test_marked"
    )

    assert sorted(finished(events)) == [
        "test_named.py::test_marked",
        "test_named.py::test_unmarked",
    ]


def test_quick_exit_keeps_the_exit_status_and_every_event_but_skips_teardown(
    pytester: pytest.Pytester, cell_on_pythonpath: Path
) -> None:
    teardown_ran = pytester.path / "teardown-ran"
    pytester.makepyfile(
        test_exit=f"""
        import atexit
        import pathlib
        import pytest

        atexit.register(pathlib.Path({str(teardown_ran)!r}).touch)

        @pytest.mark.keras_compat
        def test_fails():
            assert False
        """
    )

    result, events = run_worker(pytester, "--kc-quick-exit", isolated=True)

    assert result.ret == 1
    assert [event["exitstatus"] for event in of_kind(events, "done")] == [1]
    assert finished(events)["test_exit.py::test_fails"]["outcome"] == "failed"
    assert not teardown_ran.exists()

    run_worker(pytester, isolated=True)
    assert teardown_ran.exists(), "without the flag the interpreter tears down as usual"
