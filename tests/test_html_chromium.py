"""The HTML report as a browser shows it: headless Chromium renders the sample report.

Markup tests cannot tell whether the CSS really paints the outcome colours or whether
the inline script runs without an error; a real browser can. The screenshot is decoded
with the standard library only (zlib and the five PNG filters).
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pytest_kerascompat.model.results import Outcome
from pytest_kerascompat.report.html import (
    OUTCOME_COLOURS_DARK,
    PASSED_COLOUR,
    REMOVED_COLOUR,
    render_html,
)

from .report_samples import FIT_GENERATOR_SCAN, HOSTILE_MESSAGE, OK_CELLS, sample_report

pytestmark = pytest.mark.chromium

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-color-profile=srgb",
)
WINDOW = (1280, 900)
# One square is about 130 x 26 pixels; the sample paints several of each colour.
ENOUGH_PIXELS = 2000
# Set to a directory to keep the screenshots (a CI artifact, or to look at them).
SCREENSHOT_DIR_VARIABLE = "KERASCOMPAT_SCREENSHOT_DIR"


@pytest.fixture(scope="module")
def chromium() -> str:
    """CI must have Chromium (``.ci/run`` installs it); elsewhere its absence skips."""
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: apt-get install -y chromium")
        pytest.skip("chromium is not installed")
    return path


@pytest.fixture
def page(tmp_path: Path) -> Path:
    path = tmp_path / "report.html"
    path.write_text(render_html(sample_report()), encoding="utf-8")
    return path


def run_chromium(chromium: str, tmp_path: Path, page: Path, *arguments: str) -> str:
    """Run one headless Chromium on ``page`` with a fresh profile; return its stdout."""
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    command = [chromium, *FLAGS, f"--user-data-dir={profile}", *arguments, page.as_uri()]
    done = subprocess.run(  # noqa: S603 - an argument list, never a shell
        command, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def screenshot(chromium: str, tmp_path: Path, page: Path, *arguments: str) -> Path:
    png = tmp_path / f"{page.stem}{''.join(arguments).replace('-', '')}.png"
    size = f"--window-size={WINDOW[0]},{WINDOW[1]}"
    run_chromium(chromium, tmp_path, page, size, f"--screenshot={png}", *arguments)
    keep = os.environ.get(SCREENSHOT_DIR_VARIABLE)
    if keep:
        shutil.copyfile(png, Path(keep) / png.name)
    return png


class Text(HTMLParser):
    """The visible text of a DOM (scripts and styles left out) and its elements' attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {name: value or "" for name, value in attrs}))
        self.skipping += tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self.skipping -= tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.parts).split())


def dom_of(chromium: str, tmp_path: Path, page: Path) -> Text:
    parsed = Text()
    parsed.feed(run_chromium(chromium, tmp_path, page, "--dump-dom"))
    return parsed


def test_the_rendered_page_shows_the_table_legend_and_cell_versions(
    chromium: str, tmp_path: Path, page: Path
) -> None:
    dom = dom_of(chromium, tmp_path, page)
    html_attributes = next(attrs for tag, attrs in dom.elements if tag == "html")
    assert html_attributes.get("data-ready") == "true", "the inline script did not finish"
    for expected in (
        "fit_generator",
        "tests/test_training.py::test_trains",
        "Python 3.11.7",
        "TensorFlow 2.16.2",
        "Keras 3.15.1 (keras)",
        "backend jax",
        "install-error / import-error",
        "not collected",
        "Run fails",
    ):
        assert expected in dom.text
    assert all(name in dom.text for name in OK_CELLS)
    squares = [attrs for tag, attrs in dom.elements if tag == "td"]
    assert len(squares) == 7 * 5


def test_focusing_a_square_shows_its_message_as_text_in_the_panel(
    chromium: str, tmp_path: Path, page: Path
) -> None:
    """Keyboard users get the details too, and a hostile message stays text."""
    focus = "<script>document.querySelector('td.outcome-failed').focus()</script></body>"
    page.write_text(page.read_text(encoding="utf-8").replace("</body>", focus), "utf-8")
    dom = dom_of(chromium, tmp_path, page)
    panel = next(attrs for tag, attrs in dom.elements if attrs.get("id") == "inspector")
    assert "hidden" not in panel
    assert f"ValueError: {HOSTILE_MESSAGE}" in dom.text
    assert "hint: reshape the | input first" in dom.text
    scripts = [tag for tag, _ in dom.elements if tag == "script"]
    assert len(scripts) == 2, "only the page's script and the test's focus script"


def test_focusing_a_removed_square_names_the_scan_that_catches_it_in_the_panel(
    chromium: str, tmp_path: Path, page: Path
) -> None:
    focus = "<script>document.querySelector('td.outcome-removed').focus()</script></body>"
    page.write_text(page.read_text(encoding="utf-8").replace("</body>", focus), "utf-8")
    dom = run_chromium(chromium, tmp_path, page, "--dump-dom")
    panel = re.search(r'data-field="rule">([^<]*)</div>', dom)
    assert panel is not None
    assert panel.group(1) == f"caught by: {FIT_GENERATOR_SCAN}"
    cell = re.search(r'data-field="cell">([^<]*)</span>', dom)
    assert cell is not None
    assert cell.group(1) == "in tf2.16"


def test_the_screenshot_paints_the_passed_and_removed_colours(
    chromium: str, tmp_path: Path, page: Path
) -> None:
    pixels = Counter(decode_png(screenshot(chromium, tmp_path, page)))
    assert pixels[rgb(PASSED_COLOUR)] > ENOUGH_PIXELS
    assert pixels[rgb(REMOVED_COLOUR)] > ENOUGH_PIXELS
    assert len(pixels) > 50, "a page of text and colours has many distinct colours"
    assert pixels.most_common(1)[0][1] < 0.9 * WINDOW[0] * WINDOW[1], "the page is blank"


def test_a_dark_colour_scheme_paints_the_dark_colours(
    chromium: str, tmp_path: Path, page: Path
) -> None:
    pixels = Counter(decode_png(screenshot(chromium, tmp_path, page, "--force-dark-mode")))
    assert pixels[rgb(OUTCOME_COLOURS_DARK[Outcome.PASSED])] > ENOUGH_PIXELS
    assert pixels[rgb(OUTCOME_COLOURS_DARK[Outcome.REMOVED])] > ENOUGH_PIXELS
    assert pixels[rgb(PASSED_COLOUR)] == 0


def rgb(colour: str) -> tuple[int, int, int]:
    value = int(colour.lstrip("#"), 16)
    return (value >> 16, (value >> 8) & 0xFF, value & 0xFF)


# --- a PNG decoder: 8-bit RGB or RGBA, not interlaced (what Chromium writes) -----------


def decode_png(path: Path) -> list[tuple[int, int, int]]:
    """Every pixel's RGB, row by row."""
    width, height, channels, data = read_png(path.read_bytes())
    stride = width * channels
    previous = bytearray(stride)
    pixels: list[tuple[int, int, int]] = []
    for row in range(height):
        start = row * (stride + 1)
        current = unfilter(data[start], data[start + 1 : start + 1 + stride], previous, channels)
        pixels += zip(current[0::channels], current[1::channels], current[2::channels])
        previous = current
    return pixels


def read_png(blob: bytes) -> tuple[int, int, int, bytes]:
    assert blob[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, header, idat = 8, b"", []
    while offset < len(blob):
        (length,) = struct.unpack(">I", blob[offset : offset + 4])
        kind = blob[offset + 4 : offset + 8]
        body = blob[offset + 8 : offset + 8 + length]
        header = body if kind == b"IHDR" else header
        if kind == b"IDAT":
            idat.append(body)
        offset += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8, "8 bits per channel"
    assert colour in (2, 6), "RGB or RGBA"
    assert interlace == 0, "not interlaced"
    return width, height, 3 if colour == 2 else 4, zlib.decompress(b"".join(idat))


def unfilter(kind: int, line: bytes, previous: bytearray, channels: int) -> bytearray:
    """Undo one scanline's filter (PNG specification, section 9)."""
    current = bytearray(line)
    if kind == 0:
        return current
    if kind == 2:
        return bytearray((a + b) & 0xFF for a, b in zip(current, previous))
    for index in range(len(current)):
        left = current[index - channels] if index >= channels else 0
        up = previous[index]
        if kind == 1:
            current[index] = (current[index] + left) & 0xFF
        elif kind == 3:
            current[index] = (current[index] + (left + up) // 2) & 0xFF
        else:
            upper_left = previous[index - channels] if index >= channels else 0
            current[index] = (current[index] + paeth(left, up, upper_left)) & 0xFF
    return current


def paeth(left: int, up: int, upper_left: int) -> int:
    estimate = left + up - upper_left
    distances = (abs(estimate - left), abs(estimate - up), abs(estimate - upper_left))
    if distances[0] <= distances[1] and distances[0] <= distances[2]:
        return left
    return up if distances[1] <= distances[2] else upper_left
