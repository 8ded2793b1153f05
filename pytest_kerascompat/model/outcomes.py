"""From what the worker saw in a cell to one outcome per square.

The worker reports pytest's own outcome, the exception, the name that was missing
and the warnings raised; this module decides whether that was a deprecation, a
removal, an expected break, and attaches the hint of a known change.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

from pytest_kerascompat.cell.protocol import DEPRECATION_WORD
from pytest_kerascompat.model.changes import KNOWN_CHANGES, KnownChange, api_names, find_change
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
#: Top-level packages whose classes, callables and modules are Keras's or TensorFlow's.
KERAS_MODULES = ("keras", "tensorflow", "tf_keras", "tf", "tensorflow_core", "keras_core")
LOGGED_LOCATION = re.compile(r"^From (\S+):\d+: ")
#: Where installed packages and the standard library live, for events without the cell's
#: ``library_paths`` (written by an older worker).
LIBRARY_MARKERS = ("/site-packages/", "/dist-packages/", "/lib/python3", "/kerascompat_cell/")


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The outcome of one square and what to tell the user about it."""

    outcome: Outcome
    message: str | None = None
    exc_type: str | None = None
    hint: str | None = None
    #: The id of the known change the hint comes from, which names its scan rule.
    change: str | None = None


def classify(
    finish: Mapping[str, Any],
    versions: Mapping[str, str | None],
    library_paths: Sequence[str] = (),
) -> Verdict:
    """Turn a worker ``finish`` event into a verdict, given the cell's installed versions.

    ``library_paths`` are the cell's standard library and site-packages: a warning raised
    from a file outside them was raised by the user's own code.
    """
    outcome = PYTEST_OUTCOMES.get(str(finish.get("outcome")), Outcome.ERROR)
    api = finish.get("api")
    message, exc_type = finish.get("message"), finish.get("exc_type")
    missing = finish.get("missing") or None
    seen = observed_change(finish)
    if outcome is Outcome.PASSED:
        warned = deprecation_warning(finish, library_paths)
        if warned is not None:
            outcome, message = Outcome.DEPRECATED, warned[0]
            seen = warned[1] or seen
    elif outcome in (Outcome.FAILED, Outcome.ERROR) and is_removal(missing, api, seen, versions):
        outcome = Outcome.REMOVED
    outcome = apply_expected_break(outcome, finish.get("breaks"), versions)
    change = seen or (find_change(api=api) if outcome not in QUIET_OUTCOMES else None)
    if change is None:
        return Verdict(outcome, message, exc_type)
    return Verdict(outcome, message, exc_type, change.hint, change.api)


#: Outcomes that get a hint only from what was seen, not from the ``api=`` id alone.
QUIET_OUTCOMES = (Outcome.PASSED, Outcome.SKIPPED, Outcome.XPASSED)


def observed_change(finish: Mapping[str, Any]) -> KnownChange | None:
    """The known change that the exception or a warning of this test shows, if any.

    A missing name counts unless it was missing from the user's own class or callable.
    """
    missing = finish.get("missing") or None
    names = [missing.get("name")] if missing and not owned_by_user(missing) else []
    change = find_change(names=names, texts=[finish.get("message")])
    if change is not None:
        return change
    for warning in finish.get("warnings") or ():
        change = change_in_warning(warning_text(warning))
        if change is not None:
            return change
    return None


def change_in_warning(text: str) -> KnownChange | None:
    """A known change a warning's text names: its message, or one of its names as a word."""
    for change in KNOWN_CHANGES:
        if change.kind == "api" and change.matches_message(text):
            return change
    for change in KNOWN_CHANGES:
        if change.kind == "api" and any(
            re.search(rf"\b{re.escape(name)}\b", text) for name in change.names
        ):
            return change
    return None


def warning_text(warning: Mapping[str, Any]) -> str:
    """A warning's message without the ``From file:line:`` TensorFlow's logger puts first."""
    return LOGGED_LOCATION.sub("", str(warning.get("message") or ""))


def deprecation_warning(
    finish: Mapping[str, Any], library_paths: Sequence[str] = ()
) -> tuple[str, KnownChange | None] | None:
    """The first warning that makes a pass ``deprecated``, and the change it shows.

    A warning the known-changes table recognises by its message always counts (Keras 3
    warns about a ``PyDataset`` without ``super().__init__()`` from its own files). A
    deprecation counts when it names the API under test (``api=``), or when it was
    raised from the user's own code: the tests or the project under test, anything but
    the cell's installed packages and the standard library. So TensorFlow's internal
    warnings never turn a pass into ``deprecated``.
    """
    names = api_names(finish.get("api"))
    for warning in finish.get("warnings") or ():
        text = warning_text(warning)
        recognised = next((c for c in KNOWN_CHANGES if c.warns and c.matches_message(text)), None)
        if recognised is not None:
            return text, recognised
        if not is_deprecation(warning):
            continue
        names_api = bool(names) and any(name in text for name in names)
        if names_api or is_own_code(warning_location(warning), library_paths):
            return text, change_in_warning(text)
    return None


def warning_location(warning: Mapping[str, Any]) -> str:
    """The file a warning is attributed to; for a logged one, the file its text names."""
    logged = LOGGED_LOCATION.match(str(warning.get("message") or ""))
    if logged and str(warning.get("category", "")).startswith("logging:"):
        return logged.group(1)
    return str(warning.get("filename") or "")


def is_own_code(filename: str, library_paths: Sequence[str]) -> bool:
    """Whether ``filename`` is the user's: a real file outside the cell's libraries."""
    if not filename or filename.startswith("<"):
        return False  # <frozen importlib._bootstrap>, <string>: nobody's own file
    if not library_paths:
        return not any(marker in filename for marker in LIBRARY_MARKERS)
    path = PurePosixPath(filename)
    return not any(path.is_relative_to(library) for library in library_paths)


def is_deprecation(warning: Mapping[str, Any]) -> bool:
    category = str(warning.get("category", ""))
    text = str(warning.get("message", ""))
    if category.rsplit(".", 1)[-1] in DEPRECATION_CATEGORIES:
        return True
    return DEPRECATION_WORD in text.lower()


def is_keras(name: str | None) -> bool:
    """Whether a dotted module or class name belongs to Keras or TensorFlow."""
    return bool(name) and str(name).split(".", 1)[0] in KERAS_MODULES


def keras_owned(missing: Mapping[str, Any]) -> bool:
    """Whether what is missing was looked up on Keras or TensorFlow, as the worker saw it.

    An attribute: missing from a Keras/TensorFlow module, or from an object whose class
    derives from a Keras/TensorFlow class (a user's subclassed ``Model`` too), when the
    lookup was not made inside Keras's own code (that is Keras failing, not an API the
    user called being gone). A keyword: rejected by a Keras/TensorFlow callable. An
    import: of a Keras/TensorFlow module path.
    """
    kind, mro = missing.get("kind"), missing.get("mro")
    if kind == "keyword":
        return is_keras(missing.get("raised_by")) or any(is_keras(base) for base in mro or ())
    if kind == "attribute" and mro:
        keras_class = any(is_keras(base) for base in mro)
        return keras_class and not is_keras(missing.get("raised_by"))
    return is_keras(missing.get("owner")) or (kind == "import" and is_keras(missing.get("name")))


def owned_by_user(missing: Mapping[str, Any]) -> bool:
    """Whether the worker saw that the class or callable concerned is the user's own."""
    kind, mro, raised_by = missing.get("kind"), missing.get("mro"), missing.get("raised_by")
    if any(is_keras(base) for base in mro or ()):
        return False
    if kind == "attribute":
        return bool(mro)
    if kind == "keyword":
        return raised_by is not None and not is_keras(raised_by)
    return False


def is_removal(
    missing: Mapping[str, Any] | None,
    api: str | None,
    change: KnownChange | None = None,
    versions: Mapping[str, str | None] | None = None,
) -> bool:
    """Whether a failure means a Keras/TensorFlow API does not exist in this cell.

    Yes when a name belonging to the API under test (``api=``) is missing, or, for any
    test, when the name was missing from Keras or TensorFlow (:func:`keras_owned`), or
    when the failure shows a known change that breaks in this cell's versions. Never
    when the name was missing from the user's own plain class or callable. With an
    ``api`` id a name outside it needs the table: a missing ``ndim`` inside a working
    ``tf.data`` call is a failure, not a removal.
    """
    if missing and owned_by_user(missing):
        return False
    if breaks_here(change, versions or {}):
        return True
    if not missing:
        return False
    names = api_names(api)
    if names:
        return missing.get("name") in names
    return keras_owned(missing)


def breaks_here(change: KnownChange | None, versions: Mapping[str, str | None]) -> bool:
    """Whether a known change of an API (not a dependency) breaks in these versions."""
    if change is None or change.kind != "api" or not change.breaks:
        return False
    return expected_to_break(change.breaks, versions)


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
