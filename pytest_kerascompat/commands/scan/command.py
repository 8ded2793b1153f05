"""``python -m pytest_kerascompat scan``: its options and its run."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pytest_kerascompat.commands.scan import ALL, rule_names, scan_paths, select_rules
from pytest_kerascompat.commands.scan.output import WRITERS


def add_parser(commands: Any) -> argparse.ArgumentParser:
    scan: argparse.ArgumentParser = commands.add_parser(
        "scan",
        help="Find uses of Keras/TensorFlow APIs whose availability changed, without running them",
        description="Read Python files and notebooks (directories recursively) and report each "
        "use of an API that breaks or warns in some Keras/TensorFlow releases. "
        "Exit 1 when something is found.",
    )
    scan.add_argument("paths", nargs="+", metavar="PATH", help="Files or directories to scan")
    scan.add_argument(
        "--format", choices=sorted(WRITERS), default="text", help="Output format (default: text)"
    )
    scan.add_argument(
        "--select",
        type=rule_list,
        metavar="RULE,...",
        help=f"Run only these rules ({ALL} for every rule, including those off by default)",
    )
    scan.add_argument(
        "--ignore", type=rule_list, default=[], metavar="RULE,...", help="Skip these rules"
    )
    return scan


def rule_list(text: str) -> list[str]:
    """``a,b``: rule names checked against the table, so a typo is a usage error."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    known = rule_names()
    unknown = [name for name in names if name not in known and name != ALL]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown rule {', '.join(unknown)} (known: {', '.join(known)}, {ALL})"
        )
    return names


def run(args: argparse.Namespace) -> int:
    """Exit 1 when a use of a changed API is found, 0 when none is."""
    report = scan_paths(args.paths, select_rules(args.select, args.ignore))
    WRITERS[args.format](report, sys.stdout, sys.stderr)
    return report.exit_status
