"""Sessions of this repository: one per cell of matrix.yaml, plus tests and lint."""

from __future__ import annotations

import nox

from pytest_kerascompat.env.nox_sessions import register_sessions

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "lint"]

register_sessions("matrix.yaml", probes=True)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (pass -m 'not integration' for the fast part only)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check formatting, lint and types."""
    session.install("-e", ".[test]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")
