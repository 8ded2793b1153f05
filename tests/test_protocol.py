"""The cell protocol: one module both sides import, on any Python a cell may have."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_kerascompat.cell import fixtures, protocol, worker
from pytest_kerascompat.sweep._launch import CELL_PACKAGE, prepare_cellpath
from pytest_kerascompat.sweep.controller import CellRun, ProtocolError

from .conftest import installed_python37

PROTOCOL_FILE = Path(protocol.__file__).resolve()
#: Whatever "import it in a fresh interpreter" loads besides the standard library.
LOAD_AND_LIST = """
import importlib.util, json, sys
before = set(sys.modules)
spec = importlib.util.spec_from_file_location("kc_protocol", sys.argv[1])
spec.loader.exec_module(importlib.util.module_from_spec(spec))
print(json.dumps(sorted(set(sys.modules) - before - {"kc_protocol"})))
"""


@pytest.mark.skipif(sys.version_info < (3, 10), reason="sys.stdlib_module_names is 3.10+")
def test_the_protocol_imports_only_the_standard_library() -> None:
    completed = subprocess.run(  # noqa: S603 - this interpreter, our own file
        [sys.executable, "-I", "-c", LOAD_AND_LIST, str(PROTOCOL_FILE)],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = {name.split(".")[0] for name in json.loads(completed.stdout)}

    assert loaded <= set(sys.stdlib_module_names), loaded - set(sys.stdlib_module_names)


def test_the_cell_package_copied_into_environments_holds_the_protocol(tmp_path: Path) -> None:
    copied = prepare_cellpath(tmp_path) / CELL_PACKAGE / PROTOCOL_FILE.name

    assert copied.read_bytes() == PROTOCOL_FILE.read_bytes()


def test_the_protocol_imports_under_python_3_7_with_the_same_events(tmp_path: Path) -> None:
    python = installed_python37()
    if python is None:
        pytest.skip("no pyenv Python 3.7 is installed")
    code = (
        "import json, sys; from kerascompat_cell import protocol as p; "
        "print(json.dumps([sys.version_info[:2], {k: p.fields(k) for k in p.EVENTS}]))"
    )
    completed = subprocess.run(  # noqa: S603 - a discovered interpreter, our own code
        [str(python), "-c", code],
        env={"PYTHONPATH": str(prepare_cellpath(tmp_path))},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr

    version, events = json.loads(completed.stdout)
    assert version == [3, 7]
    assert events == {kind: list(protocol.fields(kind)) for kind in protocol.EVENTS}


def test_every_event_kind_has_a_handler_in_the_controller() -> None:
    missing = [kind for kind in protocol.EVENTS if not callable(getattr(CellRun, f"on_{kind}", 0))]

    assert missing == []


def test_an_unknown_event_kind_is_an_error_that_names_it(tmp_path: Path) -> None:
    with pytest.raises(ProtocolError, match=r"unknown event kind 'progress' in .*events\.jsonl"):
        CellRun().apply({"event": "progress", "test": "t.py::test_a"}, tmp_path / "events.jsonl")
    with pytest.raises(ProtocolError, match="unknown event kind None"):
        CellRun().apply({"test": "t.py::test_a"})


def test_the_worker_writes_every_event_with_exactly_its_declared_fields(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setattr(fixtures, "_STACKS", {})
    pytester.makepyfile(
        test_some="""
        import warnings
        import pytest

        @pytest.mark.keras_compat(api="json.dumps")
        def test_passes():
            warnings.warn("json.dumps is deprecated", DeprecationWarning)

        @pytest.mark.keras_compat
        def test_fails():
            import json
            json.no_such_name
        """,
        test_broken="from json import no_such_name\n",
    )
    events = pytester.path / "events.jsonl"
    common = ("-p", "pytest_kerascompat.cell.worker", "-p", "no:kerascompat")
    pytester.runpytest(*common, f"--kc-results={events}", "--continue-on-collection-errors")
    monkeypatch.setattr(fixtures, "_STACKS", {})
    pytester.runpytest(*common, f"--kc-results={events}", "--kc-require=no_such_module_here")
    # Registered before parsing, as in a cell, the worker records a configuration refused.
    pytester.runpytest(
        "-p", "no:kerascompat", f"--kc-results={events}", "--no-such-option", plugins=[worker]
    )

    written = [json.loads(line) for line in events.read_text(encoding="utf-8").splitlines()]
    kinds = {event["event"] for event in written}
    assert kinds == set(protocol.EVENTS) - {protocol.CASUALTY}
    for event in written:
        assert tuple(sorted(event)) == tuple(sorted(protocol.fields(event["event"]))), event
    for event in written:
        for test in event.get("tests", ()):
            assert sorted(test) == sorted(protocol.CollectedTest.__annotations__)
        for entry in event.get("warnings", ()):
            assert sorted(entry) == sorted(protocol.WarningEntry.__annotations__)
        if event.get("missing"):
            assert sorted(event["missing"]) == sorted(protocol.Missing.__annotations__)
