"""What a run's squares depended on besides each cell's plan, recorded so resume can tell.

A square kept by ``--keras-resume`` is honest only if the code it ran is the code that
would run now: the test files, the conftests, the project's own modules and the
configuration files pytest reads. Each run records a digest of every such file (by
content: a checkout that only touches modification times changes nothing), the tool's
version, the options and the caller's variables that change an outcome; the next
resume compares them and says what changed.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

#: Files whose change can change a square: Python sources and configuration.
SOURCE_SUFFIXES = frozenset({".py", ".pyi", ".pyx", ".pxd", ".toml", ".cfg", ".ini"})
#: Directories that hold no sources of the project (or too many files of someone else's).
SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "build", "dist"})
#: Caller's variables that reach a worker and can change an outcome.
OUTCOME_VARIABLES = ("KERAS_", "TF_", "JAX_", "XLA_", "CUDA_", "PYTHONHASHSEED", "PYTHONWARNINGS")
LARGE_FILE_BYTES = 4 * 1024 * 1024


def run_identity(
    roots: Sequence[Path],
    *,
    skip: Collection[Path] = (),
    options: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Everything outside the cells' plans that a resumed run must share with this one."""
    from pytest_kerascompat import __version__

    environ = os.environ if environ is None else environ
    return {
        "tool": __version__,
        "options": dict(options or {}),
        "variables": {
            name: value
            for name, value in sorted(environ.items())
            if name.startswith(OUTCOME_VARIABLES)
        },
        "sources": source_digests(roots, skip),
    }


def source_digests(roots: Sequence[Path], skip: Collection[Path] = ()) -> dict[str, str]:
    """Each source file under ``roots`` to a digest of its content.

    Paths are relative to the first root (absolute for files outside it). A file larger
    than a few megabytes is named by its size and modification time instead of read.
    """
    base = roots[0].resolve() if roots else Path.cwd()
    skipped = {path.resolve() for path in skip}
    digests: dict[str, str] = {}
    for root in roots:
        for path in source_files(root.resolve(), skipped):
            digest = file_digest(path)
            if digest is not None:
                digests[shown(path, base)] = digest
    return dict(sorted(digests.items()))


def source_files(root: Path, skipped: Collection[Path]) -> Iterator[Path]:
    """Source files under ``root`` (or ``root`` itself), never in hidden directories,
    virtual environments or the directories in :data:`SKIPPED_DIRS`."""
    if root.is_file():
        yield root
        return
    for directory, subdirs, files in os.walk(root):
        here = Path(directory)
        subdirs[:] = sorted(
            name
            for name in subdirs
            if not name.startswith(".")
            and name not in SKIPPED_DIRS
            and not name.endswith(".egg-info")
            and not (here / name / "pyvenv.cfg").exists()
            and here / name not in skipped
        )
        for name in sorted(files):
            path = here / name
            if Path(name).suffix in SOURCE_SUFFIXES and path not in skipped:
                yield path


def file_digest(path: Path) -> str | None:
    try:
        status = path.stat()
        if status.st_size > LARGE_FILE_BYTES:
            return f"size {status.st_size}, modified {status.st_mtime_ns}"
        return hashlib.sha256(path.read_bytes()).hexdigest()[:20]
    except OSError:
        return None


def shown(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return str(path)


def changed_sources(before: Mapping[str, str], now: Mapping[str, str], limit: int = 3) -> str:
    """``tests/test_fit.py changed, conftest.py added`` (at most ``limit``, then a count)."""
    changes = [
        f"{path} {'added' if path not in before else 'removed' if path not in now else 'changed'}"
        for path in sorted(set(before) | set(now))
        if before.get(path) != now.get(path)
    ]
    text = ", ".join(changes[:limit])
    if len(changes) > limit:
        text += f" and {len(changes) - limit} more"
    return text


def identity_changes(before: Mapping[str, Any] | None, now: Mapping[str, Any]) -> list[str]:
    """What differs between an earlier run's identity and this one's, in words."""
    if not isinstance(before, Mapping):
        return ["the earlier run recorded no fingerprint of its sources"]
    reasons = []
    if before.get("tool") != now.get("tool"):
        reasons.append(f"pytest-kerascompat changed ({before.get('tool')} to {now.get('tool')})")
    for name, words in (("options", "option"), ("variables", "environment variable")):
        old, new = before.get(name) or {}, now.get(name) or {}
        names = sorted(key for key in set(old) | set(new) if old.get(key) != new.get(key))
        if names:
            reasons.append(f"{words} {', '.join(names)} changed")
    sources = changed_sources(before.get("sources") or {}, now.get("sources") or {})
    if sources:
        reasons.append(sources)
    return reasons
