"""Ask a package index which releases install on which Python, to pick one per cell.

TensorFlow declares Requires-Python without an upper bound, so "does 2.15 install on
3.12?" is answered only by the wheel tags a release ships. We read the PEP 691 JSON
simple API (file names, Requires-Python, yanked flags) once per project per day and
decide from that alone: no dependency resolution and no downloads.

The indexes are the installer's (:mod:`pytest_kerascompat.plan.index_config`): extra
indexes first, then the default, the first that has a project giving all its files,
as uv's default index strategy does.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import http.client
import json
import logging
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Union

from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags, platform_tags
from packaging.utils import (
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from pytest_kerascompat.config._validation import CommandError
from pytest_kerascompat.env._files import write_text_atomically
from pytest_kerascompat.plan.index_config import DEFAULT_INDEX_URL as DEFAULT_INDEX_URL
from pytest_kerascompat.plan.index_config import read_index_settings
from pytest_kerascompat.plan.interpreters import Interpreter

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"

_CACHE_FORMAT = 1
_FETCH_TIMEOUT = 30.0
_FAR_PATCH = 999
_USER_AGENT = "pytest-kerascompat"

_CPYTHON_TAG = re.compile(r"cp3(\d+)$")
_PYTHON_CLASSIFIER = re.compile(r"Programming Language :: Python :: 3\.(\d+)")

PythonVersion = Union[tuple[int, int], tuple[int, int, int]]

_log = logging.getLogger(__name__)


class IndexUnavailable(CommandError):
    """The index could not be read and no earlier answer was cached."""

    def __init__(self, project: str, url: str, cause: str, missing: bool = False) -> None:
        super().__init__(
            f"cannot list the files of {project!r} at {url} ({cause}) "
            "and there is no cached copy to fall back on"
        )
        self.project = project
        self.url = url
        #: The index answered that it has no such project (not that it is unreachable).
        self.missing = missing


def missing(error: BaseException) -> bool:
    """An index's "no such project": HTTP 404/410, or a file index without the directory."""
    if isinstance(error, urllib.error.HTTPError):
        return error.code in (404, 410)
    reason = getattr(error, "reason", error)
    return isinstance(reason, FileNotFoundError)


@dataclass(frozen=True)
class DistFile:
    """One file of a release, reduced to what decides whether it installs."""

    filename: str
    requires_python: str | None = None
    yanked: bool = False


_Releases = dict[Version, list[tuple[DistFile, Union[frozenset[Tag], None]]]]


@dataclass(frozen=True)
class InterpreterPick:
    """What :func:`pick_interpreter` chose, and a sentence saying why.

    ``interpreter`` is None when no interpreter can install every requirement.
    ``index_available`` is False when the index could not be read, in which case the
    newest interpreter was taken blindly and the install itself will tell the truth.
    """

    interpreter: Interpreter | None
    reason: str
    index_available: bool = True


def default_index_url(environ: Mapping[str, str] | None = None) -> str:
    """The index uv or pip would use, so we judge the same files the install will see."""
    return read_index_settings(os.environ if environ is None else environ).default


class PackageIndex:
    """File lists of projects on one index, cached on disk for ``ttl`` seconds.

    ``fetch`` takes a URL and returns the response body, raising ``OSError`` when
    the index cannot be reached. A failed project is not retried by the same
    instance, so a sweep over many cells waits for one timeout, not one per cell.
    """

    def __init__(
        self,
        cache_dir: Path,
        *,
        index_url: str | None = None,
        extra_index_urls: Sequence[str] = (),
        ttl: float = 86400.0,
        fetch: Callable[[str], bytes] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if index_url is None:
            settings = read_index_settings()
            index_url, extra_index_urls = settings.default, settings.extras
        self.index_url = index_url.rstrip("/")
        #: Asked in this order; the first that has a project gives all its files.
        self.index_urls = (*(url.rstrip("/") for url in extra_index_urls), self.index_url)
        self.ttl = ttl
        self._cache_dir = cache_dir / "index"
        self._fetch = fetch or fetch_simple_json
        self._clock = clock
        self._memo: dict[NormalizedName, tuple[float, _Releases]] = {}
        self._classified: dict[NormalizedName, set[tuple[int, int]]] = {}
        self._fetch_json = fetch or fetch_json
        self._failures: dict[NormalizedName, IndexUnavailable] = {}
        #: Why a file list could not be cached (the first such), for a line in the sweep's
        #: output: the logging warning alone is not shown while pytest captures logs.
        self.cache_problem: str | None = None

    def project_url(self, project: str, index_url: str | None = None) -> str:
        return f"{index_url or self.index_url}/{canonicalize_name(project)}/"

    def releases(self, project: str) -> dict[Version, list[DistFile]]:
        """Every parseable release with its files, yanked and prerelease ones included."""
        return {
            version: [file for file, _ in entries]
            for version, entries in self._releases(project).items()
        }

    def tagged_pythons(self, project: str, specifier: SpecifierSet) -> set[tuple[int, int]]:
        """Every CPython ``3.X`` a wheel of a matching release names in its tags (``cp314``).

        abi3 and pure-Python wheels name only a floor, so they add nothing here: this
        is how a Python newer than any this tool has heard of becomes known.
        """
        allow_pre = bool(specifier.prereleases)
        found = set()
        for version, entries in self._releases(project).items():
            if not specifier.contains(version, prereleases=allow_pre):
                continue
            for file, tags in entries:
                if tags is None or file.yanked:
                    continue
                for tag in tags:
                    match = _CPYTHON_TAG.match(tag.interpreter)
                    if match and tag.abi != "abi3":
                        found.add((3, int(match.group(1))))
        return found

    def classified_pythons(self, project: str) -> set[tuple[int, int]]:
        """The ``Programming Language :: Python :: 3.X`` classifiers of a project's newest release.

        Read from the index's JSON API (``/pypi/<name>/json``, which PyPI and most
        mirrors serve beside ``/simple``); an index without it gives an empty set.
        """
        name = canonicalize_name(project)
        if name not in self._classified:
            self._classified[name] = set()
            base = self.index_url.removesuffix("/simple")
            try:
                info = json.loads(self._fetch_json(f"{base}/pypi/{name}/json")).get("info", {})
                classifiers = info.get("classifiers") or []
            except (OSError, http.client.HTTPException, ValueError, AttributeError) as exc:
                _log.info("no classifiers of %s from %s: %s", name, _redact(base), exc)
                classifiers = []
            for classifier in classifiers:
                match = _PYTHON_CLASSIFIER.fullmatch(str(classifier))
                if match:
                    self._classified[name].add((3, int(match.group(1))))
        return self._classified[name]

    def installable_versions(
        self, project: str, specifier: SpecifierSet, python: PythonVersion
    ) -> list[Version]:
        """Versions matching ``specifier`` with a file that installs on ``python``, newest first.

        ``python`` is ``(3, X)`` or, to apply Requires-Python exactly, ``(3, X, Y)``.
        Prereleases count only if the specifier names one, as pip and uv behave.
        """
        return list(self._installable(project, specifier, python))

    def newest_installable(
        self, project: str, specifier: SpecifierSet, python: PythonVersion
    ) -> Version | None:
        return next(self._installable(project, specifier, python), None)

    def _installable(
        self, project: str, specifier: SpecifierSet, python: PythonVersion
    ) -> Iterator[Version]:
        releases = self._releases(project)
        allow_pre = bool(specifier.prereleases)
        for version in sorted(releases, reverse=True):
            if specifier.contains(version, prereleases=allow_pre) and any(
                _installs_on(file, tags, python) for file, tags in releases[version]
            ):
                yield version

    def _releases(self, project: str) -> _Releases:
        name = canonicalize_name(project)
        if name in self._failures:
            raise self._failures[name]
        memo = self._memo.get(name)
        if memo is not None and self._clock() < memo[0]:
            return memo[1]
        try:
            valid_until, files = self._files(name)
        except IndexUnavailable as exc:
            self._failures[name] = exc
            raise
        releases = _group_by_version(files)
        self._memo[name] = (valid_until, releases)
        return releases

    def _files(self, name: NormalizedName) -> tuple[float, list[DistFile]]:
        """The files of the first extra index that has the project, else the default's.

        An extra index that does not answer is passed over with a warning: the default
        index still decides, as it would for a project the extra does not hold.
        """
        for extra in self.index_urls[:-1]:
            try:
                return self._files_on(name, extra)
            except IndexUnavailable as exc:
                if not exc.missing:
                    _log.warning("passing over the extra index %s: %s", redact(extra), exc)
        return self._files_on(name, self.index_url)

    def _files_on(self, name: NormalizedName, index_url: str) -> tuple[float, list[DistFile]]:
        """Files from a fresh cache, else the index, else a stale cache.

        Returns the time until which the answer may be reused; a stale answer is
        reused for a full ``ttl`` so an offline sweep does not keep knocking.
        """
        url = self.project_url(name, index_url)
        cached = self._read_cache(name, url)
        now = self._clock()
        if cached is not None and 0 <= now - cached[0] < self.ttl:  # a future date: stale
            return cached[0] + self.ttl, cached[1]
        try:
            files = parse_project_page(self._fetch(url))
        except (OSError, http.client.HTTPException, ValueError) as exc:
            if cached is None:
                cause = str(exc) or type(exc).__name__
                raise IndexUnavailable(name, _redact(url), cause, missing(exc)) from exc
            _log.warning(
                "using the cached file list of %s: %s unreachable (%s)", name, _redact(url), exc
            )
            return now + self.ttl, cached[1]
        self._write_cache(name, url, now, files)
        return now + self.ttl, files

    def _cache_path(self, name: NormalizedName, url: str) -> Path:
        """``<name>.json`` for the default index; an extra's files are named by its URL too."""
        if url == self.project_url(name):
            return self._cache_dir / f"{name}.json"
        tag = hashlib.sha256(_redact(url).encode()).hexdigest()[:12]
        return self._cache_dir / f"{name}.{tag}.json"

    def _read_cache(self, name: NormalizedName, url: str) -> tuple[float, list[DistFile]] | None:
        """The cached answer for this index URL, or None if absent, foreign or corrupt."""
        try:
            data = json.loads(self._cache_path(name, url).read_text(encoding="utf-8"))
            if data["format"] != _CACHE_FORMAT or data["url"] != _redact(url):
                return None
            files = [_dist_file(item) for item in data["files"]]
            return float(data["fetched_at"]), files
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _write_cache(
        self, name: NormalizedName, url: str, fetched_at: float, files: list[DistFile]
    ) -> None:
        document = {
            "format": _CACHE_FORMAT,
            "url": _redact(url),
            "fetched_at": fetched_at,
            "files": [
                {"filename": f.filename, "requires-python": f.requires_python, "yanked": f.yanked}
                for f in files
            ],
        }
        path = self._cache_path(name, url)
        try:
            write_text_atomically(path, json.dumps(document) + "\n")
        except OSError as exc:
            _log.warning("cannot cache the file list of %s: %s", name, exc)
            self.cache_problem = self.cache_problem or (
                f"file lists of the index not cached: {exc.filename or path}: "
                f"{exc.strerror or exc}; they are fetched again next time (free space in "
                "the cache, or make it writable, to keep them)"
            )


def pick_interpreter(
    requirements: Sequence[Requirement],
    interpreters: Sequence[Interpreter],
    index: PackageIndex,
) -> InterpreterPick:
    """The newest interpreter on which every requirement has an installable release.

    Pass only the anchor requirements (tensorflow, keras): their wheel tags decide
    the Python, and resolving whole dependency trees here would duplicate the
    installer. Requirements whose marker excludes an interpreter, and direct URL
    requirements, do not constrain it.
    """
    ordered = sorted(interpreters, key=lambda found: found.version, reverse=True)
    wanted = ", ".join(str(requirement) for requirement in requirements) or "nothing"
    if not ordered:
        return InterpreterPick(None, "no CPython >= 3.7 interpreter was found")
    try:
        for interpreter in ordered:
            if all(_installable_on(req, interpreter, index) for req in requirements):
                return InterpreterPick(
                    interpreter,
                    f"Python {interpreter.full_version} is the newest interpreter "
                    f"that can install {wanted}",
                )
    except IndexUnavailable as exc:
        newest = ordered[0]
        return InterpreterPick(
            newest, f"{exc}; using the newest interpreter, Python {newest.full_version}", False
        )
    minors = ", ".join(dict.fromkeys(found.minor for found in ordered))
    return InterpreterPick(None, f"no release of {wanted} installs on Python {minors}")


def fetch_simple_json(url: str) -> bytes:
    """GET a PEP 691 project page; credentials in the URL become a Basic auth header."""
    clean, authorization = _split_credentials(url)
    headers = {"Accept": SIMPLE_JSON, "User-Agent": _USER_AGENT}
    if authorization is not None:
        headers["Authorization"] = authorization
    request = urllib.request.Request(clean, headers=headers)
    with urllib.request.urlopen(request, timeout=_FETCH_TIMEOUT) as response:
        body: bytes = response.read()
    return body


def fetch_json(url: str) -> bytes:
    """GET a JSON document (the index's JSON API), credentials as for the simple API."""
    clean, authorization = _split_credentials(url)
    headers = {"Accept": "application/json", "User-Agent": _USER_AGENT}
    if authorization is not None:
        headers["Authorization"] = authorization
    request = urllib.request.Request(clean, headers=headers)
    with urllib.request.urlopen(request, timeout=_FETCH_TIMEOUT) as response:
        body: bytes = response.read()
    return body


def parse_project_page(body: bytes) -> list[DistFile]:
    """The ``files`` of a PEP 691 response; raises ValueError if it is not one."""
    page = json.loads(body)
    if not isinstance(page, dict) or not isinstance(page.get("files"), list):
        raise ValueError("the index did not answer with a PEP 691 JSON project page")
    return [_dist_file(item) for item in page["files"]]


def _dist_file(item: object) -> DistFile:
    """PEP 691 marks a yanked file with ``true`` or with the reason as a string."""
    if not isinstance(item, dict) or not isinstance(item.get("filename"), str):
        raise ValueError(f"not a PEP 691 file entry: {item!r}")
    requires_python = item.get("requires-python")
    yanked = item.get("yanked", False)
    return DistFile(
        filename=item["filename"],
        requires_python=requires_python if isinstance(requires_python, str) else None,
        yanked=yanked is True or isinstance(yanked, str),
    )


def _group_by_version(files: Sequence[DistFile]) -> _Releases:
    """Files keyed by the version in their name; unparseable and legacy formats are dropped."""
    releases: _Releases = {}
    for file in files:
        parsed = _parse_filename(file.filename)
        if parsed is not None:
            version, tags = parsed
            releases.setdefault(version, []).append((file, tags))
    return releases


def _parse_filename(filename: str) -> tuple[Version, frozenset[Tag] | None] | None:
    """Version and wheel tags (None for an sdist), or None for eggs, installers and junk."""
    try:
        if filename.endswith(".whl"):
            _, version, _, tags = parse_wheel_filename(filename)
            return version, tags
        _, version = parse_sdist_filename(filename)
    except ValueError:
        return None
    return version, None


def _installs_on(file: DistFile, tags: frozenset[Tag] | None, python: PythonVersion) -> bool:
    """Whether an installer could use this file; an sdist counts, as pip would build it."""
    if file.yanked or not _python_allowed(file.requires_python, python):
        return False
    return tags is None or not tags.isdisjoint(_supported_tags(python[0], python[1]))


def _python_allowed(requires_python: str | None, python: PythonVersion) -> bool:
    """Requires-Python check; for a bare ``(3, X)`` any 3.X.Y that satisfies it will do.

    Real bounds naming a patch release are one-sided (``>=3.8.1``, ``<3.11.4``), so
    trying 3.X.0 and a far-future 3.X patch covers them. Invalid metadata is ignored,
    as pip ignores it.
    """
    specifier = _requires_python_specifier(requires_python) if requires_python else None
    if specifier is None:
        return True
    exact = len(python) == 3
    candidates = [python] if exact else [(*python, 0), (*python, _FAR_PATCH)]
    return any(
        specifier.contains(Version(".".join(map(str, candidate))), prereleases=True)
        for candidate in candidates
    )


@functools.lru_cache(maxsize=512)
def _requires_python_specifier(text: str) -> SpecifierSet | None:
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None


@functools.lru_cache(maxsize=32)
def _supported_tags(major: int, minor: int) -> frozenset[Tag]:
    """Tags a CPython ``major.minor`` on this machine accepts, as pip computes them."""
    platforms = list(platform_tags())
    version = (major, minor)
    return frozenset(
        chain(
            cpython_tags(python_version=version, platforms=platforms),
            compatible_tags(
                python_version=version, interpreter=f"cp{major}{minor}", platforms=platforms
            ),
        )
    )


def _installable_on(
    requirement: Requirement, interpreter: Interpreter, index: PackageIndex
) -> bool:
    if requirement.url:
        return True
    if requirement.marker is not None and not requirement.marker.evaluate(
        _marker_environment(interpreter)
    ):
        return True
    found = index.newest_installable(requirement.name, requirement.specifier, interpreter.version)
    return found is not None


def _marker_environment(interpreter: Interpreter) -> dict[str, str]:
    return {
        "python_version": interpreter.minor,
        "python_full_version": interpreter.full_version,
        "implementation_version": interpreter.full_version,
    }


def _split_credentials(url: str) -> tuple[str, str | None]:
    """Move ``user:password@`` out of the URL, which urllib would otherwise reject."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url, None
    user = urllib.parse.unquote(parts.username)
    password = urllib.parse.unquote(parts.password or "")
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return _redact(url), f"Basic {token}"


def redact(url: str) -> str:
    """The URL without credentials: every URL a message, a log or a report shows."""
    return _redact(url)


def _redact(url: str) -> str:
    """The URL without credentials, safe for messages and cache files."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
