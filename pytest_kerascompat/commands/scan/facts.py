"""What the matchers need to know about one parsed file, gathered in one walk of its tree.

Names resolve through the file's own imports only (nothing is imported or run), so
``tf.keras.preprocessing`` and a standalone ``keras.preprocessing`` are told apart, and a
``Sequence`` from :mod:`collections.abc` is never taken for Keras's. Bindings are read
the way Python looks names up (innermost scope, enclosing functions, module) and a name
is trusted only when every binding of it is a plain ``name = value``.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Iterator

from pytest_kerascompat.model.changes import keras_names

KERAS_PREFIXES = ("keras.", "tensorflow.keras.", "tf_keras.")
MODEL_CLASSES = ("Model", "Sequential")
DATASET_BASES = frozenset(keras_names("utils.Sequence", "utils.PyDataset"))
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
SCOPES = (ast.Module, *FUNCTIONS, ast.Lambda, ast.ClassDef)


class FileFacts:
    """The nodes of one file by kind, with their parents, imports, scopes and classes."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self._qualified: dict[ast.AST, frozenset[str]] = {}
        self.parents: dict[ast.AST, ast.AST] = {}
        self.nodes: list[ast.AST] = [tree]
        for node in self.nodes:  # grows as it goes: one breadth-first walk
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
                self.nodes.append(child)
        self.calls = [node for node in self.nodes if isinstance(node, ast.Call)]
        self.attributes = [node for node in self.nodes if isinstance(node, ast.Attribute)]
        self.import_statements = [
            node for node in self.nodes if isinstance(node, (ast.Import, ast.ImportFrom))
        ]
        self.classes = [node for node in self.nodes if isinstance(node, ast.ClassDef)]
        self.imports = import_bindings(self.import_statements)
        self.keras_models = self.subclasses(is_keras_model)
        self.datasets = self.subclasses(DATASET_BASES.__contains__)
        self.other_methods = methods_outside(self.classes, self.keras_models)
        self.generators = generator_functions(self)
        self.bindings = scope_bindings(self)

    def qualified(self, node: ast.AST) -> frozenset[str]:
        """Every dotted name ``node`` can stand for, through the file's imports."""
        known = self._qualified.get(node)
        if known is None:
            if isinstance(node, ast.Name):
                known = frozenset(self.imports.get(node.id, ()))
            elif isinstance(node, ast.Attribute):
                known = frozenset(f"{name}.{node.attr}" for name in self.qualified(node.value))
            else:
                known = frozenset()
            self._qualified[node] = known
        return known

    def subclasses(self, base_matches: Callable[[str], bool]) -> dict[str, ast.ClassDef]:
        """Classes of this file whose bases match (through imports), or are such classes."""
        found: dict[str, ast.ClassDef] = {}
        changed = True
        while changed:
            changed = False
            for cls in self.classes:
                if cls.name not in found and any(
                    (isinstance(base, ast.Name) and base.id in found)
                    or any(base_matches(name) for name in self.qualified(base))
                    for base in cls.bases
                ):
                    found[cls.name] = cls
                    changed = True
        return found

    def enclosing(self, node: ast.AST, kinds: tuple[type, ...]) -> ast.AST | None:
        parent = self.parents.get(node)
        while parent is not None and not isinstance(parent, kinds):
            parent = self.parents.get(parent)
        return parent

    def bound_values(self, node: ast.AST, name: str) -> list[ast.AST | None]:
        """The values ``name`` may hold where ``node`` is (None for an unknown one).

        Looked up as Python does: the innermost scope, then the enclosing functions
        (never a class body), then the module. Empty when the file never binds it.
        """
        scope = self.enclosing(node, SCOPES)
        innermost = True
        while scope is not None:
            if innermost or not isinstance(scope, ast.ClassDef):
                values = self.bindings.get(scope, {}).get(name)
                if values is not None:
                    return values
            innermost = False
            scope = self.enclosing(scope, SCOPES)
        return []


def methods_outside(classes: list[ast.ClassDef], models: dict[str, ast.ClassDef]) -> dict[str, str]:
    """Method name to the first class of this file defining it that is not a Keras model."""
    methods: dict[str, str] = {}
    for cls in classes:
        if cls.name in models:
            continue
        for item in cls.body:
            if isinstance(item, FUNCTIONS):
                methods.setdefault(item.name, cls.name)
    return methods


def is_keras_model(name: str) -> bool:
    return name.startswith(KERAS_PREFIXES) and name.rsplit(".", 1)[-1] in MODEL_CLASSES


def import_bindings(nodes: Iterable[ast.AST]) -> dict[str, set[str]]:
    """Local name to the dotted names it may be bound to (``try``/``except`` imports give two)."""
    bindings: dict[str, set[str]] = {}
    for node in nodes:
        for local, qualified in imported_names(node):
            bindings.setdefault(local, set()).add(qualified)
    return bindings


def imported_names(node: ast.AST) -> Iterator[tuple[str, str]]:
    """``(local name, dotted name it is bound to)`` for each name an import binds."""
    for alias, dotted in import_aliases(node):
        if isinstance(node, ast.Import) and not alias.asname:
            root = dotted.split(".", 1)[0]
            yield root, root
        else:
            yield alias.asname or alias.name, dotted


def direct_imports(node: ast.AST) -> Iterator[tuple[int, int, str]]:
    """``(line, col_offset, dotted name)`` of what an import statement brings in.

    ``import a.b.c`` brings in ``a.b.c`` even though it binds only ``a``. Before Python
    3.10 an alias has no position, so the statement's is used.
    """
    if not isinstance(node, (ast.Import, ast.ImportFrom)):
        return
    for alias, dotted in import_aliases(node):
        line = getattr(alias, "lineno", node.lineno)
        yield line, getattr(alias, "col_offset", node.col_offset), dotted


def import_aliases(node: ast.AST) -> Iterator[tuple[ast.alias, str]]:
    """Each alias of an absolute import with the dotted name it imports (no ``*``)."""
    if isinstance(node, ast.Import):
        yield from ((alias, alias.name) for alias in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
        for alias in node.names:
            if alias.name != "*":
                yield alias, f"{node.module}.{alias.name}"


def generator_functions(facts: FileFacts) -> set[str]:
    """Names of the functions (not methods) of this file that are generators, and only those.

    A name also defined as an ordinary function, or as a method, is left out: which one
    a call reaches is not known without running the code.
    """
    with_yield = {
        facts.enclosing(node, (*FUNCTIONS, ast.Lambda))
        for node in facts.nodes
        if isinstance(node, (ast.Yield, ast.YieldFrom))
    }
    generators: set[str] = set()
    others: set[str] = set()
    for node in facts.nodes:
        if isinstance(node, FUNCTIONS):
            method = isinstance(facts.parents.get(node), ast.ClassDef)
            (generators if node in with_yield and not method else others).add(node.name)
    return generators - others


def scope_bindings(facts: FileFacts) -> dict[ast.AST, dict[str, list[ast.AST | None]]]:
    """For each scope, each name bound in it with every value bound to it.

    A binding whose value is unknown (a parameter, a loop target, ``x += ...``,
    ``with ... as x``) is recorded as None.
    """
    bound: dict[ast.AST, dict[str, list[ast.AST | None]]] = {}

    def bind(scope: ast.AST | None, name: str, value: ast.AST | None) -> None:
        if scope is not None:
            bound.setdefault(scope, {}).setdefault(name, []).append(value)

    plain: set[ast.AST] = set()
    for node in facts.nodes:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                plain.add(target)
                bind(facts.enclosing(node, SCOPES), target.id, node.value)
        elif isinstance(node, ast.arg):
            bind(facts.enclosing(node, (*FUNCTIONS, ast.Lambda)), node.arg, None)
    for node in facts.nodes:
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node not in plain:
            bind(facts.enclosing(node, SCOPES), node.id, None)
    return bound
