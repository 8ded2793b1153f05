"""``python -m pytest_kerascompat cache list|prune``: the cell environments a cache holds.

Every change of a cell's requirements builds a new environment beside the old one
(they are content-addressed, see :mod:`pytest_kerascompat.env.environments`), so a
cache only grows; these commands show what it holds and remove what is no longer
used. An environment a running sweep holds, or one being built, is never removed.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import shutil
from pathlib import Path
from typing import Any

from pytest_kerascompat.config._validation import CommandError

SECONDS_PER_DAY = 86400.0
#: Uses a text listing shows per environment, the most recent first.
SHOWN_USES = 3


def add_parser(commands: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        "cache", help="List the cached cell environments, or prune them"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="Each environment: key, cells, size, last use")
    prune = actions.add_parser(
        "prune",
        help="Remove unfinished environments and, when asked, old or all of them; "
        "never one a running sweep holds",
    )
    prune.add_argument(
        "--older-than",
        type=days,
        metavar="DAYS",
        help="Also remove environments last used more than DAYS days ago",
    )
    prune.add_argument("--all", action="store_true", help="Remove every environment not in use")
    prune.add_argument("--dry-run", action="store_true", help="Say what would go, remove nothing")
    for sub in (listing, prune):
        sub.add_argument(
            "--cache-dir",
            type=Path,
            help="The cache (default: $KERASCOMPAT_CACHE_DIR, else the user cache directory)",
        )
        sub.add_argument("--json", action="store_true", help="Print JSON instead of text")
    return parser


def days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of days (0 or more), not {text!r}")
    return value


@dataclasses.dataclass(frozen=True)
class CachedEnvironment:
    """One ``<cache>/envs/<key>`` directory, as ``cache list`` shows it."""

    path: Path
    key: str
    ready: bool
    held: bool
    size: int
    last_used: datetime.datetime | None
    uses: tuple[dict[str, str | None], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "key": self.key,
            "ready": self.ready,
            "in_use": self.held,
            "size_bytes": self.size,
            "last_used": self.last_used.isoformat(timespec="seconds") if self.last_used else None,
            "uses": [dict(use) for use in self.uses],
        }


def run(args: argparse.Namespace) -> int:
    from pytest_kerascompat.env.environments import default_cache_dir

    cache_dir: Path = args.cache_dir or default_cache_dir()
    if args.cache_dir is not None and not cache_dir.is_dir():
        raise CommandError(f"{cache_dir}: no such cache directory")
    if args.action == "list":
        found = list_environments(cache_dir)
        print(json.dumps(listing_json(cache_dir, found), indent=2) if args.json else
              render_list(cache_dir, found))  # fmt: skip
        return 0
    removed, kept = prune(cache_dir, older_than=args.older_than, everything=args.all,
                          dry_run=args.dry_run)  # fmt: skip
    if args.json:
        print(json.dumps({
            "cache_dir": str(cache_dir),
            "dry_run": args.dry_run,
            "removed": [env.to_dict() for env in removed],
            "kept_in_use": [env.to_dict() for env in kept],
        }, indent=2))  # fmt: skip
    else:
        print(render_prune(removed, kept, dry_run=args.dry_run))
    return 0


def list_environments(cache_dir: Path) -> list[CachedEnvironment]:
    """Every environment directory of the cache, newest use first."""
    root = cache_dir / "envs"
    if not root.is_dir():
        return []
    found = [describe(path) for path in root.iterdir() if path.is_dir() and "." not in path.name]
    oldest = datetime.datetime.min.replace(tzinfo=datetime.timezone.utc)
    return sorted(found, key=lambda env: env.last_used or oldest, reverse=True)


def describe(envdir: Path) -> CachedEnvironment:
    from pytest_kerascompat.env.environments import is_held, read_uses

    key, ready = read_ready(envdir)
    uses = tuple(read_uses(envdir))
    return CachedEnvironment(
        path=envdir,
        key=key or envdir.name,
        ready=ready,
        held=is_held(envdir),
        size=tree_size(envdir),
        last_used=last_used(envdir, uses),
        uses=uses,
    )


def read_ready(envdir: Path) -> tuple[str | None, bool]:
    """The full key from the ready marker, and whether a finished environment is there.

    Finished means what a sweep asks before reusing it: the marker names this key and
    the interpreter exists.
    """
    from pytest_kerascompat.env.environments import READY_MARKER, venv_python

    for marker in envdir.glob(f"*/{READY_MARKER}"):
        try:
            key = json.loads(marker.read_text(encoding="utf-8")).get("key")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(key, str) and key.startswith(envdir.name):
            return key, venv_python(marker.parent).exists()
    return None, False


def tree_size(path: Path) -> int:
    """Bytes of every file under ``path``, symbolic links not followed (as ``du`` counts)."""
    total = 0
    for item in path.rglob("*"):
        try:
            if not item.is_symlink() and item.is_file():
                total += item.stat().st_size
        except OSError:
            continue
    return total


def last_used(envdir: Path, uses: tuple[dict[str, str | None], ...]) -> datetime.datetime | None:
    """The latest recorded use; for an environment with no record, when it was last written."""
    stamps = []
    for use in uses:
        try:
            stamps.append(datetime.datetime.fromisoformat(str(use.get("last_used"))))
        except ValueError:
            continue
    if stamps:
        return max(stamps)
    try:
        modified = envdir.stat().st_mtime
    except OSError:
        return None
    return datetime.datetime.fromtimestamp(modified, datetime.timezone.utc)


def prune(
    cache_dir: Path,
    *,
    older_than: float | None = None,
    everything: bool = False,
    dry_run: bool = False,
    now: datetime.datetime | None = None,
) -> tuple[list[CachedEnvironment], list[CachedEnvironment]]:
    """Remove unfinished environments, and old (or all) ones when asked.

    Returns what was removed and what would have been but is in use. Each removal
    happens under the environment's build lock, taken without waiting: an environment
    being built is skipped, and no sweep can start to hold one while it is checked.
    """
    from filelock import Timeout

    from pytest_kerascompat.env.environments import build_lock, holders_dir

    now = now or datetime.datetime.now(datetime.timezone.utc)
    removed, kept = [], []
    for env in list_environments(cache_dir):
        if not wanted_gone(env, older_than, everything, now):
            continue
        try:
            with build_lock(env.path, timeout=0):
                current = describe(env.path)
                if current.held:
                    kept.append(current)
                    continue
                if not dry_run:
                    shutil.rmtree(current.path, ignore_errors=True)
                    shutil.rmtree(holders_dir(current.path), ignore_errors=True)
                removed.append(current)
        except Timeout:
            kept.append(dataclasses.replace(env, held=True))
    return removed, kept


def wanted_gone(
    env: CachedEnvironment, older_than: float | None, everything: bool, now: datetime.datetime
) -> bool:
    if everything or not env.ready:
        return True
    if older_than is None or env.last_used is None:
        return False
    return (now - env.last_used).total_seconds() > older_than * SECONDS_PER_DAY


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def describe_line(env: CachedEnvironment) -> str:
    state = "ready" if env.ready else "not ready"
    if env.held:
        state += ", in use"
    when = env.last_used.strftime("%Y-%m-%d %H:%M UTC") if env.last_used else "never"
    recent = list(reversed(env.uses))[:SHOWN_USES]
    cells = ", ".join(
        f"{use.get('cell')} ({use.get('matrix') or 'matrix file unknown'})" for use in recent
    )
    if len(env.uses) > len(recent):
        cells += f" and {len(env.uses) - len(recent)} more (--json lists them)"
    return (
        f"{env.key[:16]}  {human_size(env.size):>10}  last used {when}  {state}\n"
        f"    {cells or 'no recorded use'}"
    )


def render_list(cache_dir: Path, found: list[CachedEnvironment]) -> str:
    if not found:
        return f"{cache_dir}: no environments"
    total = human_size(sum(env.size for env in found))
    head = f"{cache_dir}: {len(found)} environment{'s' * (len(found) != 1)}, {total}"
    return "\n".join([head, *(describe_line(env) for env in found)])


def listing_json(cache_dir: Path, found: list[CachedEnvironment]) -> dict[str, Any]:
    return {"cache_dir": str(cache_dir), "environments": [env.to_dict() for env in found]}


def render_prune(
    removed: list[CachedEnvironment], kept: list[CachedEnvironment], *, dry_run: bool
) -> str:
    verb = "would remove" if dry_run else "removed"
    freed = human_size(sum(env.size for env in removed))
    lines = [f"{verb} {len(removed)} environment{'s' * (len(removed) != 1)} ({freed})"]
    lines += [f"  {verb}: {describe_line(env)}" for env in removed]
    lines += [f"  kept, in use or being built: {describe_line(env)}" for env in kept]
    return "\n".join(lines)
