"""The order cells start in, and the timings that decide it."""

from __future__ import annotations

from pathlib import Path

from pytest_kerascompat.config.matrix import CellSpec
from pytest_kerascompat.env.environments import envdir_for, mark_ready
from pytest_kerascompat.plan.plans import CellPlan
from pytest_kerascompat.sweep._schedule import TIMINGS_FILE, CellTimings, start_order


def plan(name: str, executable: str | None = "/usr/bin/python3") -> CellPlan:
    return CellPlan(
        spec=CellSpec(name=name, tensorflow=f"tensorflow=={len(name)}"),
        python="3.12.1",
        executable=executable,
        python_note="",
        requirements=(name,),
        pins=(),
    )


def build(cache_dir: Path, cell: CellPlan) -> None:
    location = envdir_for(cache_dir, cell) / "venv"
    (location / "bin").mkdir(parents=True)
    (location / "bin" / "python").touch()
    mark_ready(location, cell)


def test_cells_to_build_go_first_then_the_longest_then_the_unreachable(tmp_path: Path) -> None:
    short, long, unknown, unbuilt = plan("short"), plan("long"), plan("unknown"), plan("unbuilt")
    missing = plan("no-python", executable=None)
    for cell in (short, long, unknown):
        build(tmp_path, cell)
    timings = CellTimings(tmp_path)
    timings.record(short, 3.0)
    timings.record(long, 20.0)

    order = start_order([missing, short, long, unknown, unbuilt], timings, tmp_path)

    assert [cell.name for cell in order] == ["unbuilt", "unknown", "long", "short", "no-python"]


def test_timings_survive_a_save_and_a_corrupt_file_is_ignored(tmp_path: Path) -> None:
    cell = plan("a")
    timings = CellTimings(tmp_path)
    timings.record(cell, 12.345)
    timings.save()

    assert CellTimings(tmp_path).seconds(cell) == 12.35

    (tmp_path / TIMINGS_FILE).write_text("{not json")
    assert CellTimings(tmp_path).seconds(cell) is None
