"""Why pytest in a cell refused the user's configuration, and what to do about it.

A cell runs the user's own configuration; what it names that the cell lacks is almost
always a plugin installed where the user runs pytest but not in the cell (``--cov``
from ``addopts`` without pytest-cov). pytest's words say what it did not know; these
functions add which plugin that usually is and where to install it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: Options by the plugin that usually provides them: a flag, or a prefix of long flags.
OPTION_PLUGINS = {
    "-n": "pytest-xdist",
    "--numprocesses": "pytest-xdist",
    "--maxprocesses": "pytest-xdist",
    "--dist": "pytest-xdist",
    "--cov": "pytest-cov",
    "--no-cov": "pytest-cov",
    "--timeout": "pytest-timeout",
    "--reruns": "pytest-rerunfailures",
    "--only-rerun": "pytest-rerunfailures",
    "--randomly": "pytest-randomly",
    "--benchmark": "pytest-benchmark",
    "--hypothesis": "hypothesis",
    "--html": "pytest-html",
    "--json-report": "pytest-json-report",
    "--mypy": "pytest-mypy",
    "--asyncio-mode": "pytest-asyncio",
}
#: Ini keys by the plugin that usually reads them.
INI_PLUGINS = {
    "timeout": "pytest-timeout",
    "timeout_method": "pytest-timeout",
    "asyncio_mode": "pytest-asyncio",
    "env": "pytest-env",
    "reruns": "pytest-rerunfailures",
    "mock_use_standalone_module": "pytest-mock",
}
#: ``-p NAME`` module names by their distribution.
MODULE_PLUGINS = {
    "xdist": "pytest-xdist",
    "pytest_cov": "pytest-cov",
    "randomly": "pytest-randomly",
}

UNRECOGNIZED = re.compile(r"unrecognized arguments: (.+)")
UNKNOWN_INI = re.compile(r"Unknown config option: (\S+)")
PLUGIN_IMPORT = re.compile(r'Error importing plugin "([^"]+)"')
MISSING_REQUIRED = re.compile(r"Missing required plugins: (.+)")
WHERE_TO_INSTALL = (
    "add {} to this cell's `packages` in matrix.yaml (or to `defaults: packages:` for "
    'every cell), or to your project\'s test extras installed through `project: ".[test]"`'
)


def describe_usage_error(event: Mapping[str, Any]) -> str:
    """pytest's refusal in its own words, then what was missing and where to install it."""
    message = str(event.get("message") or event.get("exc_type") or "a usage error")
    lines = [f"pytest in this cell refused the configuration: {pytest_words(message)}"]
    advice = missing_plugin_advice(message)
    if advice:
        lines.append(advice)
    return "\n".join(lines)


def pytest_words(message: str) -> str:
    """The line that says what is wrong, without argparse's usage banner."""
    for line in message.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("usage:"):
            return stripped.split(": error: ", 1)[-1]
    return message.strip()


def missing_plugin_advice(message: str) -> str | None:
    """Which option, ini key or plugin the cell lacks, the plugin that brings it, the fix."""
    found = UNRECOGNIZED.search(message)
    if found:
        options = [word.split("=", 1)[0] for word in found.group(1).split() if word[:1] == "-"]
        names = ", ".join(options) or found.group(1)
        what = "is an option" if len(options) == 1 else "are options"
        return (
            f"{names} (from addopts or PYTEST_ADDOPTS) {what} of a pytest plugin not "
            "installed in this cell: " + WHERE_TO_INSTALL.format(plugins_for(options))
        )
    found = UNKNOWN_INI.search(message)
    if found:
        key = found.group(1)
        plugin = INI_PLUGINS.get(key)
        return (
            f"the ini key {key} is read by a pytest plugin that is not installed in this cell: "
            + WHERE_TO_INSTALL.format(plugin or "that plugin")
        )
    found = PLUGIN_IMPORT.search(message)
    if found:
        module = found.group(1)
        plugin = MODULE_PLUGINS.get(module, f"the distribution that provides {module}")
        return f"-p {module} names a plugin that is not installed in this cell: " + (
            WHERE_TO_INSTALL.format(plugin)
        )
    found = MISSING_REQUIRED.search(message)
    if found:
        return "required_plugins names plugins this cell lacks: " + WHERE_TO_INSTALL.format(
            found.group(1).strip()
        )
    return None


def plugins_for(options: list[str]) -> str:
    """The plugins that usually provide ``options``, or a plain description."""
    plugins = []
    for option in options:
        plugin = OPTION_PLUGINS.get(option) or next(
            (name for flag, name in OPTION_PLUGINS.items() if option.startswith(flag + "-")),
            None,
        )
        if plugin and plugin not in plugins:
            plugins.append(plugin)
    return " and ".join(plugins) if plugins else "the plugin that provides it"
