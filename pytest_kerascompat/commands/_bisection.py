"""``bisect``: the first release of a package whose outcome for one test differs.

A sweep says *that* a test broke between two columns; bisecting says *which release*
broke it. Each release tried is a one-cell sweep (same environments, same worker, same
classification; see :mod:`.bisect_runner`), so a bisect step is exactly a square the
table would show. The search itself (:func:`search`) is pure and takes a ``judge``, so
its edge cases (skips at the ends, runs of skips, no change) are tested without
building anything.
"""

from __future__ import annotations

import ast
import dataclasses
import math
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from pytest_kerascompat.cell import protocol
from pytest_kerascompat.config._validation import CommandError
from pytest_kerascompat.model.notes import Note
from pytest_kerascompat.model.results import CellReport, CellStatus, Outcome, Result
from pytest_kerascompat.sweep._launch import SOURCE

if TYPE_CHECKING:
    from pytest_kerascompat.config.matrix import CellSpec

PROBES_FILE = SOURCE / protocol.PROBES_DIR / protocol.PROBES_MODULE


class BisectError(CommandError):
    """The request cannot be bisected as asked (a usage error, reported without a trace)."""


@dataclasses.dataclass(frozen=True)
class Trial:
    """One release tried: its square, or why it could not give one (``git bisect skip``)."""

    version: Version
    result: Result | None = None
    cell: CellReport | None = None
    skipped: str | None = None
    built: bool = False

    @property
    def outcome(self) -> str | None:
        return self.result.outcome.value if self.result else None


@dataclasses.dataclass(frozen=True)
class Finding:
    """Where the search ended: the boundary, or why there is none."""

    versions: tuple[Version, ...]
    trials: tuple[Trial, ...]
    last_good: Trial | None = None
    first_bad: Trial | None = None
    unresolved: tuple[Version, ...] = ()
    reason: str | None = None

    @property
    def found(self) -> bool:
        return self.last_good is not None and self.first_bad is not None


Judge = Callable[[Version], Trial]
Signature = Callable[[Trial], object]


def works(trial: Trial) -> object:
    """The default comparison: does the test work (passed, deprecated) or break?"""
    assert trial.result is not None
    return not trial.result.outcome.is_breaking


def exact_outcome(trial: Trial) -> object:
    """``--compare outcome``: any change of outcome counts (e.g. passed -> deprecated)."""
    assert trial.result is not None
    return trial.result.outcome


def max_trials(count: int) -> int:
    """The most releases a search of ``count`` tries when none is skipped: both ends
    and then one halving per step."""
    if count <= 2:
        return count
    return 2 + math.ceil(math.log2(count - 1))


def search(
    versions: Sequence[Version],
    judge: Judge,
    signature: Signature = works,
    *,
    expected: object = None,
) -> Finding:
    """Binary-search ``versions`` (oldest first) for the first whose signature differs
    from the oldest testable one's.

    Releases the judge skips are stepped over, as ``git bisect skip`` does: a skipped
    end moves inward, a skipped midpoint is replaced by its nearest untried neighbour,
    and when only skipped releases separate good from bad the answer names all of them.
    ``expected``, when given, is the signature the oldest release must have (it works,
    or with ``--inverse`` it breaks); otherwise the search stops there and says so.
    """
    ordered = tuple(sorted(versions))
    trials: dict[Version, Trial] = {}

    def tried(index: int) -> Trial:
        version = ordered[index]
        if version not in trials:
            trials[version] = judge(version)
        return trials[version]

    def finding(**fields: object) -> Finding:
        kept = tuple(trials[version] for version in ordered if version in trials)
        return Finding(versions=ordered, trials=kept, **fields)  # type: ignore[arg-type]

    low = next((i for i in range(len(ordered)) if tried(i).skipped is None), None)
    if low is None:
        return finding(reason="no release in the range could be tested")
    reference = signature(tried(low))
    if expected is not None and reference != expected:
        already = f"the oldest testable release, {ordered[low]}, is already {tried(low).outcome}"
        return finding(reason=already)
    high = next(i for i in reversed(range(low, len(ordered))) if tried(i).skipped is None)
    if high == low or signature(tried(high)) == reference:
        unchanged = f"the outcome does not change between {ordered[low]} and {ordered[high]}"
        return finding(reason=unchanged)
    while True:
        middle = _next_probe(low, high, lambda i: tried(i).skipped is None)
        if middle is None:
            break
        if signature(tried(middle)) == reference:
            low = middle
        else:
            high = middle
    between = tuple(ordered[low + 1 : high])
    return finding(
        last_good=trials[ordered[low]], first_bad=trials[ordered[high]], unresolved=between
    )


def _next_probe(low: int, high: int, testable: Callable[[int], bool]) -> int | None:
    """The testable release nearest the middle of ``(low, high)``, or None.

    ``testable`` tries a release the first time it is asked and remembers, so a skipped
    one costs its build once and is stepped over after that.
    """
    middle = (low + high) // 2
    return next((i for i in _outward(middle, low + 1, high - 1) if testable(i)), None)


def _outward(middle: int, first: int, last: int) -> Iterator[int]:
    """``middle``, then its neighbours alternately, within ``[first, last]``."""
    for distance in range(0, last - first + 1):
        for index in (middle + distance, middle - distance) if distance else (middle,):
            if first <= index <= last:
                yield index


# ----------------------------------------------------------------------------- target


@dataclasses.dataclass(frozen=True)
class Target:
    """The test a bisect watches: a user's node id or a built-in probe."""

    node_id: str | None = None
    probe: str | None = None

    @property
    def mode(self) -> str:
        return protocol.MODE_PROBES if self.probe else protocol.MODE_NAMED

    @property
    def test_id(self) -> str:
        """The id the worker reports the test under."""
        return f"{protocol.PROBE_PREFIX}test_{self.probe}" if self.probe else str(self.node_id)

    @property
    def user_args(self) -> tuple[str, ...]:
        return () if self.probe else (str(self.node_id),)

    @property
    def probes(self) -> tuple[str, ...]:
        return (f"test_{self.probe}",) if self.probe else ()

    def describe(self) -> str:
        return f"probe {self.probe}" if self.probe else str(self.node_id)

    def pick(self, results: Sequence[Result]) -> Result | None:
        """This target's square. pytest names tests from its rootdir, which may sit above
        the directory the user typed the node id from, so a path suffix matches too."""
        wanted = self.test_id
        exact = next((r for r in results if r.test == wanted), None)
        return exact or next((r for r in results if r.test.endswith("/" + wanted)), None)


def available_probes(path: Path = PROBES_FILE) -> list[str]:
    """Probe names (``fit_generator``...), read from the probes' source without importing it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.name[len("test_") :]
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    ]


# ---------------------------------------------------------------------------- request


@dataclasses.dataclass(frozen=True)
class BisectRequest:
    """Everything a bisect needs besides the machine."""

    target: Target
    package: str
    specifier: SpecifierSet
    python: str | None = None
    inverse: bool = False
    compare: str = "works"
    packages: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    backend: str | None = None
    project: str | None = None
    timeout: float | None = None

    @property
    def signature(self) -> Signature:
        return exact_outcome if self.compare == "outcome" else works

    @property
    def expected(self) -> object:
        """What the oldest release must show: working (breaking with ``--inverse``)."""
        return None if self.compare == "outcome" else not self.inverse

    def cell_for(self, version: Version) -> CellSpec:
        """The one-cell matrix that puts ``version`` of the package under test."""
        # The matrix module loads YAML, which the command line (scan's too) never needs.
        from pytest_kerascompat.config.matrix import CellSpec, requirement_for_version

        name = canonicalize_name(self.package)
        requirement = requirement_for_version(name, f"=={version}")
        spec = CellSpec(
            name=f"{name}-{version}",
            python=self.python,
            env=self.env,
            packages=self.packages,
            backend=self.backend,
        )
        if name == "tensorflow":
            spec = dataclasses.replace(spec, tensorflow=requirement)
        elif name == "keras":
            spec = dataclasses.replace(spec, keras=requirement)
        else:
            spec = dataclasses.replace(spec, packages=(*self.packages, requirement))
        if self.timeout:
            spec = dataclasses.replace(spec, timeout=self.timeout)
        return spec


def parse_range(text: str | None) -> SpecifierSet:
    """``--range``: a specifier set (``>=2.15,<2.18``); empty means every release."""
    try:
        return SpecifierSet(text or "")
    except InvalidSpecifier as exc:
        raise BisectError(
            f"--range {text!r} is not a version range; write it as pip does, e.g. '>=2.15,<2.18'"
        ) from exc


def trial_of(
    target: Target, version: Version, cell: CellReport, results: list[Result], *, built: bool
) -> Trial:
    """A one-cell sweep's answer for ``target``, or why it gives none (a skip)."""
    if cell.status is not CellStatus.OK:
        lines = (cell.detail or "").strip().splitlines()
        reason = cell.status.value + (f": {lines[0]}" if lines else "")
        return Trial(version, cell=cell, built=built, skipped=reason)
    result = target.pick(results)
    if result is None:
        ran = ", ".join(r.test for r in results) or "nothing"
        reason = f"the test did not run (the cell ran: {ran})"
        return Trial(version, cell=cell, built=built, skipped=reason)
    if result.outcome is Outcome.SKIPPED:
        reason = f"the test skipped itself: {result.message or ''}"
        return Trial(version, result=result, cell=cell, built=built, skipped=reason)
    return Trial(version, result=result, cell=cell, built=built)


def describe_trial(trial: Trial) -> str:
    """``removed: AttributeError: ...``, or why the release was skipped."""
    if trial.skipped is not None:
        return f"skipped ({trial.skipped})"
    assert trial.result is not None
    return Note.of(trial.result).headline
