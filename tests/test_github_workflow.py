"""``docs/github-actions.yml``: the workflow users paste is safe and valid as shipped.

zizmor (a security linter for GitHub Actions) must find nothing, with its online audits
off so the test needs no network; check-jsonschema validates it against the workflow
schema it vendors from SchemaStore, the one editors use.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

WORKFLOW = Path(__file__).parents[1] / "docs" / "github-actions.yml"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def tool(name: str) -> str:
    """A tool of the test extras, beside this interpreter or on PATH."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    assert found, f"{name} is not installed: pip install -e '.[test]'"
    return found


def workflow() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return data


def steps() -> list[dict[str, Any]]:
    return [step for job in workflow()["jobs"].values() for step in job["steps"]]


def test_zizmor_finds_nothing_in_the_workflow() -> None:
    done = subprocess.run(  # noqa: S603 - an argument list
        [tool("zizmor"), "--offline", "--persona=auditor", "--no-progress", str(WORKFLOW)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout


def test_the_workflow_satisfies_githubs_workflow_schema() -> None:
    done = subprocess.run(  # noqa: S603 - an argument list
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_action_is_pinned_to_a_commit_with_its_version_in_a_comment() -> None:
    lines = [line.strip() for line in WORKFLOW.read_text().splitlines()]
    uses = [line.split("uses:", 1)[1].strip() for line in lines if "uses:" in line]
    assert len(uses) == sum("uses" in step for step in steps())
    assert [entry for entry in uses if not PINNED.match(entry)] == []


def test_no_run_script_expands_an_expression_and_no_checkout_keeps_credentials() -> None:
    assert [step["run"] for step in steps() if "${{" in step.get("run", "")] == []
    checkouts = [step for step in steps() if step.get("uses", "").startswith("actions/checkout@")]
    assert checkouts
    assert all(step["with"]["persist-credentials"] is False for step in checkouts)


def test_permissions_are_empty_by_default_and_granted_per_job() -> None:
    data = workflow()
    assert data["permissions"] == {}
    granted = {name: job["permissions"] for name, job in data["jobs"].items()}
    assert granted == {
        "cells": {"contents": "read"},
        "sweep": {"contents": "read"},
        "merge": {"contents": "read", "actions": "read"},
    }


def test_the_cell_caches_are_keyed_by_the_cache_key_ci_matrix_gives() -> None:
    sweep = workflow()["jobs"]["sweep"]["steps"]
    caches = [step for step in sweep if step.get("uses", "").startswith("actions/cache@")]
    assert {step["with"]["path"] for step in caches} == {
        "~/.cache/uv",
        "~/.cache/pytest-kerascompat",
    }
    assert all("${{ matrix.cache_key }}" in step["with"]["key"] for step in caches)


@pytest.mark.parametrize("command", ["merge", "diff"])
def test_the_workflow_merges_the_shards_and_diffs_a_pull_request_against_main(
    command: str,
) -> None:
    scripts = "\n".join(step.get("run", "") for step in workflow()["jobs"]["merge"]["steps"])
    assert f"python -m pytest_kerascompat {command} " in scripts
