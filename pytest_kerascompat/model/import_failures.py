"""A test module whose Keras import is gone in one cell: one square per test, not one per module.

A cell where ``from keras.preprocessing.image import ImageDataGenerator`` fails at a test
module's import reports a single square named by the module's path, and never learns the
module's tests. Other cells did collect them, so once every cell has finished (in the
sweep, and again when ``merge`` brings shards of different cells together) each of those
tests gets, in the failing cell, a square with the module's outcome, message, hint and
rule, and a detail saying it was never collected there. Only a ``removed`` module square
spreads: that is the rule for a Keras or TensorFlow module path failing to import; any
other import error stays one ``error`` square, as pytest reports it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from pytest_kerascompat.model.results import Outcome, Report, Result


def not_collected_detail(module: str) -> str:
    """What a derived square says about itself: it stands for an import, not a test run."""
    return f"not collected: its module {module} failed to import in this cell"


def is_module_square(result: Result) -> bool:
    """A square named by a path (a module or package that failed to collect), not a test."""
    return "::" not in result.test


def belongs_to(test: str, module: str) -> bool:
    """Whether ``test`` was collected from ``module`` (a file, or a package directory)."""
    return test.startswith(f"{module}::") or test.startswith(f"{module}/")


def templates(results: Iterable[Result]) -> dict[tuple[str, str], Result]:
    """Per ``(module, cell)``: the square that each of the module's tests copies there.

    The module's own ``removed`` square, or a square already derived from it (a merged
    shard may hold only those, its module square dropped), so spreading again is the same.
    """
    found: dict[tuple[str, str], Result] = {}
    for result in results:
        if result.failed_module is not None:
            found.setdefault((result.failed_module, result.cell), result)
        elif is_module_square(result) and result.outcome is Outcome.REMOVED:
            found[(result.test, result.cell)] = result
    return found


def spread_import_failures(report: Report) -> list[Result]:
    """Give each test of a module that failed to import in a cell its square there.

    The tests are those any other cell collected; each derived square takes the module
    square's outcome, message, hint, rule and pytest's report, so every renderer groups
    them into one note. The module's own square is dropped once its tests stand for it,
    and kept when no cell collected any of them: nothing the cells said is lost. Returns
    the squares added.
    """
    sources = templates(report.results)
    if not sources:
        return []
    taken = {result.key for result in report.results}
    tests = {r.test: r for r in report.results if r.failed_module is None and "::" in r.test}
    covered: set[tuple[str, str]] = set()
    added: list[Result] = []
    for (module, cell), template in sources.items():
        for test, seen in tests.items():
            if not belongs_to(test, module):
                continue
            covered.add((module, cell))
            if (test, cell) not in taken:
                added.append(derived(template, module, seen))
                taken.add((test, cell))
    report.results.extend(added)
    report.results[:] = [
        result
        for result in report.results
        if not (result.failed_module is None and (result.test, result.cell) in covered)
    ]
    return added


def derived(template: Result, module: str, seen: Result) -> Result:
    """``seen``'s test in ``template``'s cell, with the module's outcome and words."""
    return dataclasses.replace(
        template,
        test=seen.test,
        api=seen.api,
        probe=seen.probe,
        duration=None,
        detail=not_collected_detail(module),
        failed_module=module,
    )
