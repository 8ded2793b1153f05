"""Which indexes the installer will read: uv's and pip's settings, as they read them.

The index client must judge the same files the install will see, or a company mirror
(or an extra index of internal wheels) would make it pick a Python the install then
refuses. uv builds the cells, so its settings come first: its environment variables,
then its configuration files (``uv.toml`` or ``[tool.uv]`` in the project, then the
user's and the system's ``uv.toml``). pip's (``PIP_INDEX_URL``, ``PIP_EXTRA_INDEX_URL``,
``pip.conf``) apply when uv's name no index, as they do when nox falls back to pip.

Credentials given through the environment (``UV_INDEX_<NAME>_USERNAME`` and
``_PASSWORD``) join the URL only in memory: every message, log line and cache file
shows URLs through :func:`pytest_kerascompat.plan.index.redact`.
"""

from __future__ import annotations

import configparser
import dataclasses
import os
import re
import sys
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.9 and 3.10
    import tomli as tomllib  # type: ignore[import-not-found, no-redef, unused-ignore]

DEFAULT_INDEX_URL = "https://pypi.org/simple"


@dataclasses.dataclass(frozen=True)
class IndexSettings:
    """The default index and the extra ones, in the order uv asks them (extras first)."""

    default: str = DEFAULT_INDEX_URL
    extras: tuple[str, ...] = ()
    #: Where the setting came from, for messages: ``UV_INDEX_URL``, ``uv.toml``...
    origin: str = "default"

    @property
    def urls(self) -> tuple[str, ...]:
        """uv's default strategy: the first index that has a project gives all its files."""
        return (*self.extras, self.default)


def read_index_settings(
    environ: Mapping[str, str] | None = None, project_dir: Path | None = None
) -> IndexSettings:
    env = os.environ if environ is None else environ
    project = project_dir or Path.cwd()
    for reader in (_uv_environment, _uv_files, _pip_environment, _pip_files):
        found = reader(env, project)
        if found is not None:
            return found
    return IndexSettings()


def _uv_environment(env: Mapping[str, str], project: Path) -> IndexSettings | None:
    default_variable = next(
        (name for name in ("UV_DEFAULT_INDEX", "UV_INDEX_URL") if env.get(name)), None
    )
    extras = [*_split(env.get("UV_INDEX", "")), *_split(env.get("UV_EXTRA_INDEX_URL", ""))]
    extras = [_unnamed(entry) for entry in extras]
    if default_variable is None and not extras:
        return None
    default = env[default_variable] if default_variable else _uv_files_default(env, project)
    return IndexSettings(default, tuple(extras), default_variable or "UV_INDEX")


def _uv_files_default(env: Mapping[str, str], project: Path) -> str:
    found = _uv_files(env, project)
    return found.default if found is not None else DEFAULT_INDEX_URL


def _uv_files(env: Mapping[str, str], project: Path) -> IndexSettings | None:
    """The first of uv's configuration files that names an index, as uv looks them up."""
    if env.get("UV_NO_CONFIG"):
        return None
    for path, table in _uv_tables(env, project):
        found = _from_uv_table(table, env, str(path))
        if found is not None:
            return found
    return None


def _uv_tables(env: Mapping[str, str], project: Path) -> list[tuple[Path, dict[str, Any]]]:
    if env.get("UV_CONFIG_FILE"):
        candidates = [(Path(env["UV_CONFIG_FILE"]), False)]
    else:
        home = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
        candidates = [
            *((directory / "uv.toml", False) for directory in (project, *project.parents)),
            *((directory / "pyproject.toml", True) for directory in (project, *project.parents)),
            (home / "uv" / "uv.toml", False),
            (Path("/etc/uv/uv.toml"), False),
        ]
    tables = []
    for path, in_pyproject in candidates:
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        table = document
        if in_pyproject:
            tool = document.get("tool")
            table = tool.get("uv") if isinstance(tool, dict) else None
        if isinstance(table, dict):
            tables.append((path, table))
    return tables


def _from_uv_table(
    table: Mapping[str, Any], env: Mapping[str, str], origin: str
) -> IndexSettings | None:
    """``[pip]`` (what ``uv pip install`` reads), then the top level, then ``[[index]]``."""
    pip = table.get("pip")
    pip = pip if isinstance(pip, dict) else {}
    default: str | None = None
    extras: list[str] = []
    for section in (pip, table):
        default = default or _text(section.get("index-url"))
        extras += [url for url in _texts(section.get("extra-index-url")) if url not in extras]
    for entry in table.get("index") or ():
        if not isinstance(entry, dict) or not _text(entry.get("url")):
            continue
        url = _with_credentials(str(entry["url"]), _text(entry.get("name")), env)
        if entry.get("default") is True:
            default = default or url
        elif not entry.get("explicit"):
            extras.append(url)
    if default is None and not extras:
        return None
    return IndexSettings(default or DEFAULT_INDEX_URL, tuple(extras), origin)


def _pip_environment(env: Mapping[str, str], project: Path) -> IndexSettings | None:
    extras = tuple(_split(env.get("PIP_EXTRA_INDEX_URL", "")))
    if not env.get("PIP_INDEX_URL") and not extras:
        return None
    files = _pip_files(env, project)
    default = env.get("PIP_INDEX_URL") or (files.default if files else DEFAULT_INDEX_URL)
    return IndexSettings(default, extras, "PIP_INDEX_URL" if env.get("PIP_INDEX_URL") else
                         "PIP_EXTRA_INDEX_URL")  # fmt: skip


def _pip_files(env: Mapping[str, str], project: Path) -> IndexSettings | None:
    """pip's configuration files, later ones overriding earlier, as pip merges them."""
    if env.get("PIP_CONFIG_FILE") == os.devnull:
        return None
    home = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    paths = [Path("/etc/xdg/pip/pip.conf"), Path("/etc/pip.conf"), Path.home() / ".pip/pip.conf",
             home / "pip" / "pip.conf"]  # fmt: skip
    if env.get("VIRTUAL_ENV"):
        paths.append(Path(env["VIRTUAL_ENV"]) / "pip.conf")
    if env.get("PIP_CONFIG_FILE"):
        paths.append(Path(env["PIP_CONFIG_FILE"]))
    parser = configparser.RawConfigParser()
    read = parser.read([str(path) for path in paths], encoding="utf-8")
    default = extras = None
    for section in ("global", "install"):
        if parser.has_section(section):
            default = parser.get(section, "index-url", fallback=default)
            extras = parser.get(section, "extra-index-url", fallback=extras)
    if not default and not extras:
        return None
    return IndexSettings(default or DEFAULT_INDEX_URL, tuple(_split(extras or "")),
                         read[-1] if read else "pip.conf")  # fmt: skip


def _split(text: str) -> list[str]:
    return [part for part in re.split(r"\s+", text.strip()) if part]


def _unnamed(entry: str) -> str:
    """``UV_INDEX`` entries may be ``name=url``."""
    name, separator, url = entry.partition("=")
    return url if separator and "://" not in name else entry


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _texts(value: object) -> list[str]:
    if isinstance(value, str):
        return _split(value)
    if isinstance(value, Sequence):
        return [text for text in map(_text, value) if text]
    return []


def _with_credentials(url: str, name: str | None, env: Mapping[str, str]) -> str:
    """uv's ``UV_INDEX_<NAME>_USERNAME`` and ``_PASSWORD`` for a named index, in the URL."""
    if name is None:
        return url
    prefix = "UV_INDEX_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()
    user, password = env.get(f"{prefix}_USERNAME"), env.get(f"{prefix}_PASSWORD")
    if not user and not password:
        return url
    parts = urllib.parse.urlsplit(url)
    quoted = urllib.parse.quote(user or "", safe="")
    if password:
        quoted += ":" + urllib.parse.quote(password, safe="")
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{quoted}@{host}"))
