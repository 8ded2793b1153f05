"""Find the CPython interpreters installed on this machine.

Each TensorFlow release ships wheels for a narrow window of CPython minors, so a sweep
needs more than the one Python on PATH. We look at pyenv installs, every ``python3.X`` on
PATH and uv-managed installs, and believe a candidate only after running it: names lie
(a ``python3`` may be Python 3.6, a venv or a wrapper script) and pyenv *shims* answer
"command not found" for every version that is not currently selected, so shim
directories are never searched.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

MIN_VERSION = (3, 7)

_PROBE_TIMEOUT = 5.0
_UV_TIMEOUT = 10.0
_MAX_WORKERS = 16
_PROBE = (
    "import sys; sys.stdout.write('%s %d.%d.%d %s\\n' % ((sys.implementation.name,)"
    " + tuple(sys.version_info[:3]) + (getattr(sys, 'abiflags', ''),)))"
)
_PYENV_NAME = re.compile(r"python3\.(\d+)")
_PATH_NAME = re.compile(r"python(?:3(?:\.(\d+))?)?")
_VERSION_REQUEST = re.compile(r"(?:python)?(\d+(?:\.\d+){0,2})")
_CACHE_KEYS = frozenset({"PATH", "HOME", "PYENV_ROOT", "UV"})
_CACHE_PREFIXES = ("UV_", "XDG_")

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Interpreter:
    """A CPython we have run and whose version we therefore know."""

    executable: Path
    version: tuple[int, int, int]
    source: str

    @property
    def minor(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"

    @property
    def full_version(self) -> str:
        return ".".join(str(part) for part in self.version)


@dataclass(frozen=True)
class _Candidate:
    path: Path
    source: str


def discover_interpreters(environ: Mapping[str, str] | None = None) -> list[Interpreter]:
    """Every usable CPython >= 3.7, newest first, one entry per real binary.

    Probing a dozen interpreters costs tens of milliseconds, and a session asks many
    times, so the answer is cached per process, keyed on the variables that steer the
    search; :func:`clear_cache` forgets it.
    """
    env = os.environ if environ is None else environ
    relevant = tuple(sorted((key, value) for key, value in env.items() if _steers_search(key)))
    return list(_discover_cached(relevant))


def clear_cache() -> None:
    """Forget discovered interpreters, for tests and for callers that just installed one."""
    _discover_cached.cache_clear()


def find_interpreter(request: str, interpreters: Sequence[Interpreter]) -> Interpreter | None:
    """Resolve a user's ``--python`` style request against discovered interpreters.

    ``"3.11"`` and ``"python3.11"`` mean the newest 3.11.x, ``"3.11.7"`` that exact
    release; anything else is a path or command name, which is run to learn its version
    because it may not be among the discovered ones. Only CPython >= 3.7 qualifies.
    """
    text = request.strip()
    match = _VERSION_REQUEST.fullmatch(text)
    if match is None:
        return _interpreter_at(text, interpreters)
    wanted = tuple(int(part) for part in match.group(1).split("."))
    matching = [found for found in interpreters if found.version[: len(wanted)] == wanted]
    return max(matching, key=lambda found: found.version, default=None)


def unusable_reason(request: str) -> str | None:
    """Why the path or command ``request`` names no usable interpreter, as a user would
    put it (``/bin/sh is not a Python interpreter``, ``... is Python 2.7.18``).

    None for a version request of 3.7 or newer (such a Python is simply not installed)
    and for a usable interpreter. Run without ``-I``, which Python 2 does not know.
    """
    text = request.strip()
    needed = f"a cell needs CPython {'.'.join(map(str, MIN_VERSION))} or newer"
    asked = _VERSION_REQUEST.fullmatch(text)
    if asked:
        wanted = tuple(int(part) for part in asked.group(1).split("."))
        return f"Python {asked.group(1)} is too old; {needed}" if wanted < MIN_VERSION else None
    path = _locate(text)
    if path is None:
        if os.sep in text or (os.altsep and os.altsep in text):
            return f"{text} does not exist or is not an executable file"
        return f"no command {text!r} on PATH"
    if _verify(_Candidate(path, "path")) is not None:
        return None
    identity = _identify(path)
    if identity is None:
        return f"{text} is not a Python interpreter (running it as one gave no version)"
    implementation, version = identity
    if implementation.lower() != "cpython":
        return f"{text} is {implementation} {version}, not CPython; {needed}"
    if tuple(int(part) for part in version.split(".")[:2]) < MIN_VERSION:
        return f"{text} is Python {version}; {needed}"
    return (
        f"{text} is a free-threaded build of Python {version}, which cannot install the "
        "cp3X wheels TensorFlow publishes"
    )


def _identify(executable: Path) -> tuple[str, str] | None:
    """``("CPython", "2.7.18")``, from any Python old or new, or None."""
    script = (
        "import sys, platform; sys.stdout.write('%s %d.%d.%d\\n' % "
        "((platform.python_implementation(),) + tuple(sys.version_info[:3])))"
    )
    # -E, not -I: Python 2 has no -I, and this must name a Python 2 as what it is.
    output = _run_script(executable, "-E", script)
    if output is None:
        return None
    fields = output.strip().split()
    if len(fields) != 2 or not re.fullmatch(r"\d+\.\d+\.\d+", fields[1]):
        return None
    return fields[0], fields[1]


def _steers_search(key: str) -> bool:
    return key in _CACHE_KEYS or key.startswith(_CACHE_PREFIXES)


@functools.lru_cache(maxsize=8)
def _discover_cached(relevant: tuple[tuple[str, str], ...]) -> tuple[Interpreter, ...]:
    env = dict(relevant)
    with ThreadPoolExecutor(max_workers=_MAX_WORKERS) as pool:
        uv_listing = pool.submit(_uv_candidates, env)
        local = [*_pyenv_candidates(env), *_path_candidates(env)]
        candidates = _unique(local + uv_listing.result())
        probed = pool.map(_verify, candidates)
        found = [interpreter for interpreter in probed if interpreter is not None]
    return tuple(sorted(found, key=lambda found: found.version, reverse=True))


def _unique(candidates: Iterable[_Candidate]) -> list[_Candidate]:
    """Keep the first candidate per real binary, so symlinks are probed once.

    pyenv comes before PATH and PATH before uv: the first source named is the one a
    user recognises.
    """
    seen: set[str] = set()
    unique: list[_Candidate] = []
    for candidate in candidates:
        real = os.path.realpath(candidate.path)
        if real not in seen:
            seen.add(real)
            unique.append(candidate)
    return unique


def _pyenv_candidates(env: Mapping[str, str]) -> list[_Candidate]:
    """``$PYENV_ROOT/versions/*/bin/python3.X``: the real binaries behind the shims."""
    versions = _pyenv_root(env) / "versions"
    try:
        installs = sorted(versions.iterdir())
    except OSError:
        return []
    return [
        _Candidate(path, "pyenv")
        for install in installs
        for path in _executables(install / "bin", _PYENV_NAME)
    ]


def _pyenv_root(env: Mapping[str, str]) -> Path:
    if env.get("PYENV_ROOT"):
        return Path(env["PYENV_ROOT"])
    home = env.get("HOME")
    return (Path(home) if home else Path.home()) / ".pyenv"


def _path_candidates(env: Mapping[str, str]) -> list[_Candidate]:
    return [
        _Candidate(path, "path")
        for directory in _search_dirs(env)
        for path in _executables(Path(directory), _PATH_NAME)
    ]


def _search_dirs(env: Mapping[str, str]) -> list[str]:
    """PATH without shim directories and without relative entries.

    A relative entry would make the answer depend on the current directory, which
    the per-process cache does not key on.
    """
    entries = env.get("PATH", os.defpath).split(os.pathsep)
    return [entry for entry in entries if os.path.isabs(entry) and not _is_shims_dir(entry)]


def _is_shims_dir(directory: str | Path) -> bool:
    """pyenv, pyenv-virtualenv and asdf all dispatch through a directory named ``shims``."""
    return Path(directory).name == "shims"


def _executables(directory: Path, pattern: re.Pattern[str]) -> list[Path]:
    """Executables in ``directory`` named like ``pattern``, most specific name first.

    ``python3.11`` sorts before ``python3`` and ``python`` so that, after
    deduplication, the reported path says which version it is. Minors below 3.7
    named in the filename are dropped without being run.
    """
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    chosen: list[tuple[int, str, Path]] = []
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match is None or not _is_executable_file(entry.path):
            continue
        minor = match.group(1)
        if minor is not None and int(minor) < MIN_VERSION[1]:
            continue
        chosen.append((-len(entry.name), entry.name, Path(entry.path)))
    return [path for _, _, path in sorted(chosen)]


def _is_executable_file(path: str | Path) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _uv_candidates(env: Mapping[str, str]) -> list[_Candidate]:
    """Interpreters uv knows about; never triggers a download.

    uv is run with the shim-free PATH because probing pyenv shims is what makes
    ``uv python list`` take a second instead of a few milliseconds.
    """
    uv = _uv_binary(env)
    if uv is None:
        return []
    command = [uv, "python", "list", "--only-installed", "--output-format", "json"]
    inherited = {key: value for key, value in os.environ.items() if not _steers_search(key)}
    uv_env = {
        **inherited,
        **env,
        "PATH": os.pathsep.join(_search_dirs(env)),
        "UV_OFFLINE": "1",
        "UV_PYTHON_DOWNLOADS": "never",
    }
    try:
        completed = subprocess.run(  # noqa: S603
            command,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            env=uv_env,
            timeout=_UV_TIMEOUT,
            check=True,
        )
        listing = json.loads(completed.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        _log.debug("ignoring uv's interpreter list: %s", exc)
        return []
    return [_Candidate(Path(path), "uv") for path in _uv_cpython_paths(listing)]


def _uv_cpython_paths(listing: object) -> Iterator[str]:
    if not isinstance(listing, list):
        return
    for item in listing:
        if not isinstance(item, dict):
            continue
        path = item.get("path")
        if (
            isinstance(path, str)
            and str(item.get("implementation", "")).lower() == "cpython"
            and not _is_shims_dir(Path(path).parent)
        ):
            yield path


def _uv_binary(env: Mapping[str, str]) -> str | None:
    """The uv to ask: ``$UV`` (uv exports it to its children), PATH, then the uv package."""
    if "UV" in env:
        return env["UV"] if _is_executable_file(env["UV"]) else None
    on_path = shutil.which("uv", path=os.pathsep.join(_search_dirs(env)))
    if on_path is not None:
        return on_path
    try:
        from uv import find_uv_bin
    except ImportError:
        return None
    try:
        return find_uv_bin()
    except OSError:
        return None


def _verify(candidate: _Candidate) -> Interpreter | None:
    """Run the candidate; keep it only if it is a regular CPython >= 3.7.

    Free-threaded builds (abiflags ``t``) are dropped because they cannot install
    the ``cp3X`` wheels a sweep depends on.
    """
    identity = _probe(candidate.path)
    if identity is None:
        return None
    implementation, version, abiflags = identity
    if implementation != "cpython" or version[:2] < MIN_VERSION or "t" in abiflags:
        return None
    return Interpreter(Path(os.path.abspath(candidate.path)), version, candidate.source)


def _probe(executable: Path) -> tuple[str, tuple[int, int, int], str] | None:
    output = _run_script(executable, "-I", _PROBE)
    return None if output is None else _parse_probe(output)


def _run_script(executable: Path, isolation: str, script: str) -> str | None:
    """What ``script`` prints under ``executable`` without site-packages, or None when
    it is no working interpreter (missing, not executable, failing, too slow)."""
    try:
        completed = subprocess.run(  # noqa: S603
            [str(executable), isolation, "-S", "-c", script],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=_PROBE_TIMEOUT,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout.decode("utf-8", "replace")


def _parse_probe(output: str) -> tuple[str, tuple[int, int, int], str] | None:
    """Read ``"cpython 3.11.7 <abiflags>"``; anything else means the candidate is broken."""
    lines = output.strip().splitlines()
    fields = lines[-1].split() if lines else []
    if len(fields) not in (2, 3):
        return None
    parts = fields[1].split(".")
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        return None
    version = (int(parts[0]), int(parts[1]), int(parts[2]))
    return fields[0].lower(), version, fields[2] if len(fields) == 3 else ""


def _interpreter_at(location: str, interpreters: Sequence[Interpreter]) -> Interpreter | None:
    """A path, or a bare command name looked up on the shim-free PATH, verified by running it."""
    path = _locate(location)
    if path is None:
        return None
    real = os.path.realpath(path)
    for known in interpreters:
        if os.path.realpath(known.executable) == real:
            return known
    return _verify(_Candidate(path, "path"))


def _locate(location: str) -> Path | None:
    if not location:
        return None
    expanded = os.path.expanduser(location)
    if os.sep not in expanded and (os.altsep is None or os.altsep not in expanded):
        found = shutil.which(expanded, path=os.pathsep.join(_search_dirs(os.environ)))
        return Path(found) if found else None
    return Path(expanded) if _is_executable_file(expanded) else None
