"""The judge of a real bisect: each release a one-cell sweep, its square a trial.

Kept apart from :mod:`.bisection` so that the command line (and ``scan``, which runs
as a pre-commit hook) imports the controller, nox and the index only when a bisect runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from pytest_kerascompat.commands._bisection import (
    BisectError,
    BisectRequest,
    Finding,
    Trial,
    describe_trial,
    max_trials,
    search,
    trial_of,
)
from pytest_kerascompat.env.environments import envdir_for, find_ready
from pytest_kerascompat.model.results import CellReport, Result
from pytest_kerascompat.plan.index import PackageIndex, redact
from pytest_kerascompat.plan.interpreters import Interpreter, discover_interpreters
from pytest_kerascompat.plan.plans import CellPlan, PlanOptions, plan_cell
from pytest_kerascompat.sweep._rundirs import new_run_dir
from pytest_kerascompat.sweep.controller import CellFinished, Interrupted, SweepSettings, run_sweep

__all__ = ["Interrupted", "bisect_releases"]


def bisect_releases(
    request: BisectRequest, cache_dir: Path, cwd: Path, report: Callable[[str], None]
) -> Finding:
    """List the releases in the request's range on the index, and search them."""
    index = PackageIndex(cache_dir)
    versions = releases_in_range(index, request.package, request.specifier)
    if not versions:
        raise BisectError(
            f"no release of {request.package} on {redact(index.index_url)} matches "
            f"{str(request.specifier) or 'any version'}"
        )
    report(
        f"bisect {request.target.describe()} over {len(versions)} releases of "
        f"{request.package} ({versions[0]} to {versions[-1]}); at most "
        f"{max_trials(len(versions))} to try unless some are skipped"
    )
    judge = CellJudge(
        request=request,
        index=index,
        interpreters=discover_interpreters(),
        cache_dir=cache_dir,
        run_dir=new_run_dir(cwd / ".kerascompat" / "bisect"),
        cwd=cwd,
        report=report,
    )
    return search(versions, judge, request.signature, expected=request.expected)


def releases_in_range(index: PackageIndex, package: str, specifier: SpecifierSet) -> list[Version]:
    """Final (or, if the range names one, pre-) releases on the index, not yanked, oldest first."""
    allow_pre = bool(specifier.prereleases)
    found = [
        version
        for version, files in index.releases(package).items()
        if specifier.contains(version, prereleases=allow_pre)
        and any(not file.yanked for file in files)
    ]
    return sorted(found)


# ----------------------------------------------------------------------------- runner


@dataclasses.dataclass
class CellJudge:
    """Runs one release as a one-cell sweep and turns its square into a :class:`Trial`."""

    request: BisectRequest
    index: PackageIndex
    interpreters: Sequence[Interpreter]
    cache_dir: Path
    run_dir: Path
    cwd: Path
    report: Callable[[str], None] = print

    def __call__(self, version: Version) -> Trial:
        spec = self.request.cell_for(version)
        plan = plan_cell(
            spec,
            PlanOptions(probes=self.request.target.probe is not None),
            self.interpreters,
            self.index,
            self.request.project,
        )
        if plan.executable is None:
            return self._skip(version, f"no interpreter: {plan.python_note}")
        reused = find_ready(envdir_for(self.cache_dir, plan), plan) is not None
        self.report(
            f"{self.request.package} {version}: Python {plan.python}, "
            f"{'reusing its environment' if reused else 'building an environment'}"
        )
        cell, results = self._run(plan)
        trial = trial_of(self.request.target, version, cell, results, built=not reused)
        self.report(f"{self.request.package} {version}: {describe_trial(trial)}")
        return trial

    def _run(self, plan: CellPlan) -> tuple[CellReport, list[Result]]:
        settings = SweepSettings(
            cache_dir=self.cache_dir,
            run_dir=self.run_dir / plan.name,
            mode=self.request.target.mode,
            cwd=self.cwd,
            user_args=self.request.target.user_args,
            probes=self.request.target.probes,
        )
        for event in run_sweep([plan], settings):
            if isinstance(event, CellFinished):
                return event.report, event.results
        raise AssertionError("a one-cell sweep always finishes its cell")

    def _skip(self, version: Version, reason: str) -> Trial:
        self.report(f"{self.request.package} {version}: skipped ({reason})")
        return Trial(version, skipped=reason)
