"""Is a ready environment still what was installed? A cheap check before each reuse.

An environment marked ready can be damaged later (a deleted ``__init__.py``, a package
uninstalled by hand, a disk cleaner): reusing it would give a wrong ``removed`` square
or a misleading ``import-error``. Each installed distribution lists its files in its
``RECORD`` with their sizes; checking that every listed file exists with its size costs
a ``stat`` per file (about 0.1 s for a TensorFlow environment) where hashing them would
read a gigabyte. Files a distribution may rewrite (bytecode, ``RECORD`` itself) list no
size and are not checked.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

#: Distributions whose damage would change a square; checked first, by name in the message.
KEY_DISTRIBUTIONS = ("tensorflow", "keras", "tf-keras")


def normalized(name: str) -> str:
    """PEP 503 names: ``tf_keras`` and ``tf-keras`` are one distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


def site_packages(location: Path) -> list[Path]:
    """The environment's ``site-packages`` (``lib/pythonX.Y/...`` or ``Lib/...`` on Windows)."""
    found = sorted(location.glob("lib/python*/site-packages"))
    found += sorted(location.glob("lib64/python*/site-packages"))
    windows = location / "Lib" / "site-packages"
    if windows.is_dir():
        found.append(windows)
    return list(dict.fromkeys(path.resolve() for path in found if path.is_dir()))


def distributions(site: Path) -> Iterator[tuple[str, str, Path]]:
    """``(normalized name, version, RECORD path)`` of every distribution in ``site``."""
    for info in site.glob("*.dist-info"):
        name, _, version = info.name[: -len(".dist-info")].partition("-")
        yield normalized(name), version, info / "RECORD"


def record_problem(site: Path, record: Path) -> str | None:
    """The first file ``record`` lists that is missing or has another size, if any."""
    try:
        with record.open(encoding="utf-8", newline="") as stream:
            rows = list(csv.reader(stream))
    except OSError:
        return f"its RECORD ({record}) is missing"
    for row in rows:
        if len(row) < 3 or not row[2].isdigit():
            continue
        path = os.path.join(site, row[0])
        try:
            size = os.stat(path).st_size
        except OSError:
            return f"{row[0]} is missing"
        if size != int(row[2]):
            return f"{row[0]} has {size} bytes instead of {row[2]}"
    return None


def damage(location: Path, required: Iterable[str] = ()) -> str | None:
    """What is wrong with the environment at ``location``, or ``None`` when nothing is.

    ``required`` are distributions the plan installs that must be present (TensorFlow,
    Keras): one uninstalled by hand leaves no RECORD to check.
    """
    sites = site_packages(location)
    if not sites:
        return f"it has no site-packages under {location}"
    found = {
        name: (version, site, record)
        for site in sites
        for name, version, record in distributions(site)
    }
    for name in required:
        if normalized(name) not in found:
            return f"{name} is not installed in it any more"
    key_first = sorted(found, key=lambda name: (name not in KEY_DISTRIBUTIONS, name))
    for name in key_first:
        version, site, record = found[name]
        problem = record_problem(site, record)
        if problem is not None:
            return f"{problem} ({name} {version}, per its RECORD)"
    return None
