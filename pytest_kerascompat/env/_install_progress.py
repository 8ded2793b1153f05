"""What the installer is doing, read from its log while it writes it.

uv says what it does one line at a time even when its output is not a terminal
(``Resolved 30 packages in 1.2s``, ``Downloading tensorflow (589.9MiB)``,
`` Downloaded tensorflow``, ``Prepared 30 packages in 20s``, ``Installed 30 packages
in 300ms``), and nox names each command before it runs it. A cold build is minutes of
silence otherwise, so the sweep turns those lines into a few words for the status line.
Each poll reads only what was appended since the last one.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

MAX_DOWNLOADS_SHOWN = 3
#: (pattern, what the build is doing once a line matches); the first match wins.
STEPS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"nox > Creating virtual environment"), "creating the environment"),
    (re.compile(r"nox > (uv pip|python -m pip) install"), "resolving requirements"),
    (re.compile(r"^Resolved (\d+) packages?"), "resolved {0} packages"),
    (re.compile(r"^Building (\S+)"), "building {0}"),
    (re.compile(r"^Prepared (\d+) packages?"), "installing {0} packages"),
    (re.compile(r"^Installed (\d+) packages?"), "installed {0} packages"),
)
DOWNLOADING = re.compile(r"^Downloading (\S+) \(([^)]+)\)")
DOWNLOADED = re.compile(r"^ Downloaded (\S+)")


class InstallState:
    """The installer's step and the downloads under way, from its output lines."""

    def __init__(self) -> None:
        self.step = "starting nox"
        self.downloads: dict[str, str] = {}

    def feed(self, line: str) -> None:
        if match := DOWNLOADING.match(line):
            self.downloads[match[1]] = match[2]
        elif match := DOWNLOADED.match(line):
            self.downloads.pop(match[1], None)
        else:
            for pattern, step in STEPS:
                if match := pattern.search(line):
                    self.step = step.format(*match.groups())
                    if self.step.startswith("install"):
                        self.downloads.clear()  # everything is prepared by now
                    return

    def describe(self) -> str:
        if not self.downloads:
            return self.step
        shown = [f"{name} ({size})" for name, size in self.downloads.items()]
        more = len(shown) - MAX_DOWNLOADS_SHOWN
        text = ", ".join(shown[:MAX_DOWNLOADS_SHOWN]) + (f" and {more} more" if more > 0 else "")
        return f"downloading {text}"


class InstallFollower:
    """Calls ``report`` with the build's step and elapsed seconds whenever they change."""

    def __init__(self, log: Path, report: Callable[[str], None]) -> None:
        self.log, self.report = log, report
        self.offset = log.stat().st_size if log.exists() else 0
        self.partial = b""
        self.state = InstallState()
        self.started = time.monotonic()
        self.shown = ""

    def poll(self) -> None:
        for line in self.new_lines():
            self.state.feed(line)
        text = f"building: {self.state.describe()} {time.monotonic() - self.started:.0f} s"
        if text != self.shown:
            self.shown = text
            self.report(text)

    def new_lines(self) -> list[str]:
        try:
            with self.log.open("rb") as stream:
                stream.seek(self.offset)
                chunk = stream.read()
        except OSError:
            return []
        self.offset += len(chunk)
        lines = (self.partial + chunk).split(b"\n")
        self.partial = lines.pop()
        return [line.decode("utf-8", "replace").rstrip("\r") for line in lines]
