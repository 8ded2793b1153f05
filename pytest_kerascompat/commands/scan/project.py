"""Across the scanned files: dataset classes whose ``__init__`` never reaches Keras's.

One file shows ``class Batches(BaseBatches)`` and ``super().__init__()``; whether that
reaches ``keras.utils.Sequence.__init__`` depends on ``BaseBatches`` in another file.
Keras 3 warns at every such dataset's construction, so the scanner follows the chain
through every file it read: a class is found where its own ``__init__`` is (the line a
user changes), naming the base in the other file that breaks the chain.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterable, Iterator
from pathlib import PurePath

from pytest_kerascompat.commands.scan.facts import DATASET_BASES, FUNCTIONS, FileFacts
from pytest_kerascompat.commands.scan.rules import Match, calls_base_init
from pytest_kerascompat.model.changes import DatasetWithoutSuperInit, KnownChange

#: How many bases deep a chain is followed (a cycle of names ends here too).
MAX_DEPTH = 20


@dataclasses.dataclass(frozen=True)
class ClassFacts:
    """What the cross-file pass needs of one class of one file."""

    name: str
    module: str
    path: str
    #: Every dotted name each base may stand for, through the file's imports.
    bases: tuple[frozenset[str], ...]
    keras_base: bool
    init: ast.FunctionDef | ast.AsyncFunctionDef | None
    calls_base_init: bool


def module_name(path: str) -> str:
    """``src/pkg/data.py`` -> ``src.pkg.data``: matched by its end against imports."""
    parts = PurePath(path).with_suffix("").parts
    return ".".join(part for part in parts if part not in ("", ".", "/"))


def class_facts(path: str, tree: ast.Module) -> list[ClassFacts]:
    facts = FileFacts(tree)
    module = module_name(path)
    relative = relative_imports(tree, module)
    found = []
    for cls in facts.classes:
        bases = tuple(facts.qualified(base) | local_name(base, relative) for base in cls.bases)
        init = next(
            (item for item in cls.body if isinstance(item, FUNCTIONS) and item.name == "__init__"),
            None,
        )
        found.append(
            ClassFacts(
                name=cls.name,
                module=module,
                path=path,
                bases=bases,
                keras_base=any(names & DATASET_BASES for names in bases),
                init=init,
                calls_base_init=init is not None and calls_base_init(init, cls),
            )
        )
    return found


def local_name(base: ast.AST, relative: dict[str, str]) -> frozenset[str]:
    """A base named in this file: itself (a class of the file), or a relative import."""
    if not isinstance(base, ast.Name):
        return frozenset()
    return frozenset({base.id, relative[base.id]} if base.id in relative else {base.id})


def relative_imports(tree: ast.Module, module: str) -> dict[str, str]:
    """``from .base import Batches`` in ``pkg.data``: ``Batches`` -> ``pkg.base.Batches``."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            package = module.split(".")[: -node.level]
            prefix = ".".join([*package, *([node.module] if node.module else [])])
            for alias in node.names:
                found[alias.asname or alias.name] = f"{prefix}.{alias.name}"
    return found


class ProjectClasses:
    """Every class of every scanned file, looked up by the names imports give them."""

    def __init__(self, classes: Iterable[ClassFacts]) -> None:
        self.by_name: dict[str, list[ClassFacts]] = {}
        for cls in classes:
            self.by_name.setdefault(cls.name, []).append(cls)

    def resolve(self, names: frozenset[str], where: ClassFacts) -> ClassFacts | None:
        """The scanned class a base stands for: same file, or an import naming its module."""
        for name in names:
            module, _, short = name.rpartition(".")
            for candidate in self.by_name.get(short, ()):
                if candidate is where:
                    continue
                same_file = not module and candidate.module == where.module
                imported = bool(module) and (
                    candidate.module == module or candidate.module.endswith(f".{module}")
                )
                if same_file or imported:
                    return candidate
        return None

    def dataset_base(self, cls: ClassFacts, depth: int = 0) -> ClassFacts | None:
        """The scanned base through which ``cls`` is a Keras dataset, if it is one."""
        if depth > MAX_DEPTH:
            return None
        for names in cls.bases:
            base = self.resolve(names, cls)
            if base is not None and (base.keras_base or self.dataset_base(base, depth + 1)):
                return base
        return None

    def within_its_file(self, cls: ClassFacts, depth: int = 0) -> bool:
        """Whether the file of ``cls`` alone shows it is a Keras dataset (the per-file rule's)."""
        if cls.keras_base:
            return True
        base = self.dataset_base(cls)
        if base is None or base.path != cls.path or depth > MAX_DEPTH:
            return False
        return self.within_its_file(base, depth + 1)

    def breaks_chain(self, cls: ClassFacts, depth: int = 0) -> ClassFacts | None:
        """The class on the way from ``cls`` to Keras whose ``__init__`` stops the chain."""
        if depth > MAX_DEPTH:
            return None
        if cls.init is not None and not cls.calls_base_init:
            return cls
        if cls.keras_base:
            return None
        base = self.dataset_base(cls)
        return self.breaks_chain(base, depth + 1) if base is not None else None


def cross_file_matches(
    modules: Iterable[tuple[str, ast.Module]], changes: Iterable[KnownChange]
) -> Iterator[tuple[str, Match]]:
    """``(path, match)`` for each dataset class whose chain to Keras needs another file to
    see, and breaks; what one file shows alone is the per-file rule's."""
    change = next((c for c in changes if isinstance(c.scan, DatasetWithoutSuperInit)), None)
    if change is None:
        return
    project = ProjectClasses(cls for path, tree in modules for cls in class_facts(path, tree))
    for classes in project.by_name.values():
        for cls in classes:
            base = project.dataset_base(cls)
            if base is None or cls.init is None or project.within_its_file(cls):
                continue  # not a dataset, its base's finding says it, or the per-file rule's
            stop = project.breaks_chain(cls)
            if stop is None:
                continue
            if stop is cls:
                how = "does not call super().__init__()"
            else:
                how = f"calls super().__init__(), but {stop.name}.__init__ ({stop.path}) does not"
            message = (
                f"{cls.name}.__init__ ({base.name} subclass, a Keras dataset through "
                f"{base.path}) {how}"
            )
            yield cls.path, Match(change, cls.init.lineno, cls.init.col_offset, message)
