"""``matrix.yaml`` to validated, frozen cell specifications.

Every mistake becomes a :class:`MatrixError` naming the file, the line, the cell and
the key, so the plugin can turn it into a usage error instead of a traceback.

An entry giving lists for ``tensorflow``, ``keras``, ``python`` or ``backend`` stands
for their product, as a GitHub Actions matrix does, less the combinations its
``exclude`` list names; each combination becomes a cell of its own (see
:func:`product_name`), so everything downstream sees only single cells.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import re
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from pytest_kerascompat.config._validation import (
    BACKENDS,
    ENV_NAME,
    CommandError,
    cell_name_problem,
    parse_timeout,
)

TOP_LEVEL_KEYS = ("defaults", "project", "cells")
DEFAULT_KEYS = ("timeout", "packages", "env", "pins")
CELL_KEYS = (
    "name",
    "tensorflow",
    "python",
    "keras",
    "backend",
    "packages",
    "env",
    "timeout",
    "pins",
    "exclude",
)
#: The keys that may hold a list, in the order a product varies them (the last fastest).
PRODUCT_KEYS = ("tensorflow", "keras", "python", "backend")
#: How each key's value is labelled in a generated cell name.
PRODUCT_LABELS = {"tensorflow": "tf", "keras": "keras", "python": "py", "backend": ""}
SPECIFIER_WORDS = (("===", "eq"), ("==", ""), (">=", "ge"), ("<=", "le"), ("!=", "ne"),
                   ("~=", "compat"), (">", "gt"), ("<", "lt"), ("*", "x"), (",", "_"))  # fmt: skip
DEFAULT_TIMEOUT = 300.0
SPECIFIER_START = ("==", "!=", "<", ">", "~=", "===")
#: Bounds on what a matrix file may ask of the loader, so a hostile or broken one is a
#: usage error in milliseconds: its size, how deeply it nests, and how many values its
#: aliases stand for once expanded (a few hundred bytes of aliases can stand for billions).
MAX_MATRIX_BYTES = 1024 * 1024
MAX_DEPTH = 50
MAX_EXPANDED_VALUES = 10_000
MERGE_TAG = "tag:yaml.org,2002:merge"


class MatrixError(CommandError):
    """A mistake in a matrix file, located as precisely as the YAML allows."""

    def __init__(
        self,
        path: Path,
        problem: str,
        *,
        line: int | None = None,
        cell: str | None = None,
        key: str | None = None,
    ) -> None:
        self.path, self.problem, self.line, self.cell, self.key = path, problem, line, cell, key
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        parts = [where]
        if self.cell is not None:
            parts.append(f"cell {self.cell!r}")
        if self.key is not None:
            parts.append(f"key {self.key!r}")
        return ": ".join([*parts, self.problem])


@dataclasses.dataclass(frozen=True)
class CellSpec:
    """One cell as the user wrote it, normalised but not yet resolved."""

    name: str
    tensorflow: str | None = None
    python: str | None = None
    keras: str | None = None
    backend: str | None = None
    packages: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    pins: bool = True
    #: The matrix file the cell came from (``cache list`` names it); not part of its identity.
    matrix_file: str | None = dataclasses.field(default=None, compare=False)

    @property
    def anchors(self) -> tuple[Requirement, ...]:
        """The requirements that decide which interpreter a cell can use."""
        return tuple(Requirement(text) for text in (self.tensorflow, self.keras) if text)

    @property
    def keras_module(self) -> str:
        """The Keras under test: standalone ``keras`` when the cell names one."""
        return "keras" if self.keras else "tf.keras"

    @property
    def env_dict(self) -> dict[str, str]:
        return dict(self.env)


@dataclasses.dataclass(frozen=True)
class Matrix:
    """A whole matrix file."""

    path: Path
    cells: tuple[CellSpec, ...]
    project: str | None = None

    def select(self, names: list[str]) -> Matrix:
        """Keep the named cells; an unknown name is the user's mistake, located in the file."""
        known = [cell.name for cell in self.cells]
        for name in names:
            if name not in known:
                raise MatrixError(
                    self.path,
                    f"--keras-cells names {name!r}, which is not a cell here"
                    f"{did_you_mean(name, known)}; cells: {', '.join(known)}",
                )
        return dataclasses.replace(self, cells=tuple(c for c in self.cells if c.name in names))


class _Number(str):
    """A YAML number kept as written, so ``2.10`` stays ``2.10`` and never becomes ``2.1``."""


class _LocatingLoader(yaml.SafeLoader):
    """A safe loader whose mappings remember the line of each key, and which refuses
    documents nested or expanding beyond the bounds above before building anything."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                problem = f"nested more than {MAX_DEPTH} levels deep"
                raise yaml.composer.ComposerError(None, None, problem, mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_number(self, node: yaml.ScalarNode) -> _Number:
        return _Number(node.value)

    def construct_located_mapping(self, node: yaml.MappingNode) -> _Located:
        """A key written twice is a mistake; a key a merge (``<<: *base``) brought in
        is one the mapping may override, as YAML's merge keys mean."""
        written = sum(1 for key_node, _ in node.value if key_node.tag != MERGE_TAG)
        self.flatten_mapping(node)
        first_written = len(node.value) - written
        mapping = _Located(line=node.start_mark.line + 1)
        seen: set[str] = set()
        for position, (key_node, value_node) in enumerate(node.value):
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise yaml.constructor.ConstructorError(
                    None, None, f"keys must be strings, not {key!r}", key_node.start_mark
                )
            if position >= first_written:
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark
                    )
                seen.add(key)
            mapping[key] = self.construct_object(value_node, deep=True)
            mapping.lines[key] = key_node.start_mark.line + 1
        return mapping


class _Located(dict[str, Any]):
    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.lines: dict[str, int] = {}


_LocatingLoader.add_constructor("tag:yaml.org,2002:int", _LocatingLoader.construct_number)
_LocatingLoader.add_constructor("tag:yaml.org,2002:float", _LocatingLoader.construct_number)
_LocatingLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _LocatingLoader.construct_located_mapping
)


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def load_matrix(path: Path) -> Matrix:
    """Read and validate a matrix file, reading no more than :data:`MAX_MATRIX_BYTES`."""
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_MATRIX_BYTES + 1)
    except FileNotFoundError:
        raise MatrixError(path, "the matrix file does not exist") from None
    except OSError as error:
        raise MatrixError(path, f"cannot read the matrix file: {error.strerror}") from None
    if len(data) > MAX_MATRIX_BYTES:
        raise MatrixError(
            path, f"larger than {MAX_MATRIX_BYTES // 1024} KiB, the most a matrix file may be"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MatrixError(path, f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    return parse_matrix(text, path)


def parse_matrix(text: str, path: Path) -> Matrix:
    if len(text) > MAX_MATRIX_BYTES:
        raise MatrixError(
            path, f"larger than {MAX_MATRIX_BYTES // 1024} KiB, the most a matrix file may be"
        )
    try:
        document = _load_bounded(text, path)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        problem = " ".join(part for part in (error.context, error.problem) if part)
        raise MatrixError(path, f"not valid YAML: {problem}", line=line) from None
    except yaml.YAMLError as error:
        raise MatrixError(path, f"not valid YAML: {error}") from None
    return _build_matrix(document, path)


def _load_bounded(text: str, path: Path) -> Any:
    """The document, built only once its node graph is known to stay within bounds."""
    loader = _LocatingLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        expanded = _expanded_size(node, {})
        if expanded > MAX_EXPANDED_VALUES:
            raise MatrixError(
                path,
                f"its aliases expand to more than {MAX_EXPANDED_VALUES:,} values (an alias "
                "bomb?); write the values out, or refer to fewer of them",
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many values ``node`` stands for with every alias expanded, counted once per
    shared node (so a bomb costs as much to measure as it takes to write); recursion is
    bounded by :data:`MAX_DEPTH`, which the composer enforced."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(
            _expanded_size(key, sizes) + _expanded_size(value, sizes) for key, value in node.value
        )
    sizes[id(node)] = size
    return size


def _build_matrix(document: Any, path: Path) -> Matrix:
    if not isinstance(document, _Located):
        raise MatrixError(path, "expected a mapping with a 'cells' list at the top level")
    _reject_unknown_keys(document, TOP_LEVEL_KEYS, path, cell=None)
    defaults = document.get("defaults") or _Located(document.lines.get("defaults", 1))
    if not isinstance(defaults, _Located):
        raise MatrixError(
            path, "expected a mapping", line=document.lines["defaults"], key="defaults"
        )
    _reject_unknown_keys(defaults, DEFAULT_KEYS, path, cell=None, section="defaults")
    cells_node = document.get("cells")
    if not isinstance(cells_node, list) or not cells_node:
        raise MatrixError(
            path,
            "expected a non-empty list of cells",
            line=document.lines.get("cells"),
            key="cells",
        )
    cells: list[CellSpec] = []
    for position, entry in enumerate(cells_node, start=1):
        for node in expand_entry(entry, position, path, document.lines["cells"]):
            cell = _build_cell(node, position, defaults, path, document.lines["cells"])
            if any(existing.name == cell.name for existing in cells):
                problem = "duplicate cell name"
                if node is not entry:
                    problem += " (generated by a product; give this entry a distinct 'name')"
                line = _line(node, "name")
                raise MatrixError(path, problem, line=line, cell=cell.name, key="name")
            cells.append(dataclasses.replace(cell, matrix_file=str(path.resolve())))
    project = _optional_text(document, "project", path, cell=None)
    return Matrix(path=path, cells=tuple(cells), project=project)


def _build_cell(
    node: Any, position: int, defaults: _Located, path: Path, list_line: int
) -> CellSpec:
    if not isinstance(node, _Located):
        raise MatrixError(
            path, f"cell #{position} must be a mapping with at least a 'name'", line=list_line
        )
    name = node.get("name")
    if not isinstance(name, str) or not name:
        raise MatrixError(path, f"cell #{position} needs a 'name'", line=node.line, key="name")
    problem = cell_name_problem(name)
    if problem:
        raise MatrixError(
            path,
            problem,
            line=_line(node, "name"),
            cell=name,
            key="name",
        )
    _reject_unknown_keys(node, CELL_KEYS, path, cell=name)
    backend = _optional_text(node, "backend", path, name)
    if backend is not None and backend not in BACKENDS:
        raise MatrixError(
            path,
            f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}",
            line=_line(node, "backend"),
            cell=name,
            key="backend",
        )
    return CellSpec(
        name=name,
        tensorflow=_package_requirement(node, "tensorflow", path, name),
        python=_python_request(node, path, name),
        keras=_package_requirement(node, "keras", path, name),
        backend=backend,
        packages=_requirements(defaults, "packages", path, None)
        + _requirements(node, "packages", path, name),
        env=tuple({**_env(defaults, path, None), **_env(node, path, name)}.items()),
        timeout=_timeout(node, path, name) or _timeout(defaults, path, None) or DEFAULT_TIMEOUT,
        pins=_flag(node, "pins", path, name, default=_flag(defaults, "pins", path, None, True)),
    )


def expand_entry(entry: Any, position: int, path: Path, list_line: int) -> list[Any]:
    """The cells one entry of ``cells`` stands for: itself, or its product less exclusions.

    Each generated cell is the entry with one value per listed key, and its own name;
    lines stay those of the entry's keys, so a mistake in a value is found where it is.
    """
    if not isinstance(entry, _Located):
        return [entry]
    varying = {key: entry[key] for key in PRODUCT_KEYS if isinstance(entry.get(key), list)}
    name = entry.get("name")
    label = name if isinstance(name, str) and name else f"cell #{position}"
    if not varying:
        if "exclude" in entry:
            raise MatrixError(
                path,
                "'exclude' applies to an entry that lists values for "
                f"{', '.join(PRODUCT_KEYS)}; this one lists none",
                line=_line(entry, "exclude"),
                cell=label,
                key="exclude",
            )
        return [entry]
    for key, values in varying.items():
        _check_product_values(entry, key, values, path, label)
    excluded = _exclusions(entry, varying, path, label)
    nodes = []
    for combination in itertools.product(*varying.values()):
        chosen = dict(zip(varying, (str(value) for value in combination)))
        if any(rule.items() <= chosen.items() for rule in excluded):
            continue
        node = _Located(entry.line)
        node.update({key: value for key, value in entry.items() if key != "exclude"})
        node.lines.update(entry.lines)
        node.update(chosen)
        node["name"] = product_name(name, chosen)
        nodes.append(node)
    if not nodes:
        raise MatrixError(
            path, "every combination is excluded", line=_line(entry, "exclude"), cell=label,
            key="exclude",
        )  # fmt: skip
    return nodes


def product_name(prefix: object, chosen: dict[str, str]) -> str:
    """``<name>-tf2.15-py3.11-jax``: the entry's name, then each listed key's label and value.

    Keys come in :data:`PRODUCT_KEYS` order; specifiers become words (``>=2.16`` is
    ``ge2.16``) and a Python given as a path its last part, so the name stays a valid
    cell name.
    """
    parts = [str(prefix)] if isinstance(prefix, str) and prefix else []
    for key, value in chosen.items():
        text = value.rsplit("/", 1)[-1]
        for symbol, word in SPECIFIER_WORDS:
            text = text.replace(symbol, word)
        parts.append(PRODUCT_LABELS[key] + re.sub(r"[^A-Za-z0-9._-]+", "", text))
    return "-".join(parts)


def _check_product_values(
    entry: _Located, key: str, values: list[Any], path: Path, label: str
) -> None:
    problem = None
    if not values:
        problem = "an empty list; give at least one value"
    elif any(isinstance(value, (list, dict, bool)) or value is None for value in values):
        problem = "a list may hold only versions or names (strings or numbers)"
    elif len({str(value) for value in values}) != len(values):
        problem = "a value is listed twice"
    if problem:
        raise MatrixError(path, problem, line=_line(entry, key), cell=label, key=key)


def _exclusions(
    entry: _Located, varying: dict[str, list[Any]], path: Path, label: str
) -> list[dict[str, str]]:
    """The ``exclude`` list: each item a mapping of listed keys to one of their values."""
    node = entry.get("exclude")
    if node is None:
        return []
    line = _line(entry, "exclude")
    if not isinstance(node, list) or not all(isinstance(item, _Located) for item in node):
        raise MatrixError(
            path, "expected a list of mappings such as {tensorflow: \"2.15\", backend: jax}",
            line=line, cell=label, key="exclude",
        )  # fmt: skip
    rules = []
    for item in node:
        rule = {}
        for key, value in item.items():
            where = _line(item, key)
            if key not in varying:
                raise MatrixError(
                    path, f"an exclusion may name only the keys this entry lists: "
                    f"{', '.join(varying)}", line=where, cell=label, key=f"exclude.{key}",
                )  # fmt: skip
            if str(value) not in {str(listed) for listed in varying[key]}:
                raise MatrixError(
                    path, f"{value!r} is not one of the values listed for {key!r}: "
                    f"{', '.join(str(listed) for listed in varying[key])}",
                    line=where, cell=label, key=f"exclude.{key}",
                )  # fmt: skip
            rule[key] = str(value)
        if not rule:
            raise MatrixError(
                path, "an empty exclusion would exclude everything", line=item.line,
                cell=label, key="exclude",
            )  # fmt: skip
        rules.append(rule)
    return rules


def _line(node: _Located, key: str) -> int:
    return node.lines.get(key, node.line)


def _reject_unknown_keys(
    node: _Located,
    allowed: tuple[str, ...],
    path: Path,
    cell: str | None,
    section: str | None = None,
) -> None:
    for key in node:
        if key not in allowed:
            where = f" in '{section}'" if section else ""
            raise MatrixError(
                path,
                f"unknown key{where}{did_you_mean(key, allowed)}; expected one of "
                f"{', '.join(allowed)}",
                line=_line(node, key),
                cell=cell,
                key=key,
            )


def _optional_text(node: _Located, key: str, path: Path, cell: str | None) -> str | None:
    value = node.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise MatrixError(
            path, "expected a non-empty string", line=_line(node, key), cell=cell, key=key
        )
    return value.strip()


def _package_requirement(node: _Located, key: str, path: Path, cell: str) -> str | None:
    """``"2.15"`` means 2.15.*, ``"2.15.1"`` that release, ``">=2.16"`` a range."""
    text = _optional_text(node, key, path, cell)
    if text is None:
        return None
    try:
        return requirement_for_version(key, text)
    except ValueError as error:
        raise MatrixError(path, str(error), line=_line(node, key), cell=cell, key=key) from None


def requirement_for_version(package: str, text: str) -> str:
    """Turn the short version forms of ``matrix.yaml`` into a PEP 508 requirement."""
    if text in ("*", "latest"):
        return package
    if text.startswith(SPECIFIER_START):
        try:
            SpecifierSet(text)
        except InvalidSpecifier:
            raise ValueError(f"{text!r} is not a valid version specifier") from None
        return f"{package}{text}"
    try:
        version = Version(text)
    except InvalidVersion:
        raise ValueError(
            f'{text!r} is not a version (like "2.15" or "2.15.1") or a specifier (like ">=2.16")'
        ) from None
    if len(version.release) <= 2 and str(version) == text:
        return f"{package}=={text}.*"
    return f"{package}=={text}"


def _python_request(node: _Located, path: Path, cell: str) -> str | None:
    text = _optional_text(node, "python", path, cell)
    if text is None or "/" in text or text.startswith("python"):
        return text
    try:
        Version(text)
    except InvalidVersion:
        raise MatrixError(
            path,
            f'{text!r} is not a Python version like "3.11" or a path to an interpreter',
            line=_line(node, "python"),
            cell=cell,
            key="python",
        ) from None
    return text


def _requirements(node: _Located, key: str, path: Path, cell: str | None) -> tuple[str, ...]:
    value = node.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise MatrixError(
            path, "expected a list of requirements", line=_line(node, key), cell=cell, key=key
        )
    for item in value:
        try:
            Requirement(str(item))
        except InvalidRequirement as error:
            raise MatrixError(
                path,
                f"{item!r} is not a valid requirement: {error}",
                line=_line(node, key),
                cell=cell,
                key=key,
            ) from None
    return tuple(str(item) for item in value)


def _env(node: _Located, path: Path, cell: str | None) -> dict[str, str]:
    value = node.get("env")
    if value is None:
        return {}
    if not isinstance(value, _Located):
        raise MatrixError(
            path,
            "expected a mapping of variable names to values",
            line=_line(node, "env"),
            cell=cell,
            key="env",
        )
    env: dict[str, str] = {}
    for name, setting in value.items():
        if not ENV_NAME.match(name):
            raise MatrixError(
                path,
                f"{name!r} is not a valid environment variable name",
                line=_line(value, name),
                cell=cell,
                key=f"env.{name}",
            )
        if isinstance(setting, (bool, list, dict)) or setting is None:
            raise MatrixError(
                path,
                'expected a string or number (quote values such as "1")',
                line=_line(value, name),
                cell=cell,
                key=f"env.{name}",
            )
        env[name] = str(setting)
    return env


def _timeout(node: _Located, path: Path, cell: str | None) -> float | None:
    value = node.get("timeout")
    if value is None:
        return None
    number = parse_timeout(value)
    if number is None:
        raise MatrixError(
            path,
            f"expected a positive number of seconds, not {value!r}",
            line=_line(node, "timeout"),
            cell=cell,
            key="timeout",
        )
    return number


def _flag(node: _Located, key: str, path: Path, cell: str | None, default: bool) -> bool:
    value = node.get(key, default)
    if not isinstance(value, bool):
        raise MatrixError(path, "expected true or false", line=_line(node, key), cell=cell, key=key)
    return value
