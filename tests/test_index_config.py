"""The user's index configuration (uv's, then pip's) and the Pythons the index knows."""

from __future__ import annotations

import json
import logging
import urllib.error
from email.message import Message
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.tags import platform_tags
from packaging.version import Version

from pytest_kerascompat.config.matrix import CellSpec
from pytest_kerascompat.plan.index import PackageIndex
from pytest_kerascompat.plan.index_config import IndexSettings, read_index_settings
from pytest_kerascompat.plan.plans import known_pythons, newest_supported_python

HERE = next(iter(platform_tags()))
PYPI = "https://pypi.org/simple"
MIRROR = "https://mirror.example/simple"
INTERNAL = "https://wheels.example/simple"


@pytest.fixture
def isolated(tmp_path: Path) -> dict[str, str]:
    """An environment whose only configuration files are the ones a test writes."""
    (tmp_path / "config").mkdir()
    return {
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "PIP_CONFIG_FILE": str(tmp_path / "pip.conf"),
        "UV_CONFIG_FILE": str(tmp_path / "uv.toml"),
    }


def settings(env: dict[str, str], project: Path) -> IndexSettings:
    return read_index_settings(env, project)


def test_without_configuration_it_is_pypi(isolated: dict[str, str], tmp_path: Path) -> None:
    assert settings({**isolated, "PIP_CONFIG_FILE": "/dev/null"}, tmp_path) == IndexSettings()


def test_uvs_environment_comes_first_with_its_extra_indexes(
    isolated: dict[str, str], tmp_path: Path
) -> None:
    env = {**isolated, "UV_INDEX_URL": MIRROR, "UV_INDEX": f"internal={INTERNAL}",
           "PIP_INDEX_URL": "https://pip.example/simple"}  # fmt: skip
    found = settings(env, tmp_path)
    assert found == IndexSettings(MIRROR, (INTERNAL,), "UV_INDEX_URL")
    assert found.urls == (INTERNAL, MIRROR)


def test_a_uv_toml_names_the_default_and_extra_indexes_with_credentials_from_the_env(
    isolated: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "uv.toml").write_text(
        f'[[index]]\nname = "corp"\nurl = "{MIRROR}"\ndefault = true\n\n'
        f'[[index]]\nname = "internal-wheels"\nurl = "{INTERNAL}"\n\n'
        '[[index]]\nname = "pinned-only"\nurl = "https://explicit.example/simple"\n'
        "explicit = true\n"
    )
    env = {**isolated, "UV_INDEX_INTERNAL_WHEELS_USERNAME": "bot",
           "UV_INDEX_INTERNAL_WHEELS_PASSWORD": "s3cret/+"}  # fmt: skip
    found = settings(env, tmp_path)
    assert found.default == MIRROR
    assert found.extras == ("https://bot:s3cret%2F%2B@wheels.example/simple",)
    assert found.origin == str(tmp_path / "uv.toml")


def test_a_projects_tool_uv_table_is_read_when_there_is_no_uv_toml(
    isolated: dict[str, str], tmp_path: Path
) -> None:
    del isolated["UV_CONFIG_FILE"]
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "x"\n\n[tool.uv.pip]\nindex-url = "{MIRROR}"\n'
        f'extra-index-url = ["{INTERNAL}"]\n'
    )
    assert settings(isolated, project / "src") == IndexSettings(
        MIRROR, (INTERNAL,), str(project / "pyproject.toml")
    )


def test_pips_environment_and_files_apply_when_uv_names_no_index(
    isolated: dict[str, str], tmp_path: Path
) -> None:
    Path(isolated["PIP_CONFIG_FILE"]).write_text(
        f"[global]\nindex-url = {MIRROR}\nextra-index-url =\n    {INTERNAL}\n"
    )
    assert settings(isolated, tmp_path) == IndexSettings(
        MIRROR, (INTERNAL,), isolated["PIP_CONFIG_FILE"]
    )
    env = {**isolated, "PIP_EXTRA_INDEX_URL": "https://a.example/simple https://b.example/simple"}
    assert settings(env, tmp_path).extras == (
        "https://a.example/simple",
        "https://b.example/simple",
    )
    assert settings(env, tmp_path).default == MIRROR


def page(name: str, filenames: list[str]) -> bytes:
    files = [{"filename": f, "url": f"https://files.example/{f}", "hashes": {}} for f in filenames]
    return json.dumps({"meta": {"api-version": "1.1"}, "name": name, "files": files}).encode()


class Fetch:
    """Canned answers by URL; anything else is a 404."""

    def __init__(self, pages: dict[str, bytes]) -> None:
        self.pages = pages
        self.requests: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.requests.append(url)
        if url not in self.pages:
            raise urllib.error.HTTPError(url, 404, "Not Found", Message(), None)
        return self.pages[url]


def test_the_first_extra_index_with_the_project_gives_all_its_files(tmp_path: Path) -> None:
    fetch = Fetch({
        f"{INTERNAL}/ourlib/": page("ourlib", [f"ourlib-1.0-cp311-cp311-{HERE}.whl"]),
        f"{PYPI}/ourlib/": page("ourlib", [f"ourlib-9.0-cp311-cp311-{HERE}.whl"]),
        f"{PYPI}/fakeflow/": page("fakeflow", [f"fakeflow-2.0-cp311-cp311-{HERE}.whl"]),
    })  # fmt: skip
    index = PackageIndex(tmp_path, index_url=PYPI, extra_index_urls=[INTERNAL], fetch=fetch)
    assert list(index.releases("ourlib")) == [Version("1.0")]
    assert list(index.releases("fakeflow")) == [Version("2.0")]
    assert fetch.requests == [f"{INTERNAL}/ourlib/", f"{INTERNAL}/fakeflow/", f"{PYPI}/fakeflow/"]


def test_an_extra_index_that_fails_is_passed_over_without_showing_its_credentials(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "https://bot:s3cret@down.example/simple"

    def fetch(url: str) -> bytes:
        if url.startswith(secret):
            raise urllib.error.URLError("connection refused")
        return page("fakeflow", [f"fakeflow-2.0-cp311-cp311-{HERE}.whl"])

    index = PackageIndex(tmp_path, index_url=PYPI, extra_index_urls=[secret], fetch=fetch)
    with caplog.at_level(logging.WARNING):
        assert list(index.releases("fakeflow")) == [Version("2.0")]
    assert "passing over the extra index https://down.example/simple" in caplog.text
    assert "s3cret" not in caplog.text
    cached = "".join(path.read_text() for path in (tmp_path / "index").iterdir())
    assert "s3cret" not in cached


def classifiers(*minors: int) -> bytes:
    listed = [f"Programming Language :: Python :: 3.{minor}" for minor in minors]
    return json.dumps({"info": {"classifiers": ["Framework :: Pytest", *listed]}}).encode()


def test_pythons_past_313_come_from_wheel_tags_and_classifiers(tmp_path: Path) -> None:
    fetch = Fetch({
        f"{PYPI}/fakeflow/": page("fakeflow", [
            f"fakeflow-2.20.0-cp313-cp313-{HERE}.whl",
            f"fakeflow-2.21.0rc0-cp314-cp314-{HERE}.whl",
            f"fakeflow-2.19.0-cp39-abi3-{HERE}.whl",
        ]),
        "https://pypi.org/pypi/pytest/json": classifiers(9, 13, 15),
    })  # fmt: skip
    index = PackageIndex(tmp_path, index_url=PYPI, fetch=fetch)
    release_candidate = CellSpec("rc", tensorflow="fakeflow>=2.21.0rc0")
    stable = CellSpec("stable", tensorflow="fakeflow>=2.20")
    assert index.classified_pythons("pytest") == {(3, 9), (3, 13), (3, 15)}
    assert index.tagged_pythons("fakeflow", release_candidate.anchors[0].specifier) == {(3, 14)}
    assert index.tagged_pythons("fakeflow", SpecifierSet()) == {(3, 13)}  # abi3 names a floor
    assert known_pythons(release_candidate, index)[0] == (3, 15)
    assert newest_supported_python(release_candidate, index) == "3.14"
    assert newest_supported_python(stable, index) == "3.13"
    assert newest_supported_python(CellSpec("bare"), index) == "3.15"


def test_without_any_answer_the_newest_known_python_is_313(tmp_path: Path) -> None:
    index = PackageIndex(tmp_path, index_url=PYPI, fetch=Fetch({}))
    assert known_pythons(CellSpec("bare"), index) == [(3, m) for m in range(13, 6, -1)]
