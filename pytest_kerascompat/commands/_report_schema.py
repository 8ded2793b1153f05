"""The shape a JSON report must have before ``merge`` or ``diff`` trusts it.

A shard comes from another job, another machine, or a hand edit: it is checked field by
field (types, known statuses and outcomes, squares only of the cells it declares, a
bounded nesting depth) so a malformed one is a usage error naming the file and the
field, never a traceback or a table built from values nobody observed. Fields this
release does not know are left alone, as :meth:`Report.from_dict` ignores them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pytest_kerascompat.config._validation import cell_name_problem
from pytest_kerascompat.model.results import CellStatus, Outcome

#: Deeper than any report this tool writes (a merge of merges nests ``run.shards``).
MAX_DEPTH = 32

Check = Callable[[Any], bool]


def text(value: Any) -> bool:
    return isinstance(value, str)


def optional(check: Check) -> Check:
    return lambda value: value is None or check(value)


def number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def flag(value: Any) -> bool:
    return isinstance(value, bool)


def texts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def text_mapping(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(item, str) for item in value.values())


def one_of(choices: set[str]) -> Check:
    return lambda value: value in choices


def warnings(value: Any) -> bool:
    fields: dict[str, Check] = {
        "category": optional(text),
        "message": optional(text),
        "filename": optional(text),
        "lineno": optional(whole),
    }
    return isinstance(value, list) and all(
        isinstance(item, dict) and not mismatched(item, fields) for item in value
    )


def git(value: Any) -> bool:
    return value is None or (
        isinstance(value, dict) and text(value.get("commit")) and flag(value.get("dirty"))
    )


def objects(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


OPTIONAL_TEXT = optional(text)
OPTIONAL_NUMBER = optional(number)
STATUS = one_of({status.value for status in CellStatus})
OUTCOME = one_of({outcome.value for outcome in Outcome})
CELL_FIELDS: dict[str, Check] = {
    "name": text,
    "status": STATUS,
    **dict.fromkeys(
        (
            "python",
            "executable",
            "tensorflow",
            "keras",
            "backend",
            "detail",
            "keras_module",
            "worker_log",
        ),
        OPTIONAL_TEXT,
    ),
    "requirements": texts,
    "pins": texts,
    "installed": texts,
    "env": text_mapping,
    "duration": OPTIONAL_NUMBER,
}
RESULT_FIELDS: dict[str, Check] = {
    "cell": text,
    "test": text,
    "outcome": OUTCOME,
    **dict.fromkeys(
        ("api", "message", "exc_type", "hint", "detail", "rule", "longrepr", "failed_module"),
        OPTIONAL_TEXT,
    ),
    "duration": OPTIONAL_NUMBER,
    "probe": flag,
    "warnings": warnings,
    "warnings_omitted": whole,
}
RUN_FIELDS: dict[str, Check] = {
    "started": text,
    **dict.fromkeys(("finished", "tool_version", "python", "platform"), OPTIONAL_TEXT),
    "git": git,
    "selection": lambda value: isinstance(value, dict),
    "shards": objects,
}
REQUIRED = {"cells": ("name",), "results": ("cell", "test", "outcome"), "run": ("started",)}
DESCRIBED = {
    text: "a string",
    OPTIONAL_TEXT: "a string or null",
    OPTIONAL_NUMBER: "a number or null",
    texts: "a list of strings",
    text_mapping: "an object of strings",
    flag: "true or false",
    whole: "a whole number",
    warnings: "a list of {category, message, filename, lineno} objects",
    git: "null or {commit, dirty}",
    objects: "a list of objects",
    STATUS: f"one of {', '.join(status.value for status in CellStatus)}",
    OUTCOME: f"one of {', '.join(outcome.value for outcome in Outcome)}",
}


def report_problem(data: Any) -> str | None:
    """What is wrong with ``data`` as a report (``cells[2].status: ...``), or None."""
    if not isinstance(data, dict):
        return "not a JSON object"
    deep = too_deep(data)
    if deep:
        return deep
    for section in ("cells", "results"):
        if not isinstance(data.get(section), list):
            return f"{section}: expected a list"
    declared: set[str] = set()
    for position, cell in enumerate(data["cells"]):
        problem = entry_problem(cell, CELL_FIELDS, REQUIRED["cells"])
        if problem is None and cell_name_problem(cell["name"]):
            problem = f"name: {cell_name_problem(cell['name'])}"
        if problem is None and cell["name"] in declared:
            problem = f"name: cell {cell['name']!r} is listed twice"
        if problem:
            return located(f"cells[{position}]", problem)
        declared.add(cell["name"])
    for position, result in enumerate(data["results"]):
        problem = entry_problem(result, RESULT_FIELDS, REQUIRED["results"])
        if problem is None and result["cell"] not in declared:
            problem = f"cell: {result['cell']!r} is not one of the report's cells"
        if problem:
            return located(f"results[{position}]", problem)
    run = data.get("run")
    if run is not None:
        problem = entry_problem(run, RUN_FIELDS, REQUIRED["run"])
        if problem:
            return located("run", problem)
    return None


def located(where: str, problem: str) -> str:
    """``cells[2].status: expected ...``, or ``cells[2]: expected an object``."""
    return f"{where}{problem}" if problem.startswith(":") else f"{where}.{problem}"


def entry_problem(entry: Any, fields: Mapping[str, Check], required: tuple[str, ...]) -> str | None:
    if not isinstance(entry, dict):
        return ": expected an object"
    for name in required:
        if name not in entry:
            return f"{name}: missing"
    return mismatched(entry, fields)


def mismatched(entry: Mapping[str, Any], fields: Mapping[str, Check]) -> str | None:
    for name, check in fields.items():
        if name in entry and not check(entry[name]):
            expected = DESCRIBED.get(check, "another type")
            return f"{name}: expected {expected}, not {short(entry[name])}"
    return None


def short(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def too_deep(data: Any) -> str | None:
    """Checked without recursion, so the check itself cannot overflow the stack."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_DEPTH:
            return f"nested more than {MAX_DEPTH} levels deep"
        children = value.values() if isinstance(value, dict) else value
        if isinstance(value, (dict, list)):
            pending.extend((child, depth + 1) for child in children)
    return None
