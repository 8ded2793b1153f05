"""pytest hooks only: options, the marker, the fixtures, and the hand-off to the sweep."""

from __future__ import annotations

from collections.abc import Generator

import pytest

from pytest_kerascompat.config import options

MARKER = (
    "keras_compat(api=None, breaks=None): run this test in every cell of the Keras "
    "compatibility matrix (pytest --keras-matrix); api names the API under test, breaks "
    "a range such as 'keras>=3' where failing is expected"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


@pytest.hookimpl(hookwrapper=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> Generator[None, None, None]:
    """A sweep runs no test in this process, so nothing of the tests' own is loaded here.

    A project's ``conftest.py`` is loaded in each cell, where its imports work: here it
    would import TensorFlow, which the controller's environment need not have (a Keras
    project's conftest usually does). pytest-cov (``--cov`` in ``addopts``) measures in the
    cells, each into the run directory; here it would only report "no data collected"
    and overwrite ``.coverage``.
    """
    namespace = early_config.known_args_namespace
    if getattr(namespace, "keras_matrix", False) or getattr(namespace, "keras_probes", False):
        namespace.noconftest = True
        namespace.no_cov = True
    yield


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)
    from pytest_kerascompat.cell import fixtures

    config.pluginmanager.register(fixtures, "kerascompat-fixtures")
    if config.option.keras_matrix or config.option.keras_probes:
        from pytest_kerascompat.sweep.session import start_matrix_session

        start_matrix_session(config, options.resolve_settings(config))


def pytest_report_header(config: pytest.Config) -> str | None:
    session = config.pluginmanager.get_plugin("kerascompat-matrix")
    return None if session is None else session.header()
