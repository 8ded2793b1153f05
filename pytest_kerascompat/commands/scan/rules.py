"""The table's scan patterns, matched against one parsed file.

Where the scanner cannot know a receiver's type (``x.fit_generator()``), it says so
instead of guessing: a call whose method the file also defines on a class that is not
a Keras model is reported as unsure. Where a rule would need the type to be right at
all (``class_weight=`` with a generator), it reports only what it is sure of.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterable, Iterator

from pytest_kerascompat.commands.scan.facts import (
    DATASET_BASES,
    FUNCTIONS,
    KERAS_PREFIXES,
    FileFacts,
    direct_imports,
)
from pytest_kerascompat.model.changes import (
    DatasetWithoutSuperInit,
    GeneratorWithClassWeight,
    KnownChange,
    MethodCall,
    QualifiedName,
)

MAX_EXPRESSION = 40


@dataclasses.dataclass(frozen=True)
class Match:
    """One place in the file where a change's pattern matched."""

    change: KnownChange
    line: int
    col_offset: int
    message: str
    confident: bool = True


# --- matchers: one per kind of pattern ---------------------------------------------------


def match_changes(tree: ast.Module, changes: Iterable[KnownChange]) -> list[Match]:
    facts = FileFacts(tree)
    matches: list[Match] = []
    for change in changes:
        pattern = change.scan
        if isinstance(pattern, MethodCall):
            matches += match_method_call(facts, change, pattern)
        elif isinstance(pattern, QualifiedName):
            matches += match_qualified_name(facts, change, pattern)
        elif isinstance(pattern, GeneratorWithClassWeight):
            matches += match_class_weight(facts, change)
        elif isinstance(pattern, DatasetWithoutSuperInit):
            matches += match_dataset_init(facts, change)
    return matches


def short(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= MAX_EXPRESSION else text[: MAX_EXPRESSION - 3] + "..."


def effect(change: KnownChange) -> str:
    return "this breaks" if change.breaks else "this warns"


def match_method_call(
    facts: FileFacts, change: KnownChange, pattern: MethodCall
) -> Iterator[Match]:
    for call in facts.calls:
        func = call.func
        if not isinstance(func, ast.Attribute) or func.attr not in pattern.methods:
            continue
        place = argument_place(call, pattern)
        if place is None:
            continue
        line, col, what = place
        owner = own_class_with_method(facts, call, func)
        if owner is not None:
            message = (
                f"a method called {func.attr}() ({owner} in this file has one and is not a "
                f"Keras model): if {short(func.value)} is a Keras model, {effect(change)}"
            )
            yield Match(change, line, col, message, confident=False)
        else:
            yield Match(change, line, col, f"{short(func.value)}.{func.attr}(){what}")


def argument_place(call: ast.Call, pattern: MethodCall) -> tuple[int, int, str] | None:
    """Where to point for this call, and what to add to the message; None if it does not match.

    Without keywords the method name is the place; with keywords, the first one passed
    (every one passed is named, so one fix clears the call).
    """
    func = call.func
    assert isinstance(func, ast.Attribute)
    if not pattern.keywords:
        line = func.end_lineno or func.lineno
        col = (func.end_col_offset or 0) - len(func.attr)
        return line, max(col, 0), " is called"
    passed = [keyword for keyword in call.keywords if keyword.arg in pattern.keywords]
    if passed:
        names = ", ".join(f"{keyword.arg}=" for keyword in passed)
        return passed[0].lineno, passed[0].col_offset, f" is called with {names}"
    position = pattern.position
    if position is not None and len(call.args) > position:
        before = call.args[: position + 1]
        if not any(isinstance(argument, ast.Starred) for argument in before):
            argument = call.args[position]
            name = pattern.keywords[0]
            return (
                argument.lineno,
                argument.col_offset,
                f" is called with {name} as positional argument {position + 1}",
            )
    return None


def own_class_with_method(facts: FileFacts, call: ast.Call, func: ast.Attribute) -> str | None:
    """The name of a non-Keras class of this file that defines the method called, if any.

    None when there is no such class, or when the receiver is known to be a Keras model
    (``self`` in a Keras model subclass, or a name bound only to what a Keras call returns).
    """
    owner = facts.other_methods.get(func.attr)
    if owner is None or receiver_is_keras_model(facts, call, func.value):
        return None
    return owner


def receiver_is_keras_model(facts: FileFacts, call: ast.Call, receiver: ast.AST) -> bool:
    if is_self_or_super(receiver):
        cls = facts.enclosing(call, (ast.ClassDef,))
        return isinstance(cls, ast.ClassDef) and cls.name in facts.keras_models
    if isinstance(receiver, ast.Name):
        values = facts.bound_values(call, receiver.id)
        return bool(values) and all(
            isinstance(value, ast.Call)
            and any(name.startswith(KERAS_PREFIXES) for name in facts.qualified(value.func))
            for value in values
        )
    return False


def is_self_or_super(receiver: ast.AST) -> bool:
    if isinstance(receiver, ast.Name):
        return receiver.id == "self"
    return (
        isinstance(receiver, ast.Call)
        and isinstance(receiver.func, ast.Name)
        and receiver.func.id == "super"
    )


def match_qualified_name(
    facts: FileFacts, change: KnownChange, pattern: QualifiedName
) -> Iterator[Match]:
    if pattern.keywords:
        yield from match_qualified_call(facts, change, pattern)
        return

    def inside(name: str) -> bool:
        return any(name == target or name.startswith(target + ".") for target in pattern.names)

    for statement in facts.import_statements:
        for line, col, name in direct_imports(statement):
            if inside(name):
                yield Match(change, line, col, f"{name} is imported")
    for node in facts.attributes:
        names = [name for name in sorted(facts.qualified(node)) if inside(name)]
        if names and not any(inside(name) for name in facts.qualified(node.value)):
            yield Match(change, node.lineno, node.col_offset, f"{names[0]} is used")


def match_qualified_call(
    facts: FileFacts, change: KnownChange, pattern: QualifiedName
) -> Iterator[Match]:
    for call in facts.calls:
        names = sorted(facts.qualified(call.func) & set(pattern.names))
        if not names:
            continue
        for keyword in call.keywords:
            if keyword.arg in pattern.keywords:
                message = f"{names[0]}() is called with {keyword.arg}="
                yield Match(change, keyword.lineno, keyword.col_offset, message)


def match_class_weight(facts: FileFacts, change: KnownChange) -> Iterator[Match]:
    """``fit(<generator>, class_weight=...)``, only where the data is surely a generator."""
    for call in facts.calls:
        func = call.func
        if not isinstance(func, ast.Attribute) or func.attr != "fit":
            continue
        weight = next((k for k in call.keywords if k.arg == "class_weight"), None)
        if weight is None or is_none(weight.value):
            continue
        data = call.args[0] if call.args else keyword_value(call, "x")
        why = generator_reason(facts, call, data)
        if why is not None:
            message = f"fit() is called with class_weight= and a Python generator ({why})"
            yield Match(change, weight.lineno, weight.col_offset, message)


def is_none(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def keyword_value(call: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def generator_reason(facts: FileFacts, call: ast.Call, data: ast.AST | None) -> str | None:
    """Why ``data`` is a generator: a generator expression, a call of a generator function
    of this file, or a name every binding of which is such a call. None when unsure."""
    if isinstance(data, ast.GeneratorExp):
        return "a generator expression"
    if isinstance(data, ast.Call) and is_generator_call(facts, data):
        return f"{short(data.func)}() is a generator function of this file"
    if isinstance(data, ast.Name):
        values = facts.bound_values(call, data.id)
        if values and all(is_generator_call(facts, value) for value in values):
            return f"{data.id} is bound to a generator function's call"
    return None


def is_generator_call(facts: FileFacts, node: ast.AST | None) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in facts.generators
    )


def match_dataset_init(facts: FileFacts, change: KnownChange) -> Iterator[Match]:
    """A Keras dataset class whose own ``__init__`` never calls its base's ``__init__``."""
    for cls in facts.datasets.values():
        init = next(
            (item for item in cls.body if isinstance(item, FUNCTIONS) and item.name == "__init__"),
            None,
        )
        if init is None or calls_base_init(init, cls):
            continue
        base = next(short(base) for base in cls.bases if is_dataset_base(facts, base))
        message = f"{cls.name}.__init__ ({base} subclass) does not call super().__init__()"
        yield Match(change, init.lineno, init.col_offset, message)


def is_dataset_base(facts: FileFacts, base: ast.AST) -> bool:
    local = isinstance(base, ast.Name) and base.id in facts.datasets
    return local or bool(facts.qualified(base) & DATASET_BASES)


def calls_base_init(init: ast.AST, cls: ast.ClassDef) -> bool:
    """``super().__init__()``, ``super(C, self).__init__()`` or ``Base.__init__(self)``."""
    bases = {ast.dump(base) for base in cls.bases}
    for call in (node for node in ast.walk(init) if isinstance(node, ast.Call)):
        func = call.func
        if not isinstance(func, ast.Attribute) or func.attr != "__init__":
            continue
        if is_self_or_super(func.value) and isinstance(func.value, ast.Call):
            return True
        if ast.dump(func.value) in bases:
            return True
    return False
