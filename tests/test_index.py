from __future__ import annotations

import base64
import http.server
import json
import threading
import urllib.error
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import platform_tags
from packaging.version import Version

from pytest_kerascompat.plan.index import (
    DistFile,
    IndexUnavailable,
    PackageIndex,
    PythonVersion,
    default_index_url,
    fetch_simple_json,
    pick_interpreter,
)
from pytest_kerascompat.plan.interpreters import Interpreter

INDEX = "https://index.example/simple"
HERE = next(iter(platform_tags()))
ELSEWHERE = "fakeos_arm64"


def _wheels(name: str, version: str, minors: range, **extra: Any) -> list[dict[str, Any]]:
    return [{"filename": f"{name}-{version}-cp3{m}-cp3{m}-{HERE}.whl", **extra} for m in minors]


FAKEFLOW = [
    *_wheels("fakeflow", "2.13.0", range(8, 9)),
    {"filename": f"fakeflow-2.13.0-cp39-abi3-{HERE}.whl"},
    *_wheels("fakeflow", "2.14.0", range(9, 11)),
    *_wheels("fakeflow", "2.14.0", range(11, 12), yanked="broken build"),
    *_wheels("fakeflow", "2.14.1", range(9, 12), yanked=True),
    *_wheels("fakeflow", "2.15.0", range(9, 12), **{"requires-python": ">=3.9"}),
    {"filename": f"fakeflow-2.15.0-cp312-cp312-{ELSEWHERE}.whl"},
    *_wheels("fakeflow", "2.16.0rc0", range(9, 14)),
    *_wheels("fakeflow", "2.16.0", range(9, 13), yanked=False),
    {"filename": "fakeflow-2.16.0.win32.exe"},
    {"filename": "fakeflow-0.1-py2.7.egg"},
    {"filename": "not a distribution at all.whl"},
]
FAKERAS = [
    {"filename": "fakeras-2.15.0-py3-none-any.whl", "requires-python": ">=3.8"},
    {"filename": "fakeras-3.0.0-py3-none-any.whl", "requires-python": ">=3.9.2"},
    {"filename": "fakeras-3.1.0.tar.gz", "requires-python": ">=3.10"},
    {"filename": "fakeras-3.2.0-py3-none-any.whl", "requires-python": ">=3.6.*"},
]


def _page(name: str, files: list[dict[str, Any]]) -> bytes:
    entries = [{"url": f"https://files.example/{f['filename']}", "hashes": {}, **f} for f in files]
    body = {"meta": {"api-version": "1.1"}, "name": name, "files": entries}
    return json.dumps(body).encode()


class FakeIndex:
    """Serves canned PEP 691 pages and records every request."""

    def __init__(self) -> None:
        self.pages = {
            f"{INDEX}/fakeflow/": _page("fakeflow", FAKEFLOW),
            f"{INDEX}/fakeras/": _page("fakeras", FAKERAS),
        }
        self.requests: list[str] = []
        self.down = False

    def __call__(self, url: str) -> bytes:
        self.requests.append(url)
        if self.down:
            raise urllib.error.URLError("network is unreachable")
        if url not in self.pages:
            raise urllib.error.HTTPError(url, 404, "Not Found", Message(), None)
        return self.pages[url]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake() -> FakeIndex:
    return FakeIndex()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def index(tmp_path: Path, fake: FakeIndex, clock: Clock) -> PackageIndex:
    return PackageIndex(tmp_path, index_url=INDEX, fetch=fake, clock=clock)


def _installable(index: PackageIndex, spec: str, python: PythonVersion) -> list[str]:
    project = "fakeras" if spec.startswith("fakeras") else "fakeflow"
    specifier = SpecifierSet(spec.removeprefix(project))
    return [str(v) for v in index.installable_versions(project, specifier, python)]


def test_releases_group_files_by_version_and_drop_what_is_not_a_wheel_or_sdist(
    index: PackageIndex,
) -> None:
    releases = index.releases("fakeflow")

    assert sorted(releases) == [
        Version(v) for v in ("2.13.0", "2.14.0", "2.14.1", "2.15.0", "2.16.0rc0", "2.16.0")
    ]
    assert (
        DistFile(f"fakeflow-2.14.0-cp311-cp311-{HERE}.whl", None, True)
        in releases[Version("2.14.0")]
    )
    assert (
        DistFile(f"fakeflow-2.15.0-cp39-cp39-{HERE}.whl", ">=3.9", False)
        in releases[Version("2.15.0")]
    )


def test_it_reads_installability_from_wheel_tags(index: PackageIndex) -> None:
    assert _installable(index, "==2.15.*", (3, 11)) == ["2.15.0"]
    assert _installable(index, "==2.15.*", (3, 12)) == []
    assert _installable(index, "==2.16.*", (3, 12)) == ["2.16.0"]


def test_it_lists_installable_versions_newest_first(index: PackageIndex) -> None:
    assert _installable(index, "", (3, 10)) == ["2.16.0", "2.15.0", "2.14.0", "2.13.0"]


def test_it_skips_prereleases_unless_the_specifier_names_one(index: PackageIndex) -> None:
    assert _installable(index, ">=2.16", (3, 13)) == []
    assert _installable(index, ">=2.16.0rc0", (3, 13)) == ["2.16.0rc0"]
    assert _installable(index, ">=2.16.0rc0", (3, 12)) == ["2.16.0", "2.16.0rc0"]


def test_it_skips_yanked_files(index: PackageIndex) -> None:
    assert _installable(index, "==2.14.*", (3, 10)) == ["2.14.0"]
    assert _installable(index, "==2.14.*", (3, 11)) == []


def test_it_accepts_an_abi3_wheel_on_every_later_python(index: PackageIndex) -> None:
    assert _installable(index, "==2.13.*", (3, 13)) == ["2.13.0"]
    assert _installable(index, "==2.13.*", (3, 8)) == ["2.13.0"]
    assert _installable(index, "==2.13.*", (3, 7)) == []


def test_it_ignores_wheels_built_for_another_platform(index: PackageIndex) -> None:
    assert index.newest_installable("fakeflow", SpecifierSet("==2.15.0"), (3, 12)) is None


def test_it_applies_requires_python_to_pure_python_wheels_and_sdists(
    index: PackageIndex,
) -> None:
    assert _installable(index, "fakeras<3.2", (3, 9)) == ["3.0.0", "2.15.0"]
    assert _installable(index, "fakeras<3.2", (3, 10)) == ["3.1.0", "3.0.0", "2.15.0"]
    assert _installable(index, "fakeras<3.2", (3, 7)) == []


def test_a_patch_bound_in_requires_python_is_exact_only_for_a_full_version(
    index: PackageIndex,
) -> None:
    assert _installable(index, "fakeras==3.0.0", (3, 9)) == ["3.0.0"]
    assert _installable(index, "fakeras==3.0.0", (3, 9, 1)) == []
    assert _installable(index, "fakeras==3.0.0", (3, 9, 18)) == ["3.0.0"]


def test_an_invalid_requires_python_does_not_exclude_a_file(index: PackageIndex) -> None:
    assert _installable(index, "fakeras==3.2.0", (3, 13)) == ["3.2.0"]


def test_it_requests_the_normalized_project_url(index: PackageIndex, fake: FakeIndex) -> None:
    fake.pages[f"{INDEX}/fake-flow/"] = fake.pages[f"{INDEX}/fakeflow/"]

    index.releases("Fake_Flow")

    assert fake.requests == [f"{INDEX}/fake-flow/"]


def test_the_index_url_follows_uv_then_pip_settings() -> None:
    assert default_index_url({}) == "https://pypi.org/simple"
    assert default_index_url({"PIP_INDEX_URL": "https://pip/simple"}) == "https://pip/simple"
    both = {"PIP_INDEX_URL": "https://pip/simple", "UV_INDEX_URL": "https://uv/simple"}
    assert default_index_url(both) == "https://uv/simple"
    assert default_index_url({**both, "UV_DEFAULT_INDEX": "https://d/simple"}) == "https://d/simple"


def test_a_second_question_does_not_fetch_again(index: PackageIndex, fake: FakeIndex) -> None:
    index.installable_versions("fakeflow", SpecifierSet(), (3, 11))
    index.installable_versions("fakeflow", SpecifierSet("==2.15.*"), (3, 9))

    assert len(fake.requests) == 1


def test_a_new_instance_answers_from_the_disk_cache_within_the_ttl(
    tmp_path: Path, index: PackageIndex, fake: FakeIndex, clock: Clock
) -> None:
    expected = index.releases("fakeflow")
    clock.now += 3600
    fake.down = True

    again = PackageIndex(tmp_path, index_url=INDEX, fetch=fake, clock=clock).releases("fakeflow")

    assert again == expected
    assert len(fake.requests) == 1


def test_an_expired_cache_is_fetched_again(
    index: PackageIndex, fake: FakeIndex, clock: Clock
) -> None:
    index.releases("fakeflow")
    fake.pages[f"{INDEX}/fakeflow/"] = _page(
        "fakeflow", _wheels("fakeflow", "2.17.0", range(9, 13))
    )
    clock.now += 86400 + 1

    assert list(index.releases("fakeflow")) == [Version("2.17.0")]
    assert len(fake.requests) == 2


def test_a_network_failure_falls_back_to_the_stale_cache(
    tmp_path: Path, index: PackageIndex, fake: FakeIndex, clock: Clock
) -> None:
    expected = index.releases("fakeflow")
    clock.now += 10 * 86400
    fake.down = True
    later = PackageIndex(tmp_path, index_url=INDEX, fetch=fake, clock=clock)

    assert later.releases("fakeflow") == expected
    assert later.releases("fakeflow") == expected
    assert len(fake.requests) == 2


def test_without_a_cache_a_network_failure_raises_index_unavailable(
    index: PackageIndex, fake: FakeIndex
) -> None:
    fake.down = True

    with pytest.raises(
        IndexUnavailable, match=r"'fakeflow' at https://index\.example/simple/fakeflow/"
    ):
        index.releases("fakeflow")


def test_a_failed_project_is_not_fetched_again_by_the_same_index(
    index: PackageIndex, fake: FakeIndex
) -> None:
    fake.down = True
    for _ in range(3):
        with pytest.raises(IndexUnavailable):
            index.releases("fakeflow")

    assert len(fake.requests) == 1


def test_an_answer_that_is_not_pep_691_json_counts_as_unavailable(
    index: PackageIndex, fake: FakeIndex
) -> None:
    fake.pages[f"{INDEX}/fakeflow/"] = b"<html><body>simple index</body></html>"

    with pytest.raises(IndexUnavailable, match="fakeflow"):
        index.releases("fakeflow")


def test_the_cache_is_a_json_file_with_its_fetch_time(
    tmp_path: Path, index: PackageIndex, clock: Clock
) -> None:
    index.releases("fakeflow")

    assert sorted(p.name for p in (tmp_path / "index").iterdir()) == ["fakeflow.json"]
    cached = json.loads((tmp_path / "index" / "fakeflow.json").read_text())
    assert cached["fetched_at"] == clock.now
    assert cached["url"] == f"{INDEX}/fakeflow/"
    assert len(cached["files"]) == len(FAKEFLOW)


def test_a_corrupt_cache_is_replaced(tmp_path: Path, index: PackageIndex, fake: FakeIndex) -> None:
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / "fakeflow.json").write_text("{not json")

    assert Version("2.16.0") in index.releases("fakeflow")
    assert json.loads((tmp_path / "index" / "fakeflow.json").read_text())["files"]


def test_a_cache_from_another_index_is_not_used(
    tmp_path: Path, index: PackageIndex, fake: FakeIndex, clock: Clock
) -> None:
    index.releases("fakeflow")
    mirror = "https://mirror.example/simple"
    fake.pages[f"{mirror}/fakeflow/"] = _page(
        "fakeflow", _wheels("fakeflow", "9.0.0", range(9, 10))
    )

    other = PackageIndex(tmp_path, index_url=mirror, fetch=fake, clock=clock)

    assert list(other.releases("fakeflow")) == [Version("9.0.0")]


def test_credentials_stay_out_of_cache_files_and_errors(
    tmp_path: Path, fake: FakeIndex, clock: Clock
) -> None:
    secret = "https://user:s3cret@index.example/simple"
    fake.pages[f"{secret}/fakeflow/"] = fake.pages[f"{INDEX}/fakeflow/"]
    index = PackageIndex(tmp_path, index_url=secret, fetch=fake, clock=clock)

    index.releases("fakeflow")
    with pytest.raises(IndexUnavailable) as raised:
        index.releases("missing")

    assert "s3cret" not in (tmp_path / "index" / "fakeflow.json").read_text()
    assert "s3cret" not in str(raised.value)


def _interpreters(*minors: int) -> list[Interpreter]:
    return [Interpreter(Path(f"/py/python3.{m}"), (3, m, 4), "pyenv") for m in minors]


def test_pick_interpreter_chooses_the_newest_interpreter_with_a_wheel(
    index: PackageIndex,
) -> None:
    pick = pick_interpreter([Requirement("fakeflow==2.15.*")], _interpreters(13, 12, 11, 9), index)

    assert pick.interpreter is not None
    assert pick.interpreter.minor == "3.11"
    assert pick.index_available
    assert "3.11.4" in pick.reason


def test_pick_interpreter_needs_every_requirement_installable(index: PackageIndex) -> None:
    requirements = [Requirement("fakeflow==2.14.*"), Requirement("fakeras>=3.1,<3.2")]

    pick = pick_interpreter(requirements, _interpreters(12, 11, 10, 9), index)

    assert pick.interpreter is not None
    assert pick.interpreter.minor == "3.10"


def test_pick_interpreter_orders_interpreters_itself(index: PackageIndex) -> None:
    pick = pick_interpreter([Requirement("fakeflow==2.16.*")], _interpreters(9, 12, 10), index)

    assert pick.interpreter is not None
    assert pick.interpreter.minor == "3.12"


def test_pick_interpreter_returns_none_when_no_interpreter_fits(index: PackageIndex) -> None:
    pick = pick_interpreter([Requirement("fakeflow==2.15.*")], _interpreters(13, 12, 8), index)

    assert pick.interpreter is None
    assert pick.index_available
    assert "fakeflow==2.15.*" in pick.reason
    assert "3.13, 3.12, 3.8" in pick.reason


def test_pick_interpreter_ignores_requirements_whose_marker_excludes_the_python(
    index: PackageIndex,
) -> None:
    requirements = [
        Requirement("fakeflow==2.16.*"),
        Requirement("fakeras==9.9; python_version >= '3.12'"),
    ]

    pick = pick_interpreter(requirements, _interpreters(12, 11), index)

    assert pick.interpreter is not None
    assert pick.interpreter.minor == "3.11"


def test_pick_interpreter_falls_back_to_the_newest_when_the_index_is_down(
    index: PackageIndex, fake: FakeIndex
) -> None:
    fake.down = True

    pick = pick_interpreter([Requirement("fakeflow==1.0")], _interpreters(11, 13, 12), index)

    assert pick.interpreter is not None
    assert pick.interpreter.minor == "3.13"
    assert not pick.index_available
    assert "network is unreachable" in pick.reason


def test_pick_interpreter_without_interpreters_says_so(index: PackageIndex) -> None:
    pick = pick_interpreter([Requirement("fakeflow")], [], index)

    assert pick.interpreter is None
    assert "no CPython" in pick.reason


class _RecordingHandler(http.server.BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []

    def do_GET(self) -> None:
        type(self).seen.append({"path": self.path, **dict(self.headers.items())})
        body = _page("fakeflow", FAKEFLOW)
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def local_index() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RecordingHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    _RecordingHandler.seen.clear()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_the_default_fetch_asks_for_pep_691_json_and_sends_url_credentials(
    local_index: str,
) -> None:
    body = fetch_simple_json(f"http://me:pa%40ss@{local_index}/simple/fakeflow/")

    assert json.loads(body)["name"] == "fakeflow"
    (request,) = _RecordingHandler.seen
    assert request["path"] == "/simple/fakeflow/"
    assert request["Accept"] == "application/vnd.pypi.simple.v1+json"
    assert request["Authorization"] == "Basic " + base64.b64encode(b"me:pa@ss").decode()


@pytest.mark.integration
def test_real_pypi_knows_tensorflow_2_15_stops_at_python_3_11(tmp_path: Path) -> None:
    index = PackageIndex(tmp_path, index_url="https://pypi.org/simple")
    spec = SpecifierSet("==2.15.*")
    try:
        on_311 = index.newest_installable("tensorflow", spec, (3, 11))
    except IndexUnavailable as exc:
        pytest.skip(f"PyPI is unreachable: {exc}")

    assert on_311 is not None
    assert on_311.release[:2] == (2, 15)
    assert index.newest_installable("tensorflow", spec, (3, 12)) is None
