"""From what the worker saw in a cell to one outcome per square.

The worker reports pytest's own outcome, the exception, the name that was missing
and the warnings raised; this module decides whether that was a deprecation, a
removal, an expected break, and attaches the hint of a known change.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

from pytest_kerascompat.cell.protocol import DEPRECATION_WORD
from pytest_kerascompat.model.changes import KnownChange, api_names, find_change
from pytest_kerascompat.model.results import Outcome

PYTEST_OUTCOMES = {
    "passed": Outcome.PASSED,
    "failed": Outcome.FAILED,
    "error": Outcome.ERROR,
    "skipped": Outcome.SKIPPED,
    "xfailed": Outcome.XFAILED,
    "xpassed": Outcome.XPASSED,
}
DEPRECATION_CATEGORIES = ("DeprecationWarning", "PendingDeprecationWarning", "FutureWarning")
KERAS_MODULES = ("keras", "tensorflow", "tf_keras", "tf")
LOGGED_LOCATION = re.compile(r"^From \S+:\d+: ")


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The outcome of one square and what to tell the user about it."""

    outcome: Outcome
    message: str | None = None
    exc_type: str | None = None
    hint: str | None = None
    #: The id of the known change the hint comes from, which names its scan rule.
    change: str | None = None


def classify(finish: Mapping[str, Any], versions: Mapping[str, str | None]) -> Verdict:
    """Turn a worker ``finish`` event into a verdict, given the cell's installed versions."""
    outcome = PYTEST_OUTCOMES.get(str(finish.get("outcome")), Outcome.ERROR)
    api = finish.get("api")
    message, exc_type = finish.get("message"), finish.get("exc_type")
    missing = finish.get("missing") or None
    if outcome is Outcome.PASSED:
        warning = deprecation_warning(finish)
        if warning is not None:
            outcome, message = Outcome.DEPRECATED, warning
    elif outcome in (Outcome.FAILED, Outcome.ERROR) and is_removal(missing, api):
        outcome = Outcome.REMOVED
    outcome = apply_expected_break(outcome, finish.get("breaks"), versions)
    change = find_change(
        api=api,
        names=[missing.get("name") if missing else None],
        texts=[message],
    )
    hint = hint_for(outcome, change)
    return Verdict(outcome, message, exc_type, hint, change.api if hint and change else None)


def hint_for(outcome: Outcome, change: KnownChange | None) -> str | None:
    if change is None or outcome in (Outcome.PASSED, Outcome.SKIPPED, Outcome.XPASSED):
        return None
    return change.hint


def deprecation_warning(finish: Mapping[str, Any]) -> str | None:
    """The first deprecation warning that concerns the API under test, if any.

    With an ``api`` id, the warning must name it (or one of its known names). Without
    one, only a deprecation attributed to the test's own file counts, so TensorFlow's
    unrelated internal warnings never turn a pass into ``deprecated``.
    """
    names = api_names(finish.get("api"))
    test_file = str(finish.get("test", "")).split("::", 1)[0].rsplit("/", 1)[-1]
    for warning in finish.get("warnings") or ():
        text = LOGGED_LOCATION.sub("", str(warning.get("message", "")))
        if not is_deprecation(warning):
            continue
        if names and any(name in text for name in names):
            return text
        filename = str(warning.get("filename") or "")
        if not names and test_file and filename.endswith(test_file):
            return text
    return None


def is_deprecation(warning: Mapping[str, Any]) -> bool:
    category = str(warning.get("category", ""))
    text = str(warning.get("message", ""))
    if category.rsplit(".", 1)[-1] in DEPRECATION_CATEGORIES:
        return True
    return DEPRECATION_WORD in text.lower()


def is_removal(missing: Mapping[str, Any] | None, api: str | None) -> bool:
    """Whether a failure means the API under test does not exist in this cell.

    With an ``api`` id the missing name must belong to it (a missing ``ndim`` inside
    a working ``tf.data`` call is a failure, not a removal). Without one, the missing
    name must have been looked up on Keras or TensorFlow.
    """
    if not missing:
        return False
    name = missing.get("name")
    names = api_names(api)
    if names:
        return name in names
    owner = str(missing.get("owner") or "")
    return owner.split(".", 1)[0] in KERAS_MODULES


def apply_expected_break(
    outcome: Outcome, breaks: str | Sequence[str] | None, versions: Mapping[str, str | None]
) -> Outcome:
    """``keras_compat(breaks="keras>=3")``: failing there is expected, passing is news."""
    if not breaks or not expected_to_break(breaks, versions):
        return outcome
    if outcome.is_breaking:
        return Outcome.XFAILED
    if outcome in (Outcome.PASSED, Outcome.DEPRECATED):
        return Outcome.XPASSED
    return outcome


def expected_to_break(breaks: str | Sequence[str], versions: Mapping[str, str | None]) -> bool:
    ranges = [breaks] if isinstance(breaks, str) else list(breaks)
    return any(_version_in(text, versions) for text in ranges)


def _version_in(text: str, versions: Mapping[str, str | None]) -> bool:
    try:
        requirement = Requirement(text)
        installed = versions.get(requirement.name.lower().replace("_", "-"))
        return installed is not None and requirement.specifier.contains(
            Version(installed), prereleases=True
        )
    except (InvalidRequirement, InvalidVersion):
        return False
