"""``python -m pytest_kerascompat scan``: find uses of changed Keras APIs without running them.

The rules are the changes of :data:`~pytest_kerascompat.model.changes.KNOWN_CHANGES` that have a
``scan`` pattern, so a finding gives the same version range and fix as the sweep's
hint for the same change. ``sources`` reads files and notebooks, ``rules`` matches the
patterns, ``output`` writes text, JSON or GitHub annotations, ``command`` is the CLI.
"""

from __future__ import annotations

import dataclasses
import io
import re
import tokenize
from collections.abc import Iterable, Sequence
from typing import Any

from pytest_kerascompat.commands.scan.project import cross_file_matches
from pytest_kerascompat.commands.scan.rules import Match, match_changes
from pytest_kerascompat.commands.scan.sources import Module, ScanUsageError, Skipped, discover, read
from pytest_kerascompat.model.changes import KNOWN_CHANGES, KnownChange

__all__ = [
    "Finding",
    "ScanReport",
    "ScanUsageError",
    "Skipped",
    "rule_names",
    "scan_paths",
    "select_rules",
]

ALL = "ALL"
MARKER = "kerascompat"
# `# kerascompat: ignore` silences every rule on its line; `ignore[a, b]` only those.
SUPPRESSION = re.compile(r"#\s*kerascompat:\s*ignore\b(?:\[([^\]]*)\])?", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class Finding:
    """One use of a changed API: where, which rule, when it breaks or warns, and the fix."""

    path: str
    line: int
    column: int
    rule: str
    message: str
    fix: str
    breaks: str | None = None
    warns: str | None = None
    confident: bool = True
    cell: int | None = None

    @property
    def severity(self) -> str:
        """``error`` where the API is gone in some release, ``warning`` where it only warns."""
        return "error" if self.breaks else "warning"

    @property
    def ranges(self) -> str:
        """``warns tensorflow>=2.1,<2.16; breaks keras>=3``: the releases it concerns."""
        parts = [f"warns {self.warns}"] if self.warns else []
        parts += [f"breaks {self.breaks}"] if self.breaks else []
        return "; ".join(parts)

    def sort_key(self) -> tuple[str, int, int, int, str]:
        return (self.path, self.cell or 0, self.line, self.column, self.rule)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "cell": self.cell,
            "line": self.line,
            "column": self.column,
            "rule": self.rule,
            "severity": self.severity,
            "confidence": "high" if self.confident else "low",
            "message": self.message,
            "breaks": self.breaks,
            "warns": self.warns,
            "fix": self.fix,
        }


@dataclasses.dataclass
class ScanReport:
    """Every finding and every skipped file or cell of one scan."""

    findings: list[Finding] = dataclasses.field(default_factory=list)
    skipped: list[Skipped] = dataclasses.field(default_factory=list)
    files: int = 0

    @property
    def exit_status(self) -> int:
        """1 when something was found, so the scan can gate a commit; skipped files only inform."""
        return 1 if self.findings else 0


def scannable() -> list[KnownChange]:
    return [change for change in KNOWN_CHANGES if change.rule is not None]


def rule_names() -> list[str]:
    return [change.api for change in scannable()]


def select_rules(
    select: Iterable[str] | None = None, ignore: Iterable[str] = ()
) -> list[KnownChange]:
    """The rules to run: the default ones, or those selected (``ALL`` for every one), minus ignored.

    Rule names are checked by the command line already; here an unknown one is a bug.
    """
    chosen = set(select or ())
    ignored = set(ignore)
    unknown = (chosen | ignored) - set(rule_names()) - {ALL}
    if unknown:
        raise ValueError(f"unknown rules: {', '.join(sorted(unknown))}")
    rules = []
    for change in scannable():
        wanted = (ALL in chosen or change.api in chosen) if chosen else change.scan_by_default
        if wanted and change.api not in ignored:
            rules.append(change)
    return rules


def scan_paths(paths: Sequence[str], rules: Sequence[KnownChange] | None = None) -> ScanReport:
    """Scan the files and directories at ``paths``; raise ScanUsageError if one does not exist."""
    rules = select_rules() if rules is None else rules
    report = ScanReport()
    modules: dict[str, Module] = {}
    for path in discover(paths):
        module, skipped = read(path)
        report.files += 1
        report.skipped += skipped
        if module is not None:
            report.findings += scan_module(module, rules)
            modules[module.path] = module
    report.findings += across_modules(modules, rules)
    report.findings.sort(key=Finding.sort_key)
    return report


def across_modules(modules: dict[str, Module], rules: Sequence[KnownChange]) -> list[Finding]:
    """Findings that need more than one file to see (a dataset's base in another file)."""
    trees = [(path, module.tree) for path, module in modules.items()]
    return [
        finding
        for path, match in cross_file_matches(trees, rules)
        for finding in kept_findings(modules[path], [match])
    ]


def scan_module(module: Module, rules: Sequence[KnownChange]) -> list[Finding]:
    return kept_findings(module, match_changes(module.tree, rules))


def kept_findings(module: Module, matches: list[Match]) -> list[Finding]:
    """The findings of ``matches`` that no ``# kerascompat: ignore`` silences, once each."""
    silenced = suppressions(module.lines) if matches else {}
    findings: dict[tuple[int | None, int, int, str], Finding] = {}
    for match in matches:
        rules_off = silenced.get(match.line, frozenset())
        if rules_off is None or match.change.api in rules_off:
            continue
        finding = to_finding(module, match)
        findings.setdefault((finding.cell, finding.line, finding.column, finding.rule), finding)
    return list(findings.values())


def to_finding(module: Module, match: Match) -> Finding:
    cell, line, column = module.position(match.line, match.col_offset)
    change = match.change
    return Finding(
        path=module.path,
        line=line,
        column=column,
        rule=change.api,
        message=match.message,
        fix=change.hint,
        breaks=change.breaks,
        warns=change.warns,
        confident=match.confident,
        cell=cell,
    )


def suppressions(lines: list[str]) -> dict[int, frozenset[str] | None]:
    """Line number to the rules silenced there (None: all of them), from real comments only.

    Comments are found with :mod:`tokenize`, so the marker inside a string does nothing.
    """
    silenced: dict[int, frozenset[str] | None] = {}
    if not any(MARKER in line for line in lines):
        return silenced
    source = io.StringIO("\n".join(lines) + "\n")
    try:
        for token in tokenize.generate_tokens(source.readline):
            if token.type != tokenize.COMMENT:
                continue
            found = SUPPRESSION.search(token.string)
            if found:
                names = found.group(1)
                silenced[token.start[0]] = (
                    frozenset(name.strip() for name in names.split(",") if name.strip())
                    if names
                    else None
                )
    except (tokenize.TokenError, SyntaxError):
        pass
    return silenced
