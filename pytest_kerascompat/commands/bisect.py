"""``python -m pytest_kerascompat bisect``: its options, its run, and what it prints."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_kerascompat.commands._bisection import (
    BisectError,
    BisectRequest,
    Finding,
    Target,
    Trial,
    available_probes,
    describe_trial,
    max_trials,
    parse_range,
)
from pytest_kerascompat.config._validation import (
    BACKENDS,
    ENV_NAME,
    absolute_project,
    parse_timeout,
)
from pytest_kerascompat.model.changes import find_change
from pytest_kerascompat.model.notes import HINT_LABEL, RULE_LABEL, scan_command

#: Exit statuses: a boundary was found; the outcome never changes (or cannot be pinned
#: to one release); the request itself is wrong.
EXIT_FOUND, EXIT_NOT_FOUND, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130
#: A distribution name as PEP 508 spells one.
DISTRIBUTION_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")


def add_parser(commands: Any) -> argparse.ArgumentParser:
    bisect: argparse.ArgumentParser = commands.add_parser(
        "bisect",
        help="Find the first release of a package whose outcome for one test differs",
        description="Binary-search the released versions of --package for the first one "
        "whose outcome for the test differs from the oldest one's, building only the "
        "environments the search needs.",
    )
    bisect.add_argument(
        "node_id", nargs="?", metavar="TEST_NODE_ID", help="The test, as pytest names it"
    )
    bisect.add_argument(
        "--probe", choices=available_probes(), help="Bisect a built-in probe instead of a test"
    )
    bisect.add_argument(
        "--package", default="tensorflow", help="Package to bisect (default: %(default)s)"
    )
    bisect.add_argument(
        "--range",
        dest="range_",
        metavar="SPEC",
        help="Versions to search, e.g. '>=2.15,<2.18' (default: every release)",
    )
    bisect.add_argument(
        "--python",
        default="auto",
        help="Python for every release, or 'auto': the newest installed one each release "
        "supports (default: %(default)s)",
    )
    bisect.add_argument(
        "--inverse",
        action="store_true",
        help="The oldest release breaks: find the first that works again",
    )
    bisect.add_argument(
        "--compare",
        choices=("works", "outcome"),
        default="works",
        help="works: working (passed, deprecated) against breaking; outcome: any change "
        "of outcome, e.g. passed to deprecated (default: %(default)s)",
    )
    bisect.add_argument(
        "--with", dest="packages", action="append", default=[], metavar="REQUIREMENT",
        help="Another requirement for every release's environment (repeatable)",
    )  # fmt: skip
    bisect.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE",
        help="An environment variable for every release's tests (repeatable)",
    )  # fmt: skip
    bisect.add_argument(
        "--backend", choices=BACKENDS, help="Keras 3 backend (its package is added, as in a cell)"
    )
    bisect.add_argument(
        "--project", help="Install this project (path, extras allowed) in every environment"
    )
    bisect.add_argument("--timeout", type=seconds, metavar="SECONDS", help="Time limit of one test")
    bisect.add_argument("--format", choices=("text", "json"), default="text", help="Output format")
    bisect.add_argument(
        "--cache-dir", type=Path, help="Where environments live (default: the sweep's)"
    )
    return bisect


def run(args: argparse.Namespace) -> int:
    """Bisect, printing progress to stderr and the answer to stdout."""
    # The controller, nox and the index load only now: `scan` shares this command line
    # and runs as a pre-commit hook, where 0.15 s per commit is noticed.
    from pytest_kerascompat.commands._bisect_runner import Interrupted, bisect_releases
    from pytest_kerascompat.env.environments import default_cache_dir

    request = build_request(args)
    cache_dir = usable_cache_dir(args.cache_dir or default_cache_dir())
    try:
        finding = bisect_releases(request, cache_dir, Path.cwd(), print_progress)
    except (KeyboardInterrupt, Interrupted):
        print_progress("bisect interrupted; the environments it built are kept for the next run")
        return EXIT_INTERRUPTED
    if args.format == "json":
        print(json.dumps(finding_to_dict(request, finding), indent=2))
    else:
        print("\n".join(finding_lines(request, finding)))
    return EXIT_FOUND if finding.found and not finding.unresolved else EXIT_NOT_FOUND


def seconds(text: str) -> float:
    """``--timeout``: a positive, finite number of seconds, as ``--keras-timeout`` takes."""
    value = parse_timeout(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, not {text!r}")
    return value


def build_request(args: argparse.Namespace) -> BisectRequest:
    """Every option checked as the sweep checks the same value in ``matrix.yaml``."""
    if bool(args.node_id) == bool(args.probe):
        raise BisectError("name the test to bisect: either TEST_NODE_ID or --probe NAME")
    return BisectRequest(
        target=Target(node_id=args.node_id, probe=args.probe),
        package=parse_package(args.package),
        specifier=parse_range(args.range_),
        python=parse_python(args.python),
        inverse=args.inverse,
        compare=args.compare,
        packages=parse_requirements(args.packages),
        env=parse_env(args.env),
        backend=args.backend,
        project=parse_project(args.project),
        timeout=args.timeout,
    )


def usable_cache_dir(path: Path) -> Path:
    """The environments' directory, known writable before anything is built in it."""
    from pytest_kerascompat.env._files import directory_problem

    problem = directory_problem(path)
    if problem:
        raise BisectError(
            f"--cache-dir {path}: {problem}; give a directory you can write to "
            "(--cache-dir, or KERASCOMPAT_CACHE_DIR)"
        )
    return path


def parse_package(name: str) -> str:
    """A distribution's name alone: no version, extras, URL, nor anything option-like."""
    if not DISTRIBUTION_NAME.match(name):
        raise BisectError(
            f"--package {name!r} is not a package name; name one package, such as "
            "tensorflow or keras, and give versions with --range"
        )
    return name


def parse_python(text: str) -> str | None:
    """``auto``, a version such as ``3.11``, ``python3.11``, or a path to an interpreter."""
    from packaging.version import InvalidVersion, Version

    if text == "auto":
        return None
    if "/" in text or text.startswith("python"):
        return text
    try:
        Version(text)
    except InvalidVersion:
        raise BisectError(
            f'--python {text!r} is not a Python version like "3.11", a path to an '
            "interpreter, or auto"
        ) from None
    return text


def parse_requirements(items: Sequence[str]) -> tuple[str, ...]:
    """``--with``: requirements only; pip options (``--index-url=...``) are refused, as
    in a cell's ``packages``, since they would reach the installer's command line."""
    from packaging.requirements import InvalidRequirement, Requirement

    for item in items:
        try:
            Requirement(item)
        except InvalidRequirement as error:
            first = str(error).splitlines()[0]
            raise BisectError(f"--with {item!r} is not a requirement: {first}") from None
    return tuple(items)


def parse_env(items: Sequence[str]) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not ENV_NAME.match(name):
            raise BisectError(f"--env {item!r}: write it as NAME=VALUE")
        pairs.append((name, value))
    return tuple(pairs)


def parse_project(text: str | None) -> str | None:
    """``--project``: an existing directory, extras allowed, made absolute."""
    if text is None:
        return None
    project = absolute_project(text, Path.cwd())
    directory = Path(project.partition("[")[0])
    if not directory.is_dir():
        raise BisectError(f"--project {text!r}: no such directory ({directory})")
    return project


def print_progress(message: str) -> None:
    """Progress goes to stderr, so stdout holds only the answer (a JSON document with
    ``--format json``)."""
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ output


def side_labels(request: BisectRequest) -> tuple[str, str]:
    if request.compare == "outcome":
        return "last as before", "first changed"
    return ("last bad", "first good") if request.inverse else ("last good", "first bad")


def finding_lines(request: BisectRequest, finding: Finding) -> list[str]:
    """Every release and what became of it, then the boundary, then what it cost."""
    lines = ["", f"{'release':<14}{'python':<9}{'environment':<13}outcome"]
    for version in finding.versions:
        trial = next((t for t in finding.trials if t.version == version), None)
        lines.append(trial_row(version, trial))
    lines.append("")
    if finding.found:
        lines += boundary_lines(request, finding)
    else:
        lines.append(f"no boundary: {finding.reason}")
    lines.append(summary_line(finding))
    return lines


def boundary_lines(request: BisectRequest, finding: Finding) -> list[str]:
    """Both sides of the boundary, the releases it may hide in, the hint and the scan rule."""
    good, bad = finding.last_good, finding.first_bad
    assert good is not None
    assert bad is not None
    before, after = side_labels(request)
    lines = [
        f"{before}: {request.package} {good.version}  {describe_trial(good)}",
        f"{after}: {request.package} {bad.version}  {describe_trial(bad)}",
    ]
    if finding.unresolved:
        between = ", ".join(str(v) for v in finding.unresolved)
        lines.append(
            f"the change is in one of {between}, {bad.version}: "
            "the releases between could not be tested"
        )
    hint = hint_of(bad) or hint_of(good)
    if hint:
        lines.append(HINT_LABEL + hint)
    command = scan_command(rule_of(bad))
    if command:
        lines.append(RULE_LABEL + command)
    return lines


def trial_row(version: Any, trial: Trial | None) -> str:
    if trial is None:
        return f"{version!s:<14}{'':<9}{'':<13}not needed"
    python = (trial.cell.python if trial.cell else None) or "-"
    where = "built" if trial.built else ("reused" if trial.cell else "-")
    outcome = f"skipped: {trial.skipped}" if trial.skipped else str(trial.outcome)
    return f"{version!s:<14}{python:<9}{where:<13}{outcome}"


def hint_of(trial: Trial) -> str | None:
    if trial.result is None:
        return None
    if trial.result.hint:
        return trial.result.hint
    change = find_change(api=trial.result.api, texts=[trial.result.message])
    return change.hint if change else None


def rule_of(trial: Trial | None) -> str | None:
    """The scan rule that finds the change behind this trial's square, if any."""
    return trial.result.rule if trial and trial.result else None


def summary_line(finding: Finding) -> str:
    tried = [t for t in finding.trials if t.cell is not None or t.result is not None]
    built = sum(1 for t in tried if t.built)
    skipped = sum(1 for t in finding.trials if t.skipped)
    return (
        f"{len(finding.trials)} of {len(finding.versions)} releases tried "
        f"(at most {max_trials(len(finding.versions))} without skips): "
        f"{built} environments built, {len(tried) - built} reused, {skipped} skipped"
    )


def finding_to_dict(request: BisectRequest, finding: Finding) -> dict[str, Any]:
    return {
        "test": request.target.test_id,
        "package": request.package,
        "range": str(request.specifier),
        "inverse": request.inverse,
        "compare": request.compare,
        "found": finding.found,
        "reason": finding.reason,
        "last_good": trial_dict(finding.last_good),
        "first_bad": trial_dict(finding.first_bad),
        "unresolved": [str(v) for v in finding.unresolved],
        "releases": [str(v) for v in finding.versions],
        "trials": [trial_dict(t) for t in finding.trials],
        "hint": hint_of(finding.first_bad) if finding.first_bad else None,
        "rule": rule_of(finding.first_bad),
    }


def trial_dict(trial: Trial | None) -> dict[str, Any] | None:
    if trial is None:
        return None
    return {
        "version": str(trial.version),
        "outcome": trial.outcome,
        "message": trial.result.message if trial.result else None,
        "python": trial.cell.python if trial.cell else None,
        "built": trial.built,
        "skipped": trial.skipped,
    }
