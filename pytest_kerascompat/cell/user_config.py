"""The user's own pytest configuration, made to hold inside a cell.

A cell runs the user's suite under their configuration (``addopts``, ini keys,
``filterwarnings``, ``--strict-config``, ``--strict-markers``), but without the
controller's plugin and with pytest's cache plugin off. Left alone, that configuration
would name options nobody in the cell declares, so pytest would refuse it, or options
that stop or reorder the session, which the controller applies across cells instead.
This module makes the configuration valid in the cell and inert where it must be:

- the controller's own options and ini keys are accepted and ignored (their
  declarations come from :data:`protocol.HOST_OPTIONS_FILE`, written from the
  controller's single declaration of them);
- the cache plugin's options and ini key are accepted and ignored while it is off;
- after parsing, the options that stop, reorder or distribute the session (``-x``,
  ``--maxfail``, ``--lf``, ``--sw``, ``--pdb``, xdist's ``-n``) are set back to their
  defaults;
- when pytest still refuses the configuration (a plugin's option or ini key where that
  plugin is not installed), the refusal is recorded as a ``usage_error`` event, so the
  cell says so instead of looking as if TensorFlow failed to import.

Python 3.7+, standard library and pytest only.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Sequence

import pytest

from . import protocol

GROUP = "kerascompat worker"
IGNORED_HELP = "accepted and ignored in a cell: {} applies it"
#: The cache plugin's options (``flags``, argparse keywords), as pytest declares them.
CACHE_OPTIONS = (
    (("--lf", "--last-failed"), {"action": "store_true"}),
    (("--ff", "--failed-first"), {"action": "store_true"}),
    (("--nf", "--new-first"), {"action": "store_true"}),
    (("--cache-show",), {"action": "append", "nargs": "?"}),
    (("--cache-clear",), {"action": "store_true"}),
    (("--lfnf", "--last-failed-no-failures"), {"action": "store"}),
)
CACHE_INI = "cache_dir"
#: The stepwise plugin's, blocked with the cache plugin it needs.
STEPWISE_OPTIONS = (
    (("--sw", "--stepwise"), {"action": "store_true"}),
    (("--sw-skip", "--stepwise-skip"), {"action": "store_true"}),
    (("--sw-reset", "--stepwise-reset"), {"action": "store_true"}),
)
#: ``config.option`` attributes that stop, reorder or distribute a session, and the
#: value that makes each inert. The controller runs every cell to the end and applies
#: ``-x``/``--maxfail``/``--lf`` across cells; a debugger has no terminal in a cell.
INERT_VALUES: Dict[str, Any] = {
    "maxfail": 0,
    "lf": False,
    "failedfirst": False,
    "newfirst": False,
    "stepwise": False,
    "stepwise_skip": False,
    "usepdb": False,
    "trace": False,
    "numprocesses": None,
    "maxprocesses": None,
    "dist": "no",
    "tx": [],
    "looponfail": False,
}
#: pytest's exit status for a configuration it refuses.
USAGE_ERROR_STATUS = 4


def host_options(path: Optional[str] = None) -> List[Dict[str, Any]]:
    """The controller plugin's options: ``flags``, ``takes_value`` and ``ini`` (or null).

    Missing when the worker runs outside a prepared cell (as in this project's own
    in-process tests): then there is nothing to declare.
    """
    path = path or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), protocol.HOST_OPTIONS_FILE
    )
    try:
        with open(path, encoding="utf-8") as handle:
            return list(json.load(handle))
    except (OSError, ValueError):
        return []


def add_stand_ins(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """Declare the options and ini keys a user's configuration may name but nothing in
    the cell provides: the controller plugin's, and the cache plugin's while it is off."""
    group = parser.getgroup(GROUP)
    for index, option in enumerate(host_options()):
        action = "store" if option.get("takes_value") else "store_true"
        group.addoption(
            *option["flags"],
            action=action,
            dest=f"kc_ignored_host_{index}",
            help=IGNORED_HELP.format("the controller (pytest --keras-matrix)"),
        )
        if option.get("ini"):
            parser.addini(option["ini"], IGNORED_HELP.format("the controller"), default=None)
    blocked = {
        "cacheprovider": CACHE_OPTIONS,
        "stepwise": STEPWISE_OPTIONS,
    }
    for plugin, options in blocked.items():
        if not pluginmanager.is_blocked(plugin):
            continue
        for index, (flags, keywords) in enumerate(options):
            group.addoption(
                *flags,
                dest=f"kc_ignored_{plugin}_{index}",
                help=IGNORED_HELP.format("the controller"),
                **keywords,
            )
    if pluginmanager.is_blocked("cacheprovider"):
        parser.addini(CACHE_INI, IGNORED_HELP.format("nothing (the cache is off)"), default=None)


def neutralise(option: Any) -> None:
    """Set the session-shaping options a configuration gave back to their inert values."""
    for name, value in INERT_VALUES.items():
        if hasattr(option, name):
            setattr(option, name, value)


def results_path(args: Sequence[str]) -> Optional[str]:
    """``--kc-results`` from the raw command line: pytest could not parse it for us."""
    flag = protocol.RESULTS_FLAG
    for index, arg in enumerate(args):
        if arg == flag and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(flag + "="):
            return arg[len(flag) + 1 :]
    return None


def usage_error_fields(error: BaseException) -> Dict[str, Any]:
    """What a ``usage_error`` event says: pytest's own words, whole."""
    message = str(error).strip() or type(error).__name__
    return {"exc_type": type(error).__name__, "message": message}


def is_refusal(error: BaseException) -> bool:
    """A usage error, a ``-p`` plugin that did not import, or (under ``filterwarnings =
    error``) a configuration warning raised as an exception."""
    return isinstance(error, (pytest.UsageError, ImportError, pytest.PytestConfigWarning))


def refused_late(config: pytest.Config, exitstatus: int) -> bool:
    """Whether pytest 7.4 refused unknown ini keys after collecting.

    There pluggy 1.2 (Python 3.7 cells) hides the error from the worker's collection
    wrapper; only the exit status (usage error, or internal error for a warning raised
    under ``filterwarnings = error``) and the unknown keys are left to tell.
    """
    return exitstatus in (USAGE_ERROR_STATUS, 3) and bool(unknown_ini_keys(config))


def unknown_ini_keys(config: pytest.Config) -> List[str]:
    """The ini keys nothing declared, as pytest computes them (its own helper)."""
    unknown = getattr(config, "_get_unknown_ini_keys", None)
    return sorted(unknown()) if callable(unknown) else []


def late_refusal(config: pytest.Config) -> Dict[str, Any]:
    """A ``usage_error`` event's fields for :func:`refused_late`, in pytest's words."""
    message = "".join(f"Unknown config option: {key}\n" for key in unknown_ini_keys(config))
    return {"exc_type": "UsageError", "message": message.strip()}
