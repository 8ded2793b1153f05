"""The bisect search, its request and its command line; the real run is in test_integration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from pytest_kerascompat.commands._bisect_runner import releases_in_range
from pytest_kerascompat.commands._bisection import (
    BisectError,
    BisectRequest,
    Finding,
    Target,
    Trial,
    available_probes,
    exact_outcome,
    max_trials,
    parse_range,
    search,
    trial_of,
)
from pytest_kerascompat.commands.bisect import build_request, finding_lines, finding_to_dict
from pytest_kerascompat.commands.cli import build_parser, main
from pytest_kerascompat.model.changes import KNOWN_CHANGES
from pytest_kerascompat.model.results import CellReport, CellStatus, Outcome, Result
from pytest_kerascompat.plan.index import PackageIndex

from .conftest import bisect, ready_environments
from .test_index import INDEX, FakeIndex

FIT_GENERATOR_HINT = next(c.hint for c in KNOWN_CHANGES if c.api == "fit_generator")
RELEASES = [Version(f"2.{minor}.0") for minor in range(1, 18)]  # 2.1.0 ... 2.17.0


class FakeJudge:
    """Outcomes by version, from a rule; records which versions were tried."""

    def __init__(self, outcome_of: dict[Version, Outcome | str]) -> None:
        self.outcome_of = outcome_of
        self.asked: list[Version] = []

    def __call__(self, version: Version) -> Trial:
        self.asked.append(version)
        outcome = self.outcome_of[version]
        if not isinstance(outcome, Outcome):
            return Trial(version, skipped=outcome)
        result = Result(cell=f"tensorflow-{version}", test="probes::test_x", outcome=outcome)
        return Trial(version, result=result)


def breaking_from(first_bad: str, skipped: dict[str, str] | None = None) -> FakeJudge:
    outcomes: dict[Version, Outcome | str] = {
        v: Outcome.REMOVED if v >= Version(first_bad) else Outcome.DEPRECATED for v in RELEASES
    }
    for version, reason in (skipped or {}).items():
        outcomes[Version(version)] = reason
    return FakeJudge(outcomes)


@pytest.mark.parametrize("first_bad", ["2.2.0", "2.9.0", "2.16.0", "2.17.0"])
def test_it_finds_the_first_release_that_breaks_in_about_log2_trials(first_bad: str) -> None:
    judge = breaking_from(first_bad)

    finding = search(RELEASES, judge)

    assert finding.found
    assert finding.first_bad is not None
    assert finding.last_good is not None
    assert str(finding.first_bad.version) == first_bad
    assert finding.last_good.version == RELEASES[RELEASES.index(Version(first_bad)) - 1]
    assert len(judge.asked) <= max_trials(len(RELEASES)) == 6
    assert len(set(judge.asked)) == len(judge.asked), "no release is tried twice"


def test_it_tries_both_ends_first_so_a_range_without_change_costs_two_trials() -> None:
    judge = breaking_from("9.9")  # never breaks

    finding = search(RELEASES, judge)

    assert not finding.found
    assert judge.asked == [RELEASES[0], RELEASES[-1]]
    assert finding.reason == "the outcome does not change between 2.1.0 and 2.17.0"


def test_a_skipped_midpoint_is_replaced_by_its_neighbour_and_reported() -> None:
    judge = breaking_from("2.16.0", skipped={"2.9.0": "install-error: no wheel"})

    finding = search(RELEASES, judge)

    assert finding.first_bad is not None
    assert str(finding.first_bad.version) == "2.16.0"
    assert Version("2.9.0") in judge.asked
    skipped = [trial for trial in finding.trials if trial.skipped]
    assert [str(trial.version) for trial in skipped] == ["2.9.0"]
    assert not finding.unresolved


def test_skipped_ends_move_inward_to_the_nearest_testable_release() -> None:
    judge = breaking_from("2.16.0", skipped={"2.1.0": "no interpreter", "2.17.0": "import-error"})

    finding = search(RELEASES, judge)

    assert judge.asked[:4] == [
        Version("2.1.0"),
        Version("2.2.0"),
        Version("2.17.0"),
        Version("2.16.0"),
    ]
    assert finding.first_bad is not None
    assert str(finding.first_bad.version) == "2.16.0"


def test_when_only_skipped_releases_separate_good_from_bad_all_of_them_are_named() -> None:
    skipped = {"2.14.0": "import-error", "2.15.0": "install-error"}
    judge = breaking_from("2.15.0", skipped=skipped)

    finding = search(RELEASES, judge)

    assert finding.last_good is not None
    assert finding.first_bad is not None
    assert str(finding.last_good.version) == "2.13.0"
    assert str(finding.first_bad.version) == "2.16.0"
    assert [str(v) for v in finding.unresolved] == ["2.14.0", "2.15.0"]


def test_a_range_where_nothing_can_be_tested_says_so() -> None:
    judge = FakeJudge({v: "install-error" for v in RELEASES[:3]})

    finding = search(RELEASES[:3], judge)

    assert not finding.found
    assert finding.reason == "no release in the range could be tested"
    assert len(finding.trials) == 3


def test_an_oldest_release_that_already_breaks_stops_before_building_the_newest() -> None:
    judge = breaking_from("2.1.0")

    finding = search(RELEASES, judge, expected=True)

    assert not finding.found
    assert judge.asked == [RELEASES[0]]
    assert finding.reason == "the oldest testable release, 2.1.0, is already removed"


def test_inverse_finds_the_first_release_that_works_again() -> None:
    outcomes: dict[Version, Outcome | str] = {
        v: Outcome.PASSED if v >= Version("2.4.0") else Outcome.REMOVED for v in RELEASES
    }

    finding = search(RELEASES, FakeJudge(outcomes), expected=False)

    assert finding.first_bad is not None
    assert str(finding.first_bad.version) == "2.4.0"


def test_comparing_exact_outcomes_finds_when_a_call_became_deprecated() -> None:
    outcomes: dict[Version, Outcome | str] = {
        v: Outcome.DEPRECATED if v >= Version("2.1.0") else Outcome.PASSED
        for v in [Version("2.0.0"), *RELEASES]
    }
    versions = sorted(outcomes)

    plain = search(versions, FakeJudge(outcomes))
    exact = search(versions, FakeJudge(outcomes), exact_outcome)

    assert not plain.found, "passed and deprecated both work"
    assert exact.first_bad is not None
    assert str(exact.first_bad.version) == "2.1.0"


@pytest.mark.parametrize(("count", "most"), [(1, 1), (2, 2), (3, 3), (5, 4), (9, 5), (17, 6)])
def test_max_trials_is_both_ends_plus_one_halving_per_step(count: int, most: int) -> None:
    assert max_trials(count) == most


# ------------------------------------------------------------------------- request


def test_a_tensorflow_release_becomes_the_cells_tensorflow() -> None:
    request = BisectRequest(Target(probe="fit_generator"), "TensorFlow", SpecifierSet())

    cell = request.cell_for(Version("2.16.1"))

    assert cell.tensorflow == "tensorflow==2.16.1"
    assert cell.keras is None
    assert cell.name == "tensorflow-2.16.1"


def test_a_keras_release_puts_standalone_keras_under_test_beside_the_other_packages() -> None:
    request = BisectRequest(
        Target(node_id="tests/test_a.py::test_b"),
        "keras",
        SpecifierSet(),
        packages=("tensorflow==2.15.*",),
        env=(("XLA_FLAGS", "--xla_force_host_platform_device_count=1"),),
        backend="jax",
    )

    cell = request.cell_for(Version("3.0.0"))

    assert cell.keras == "keras==3.0.0"
    assert cell.keras_module == "keras"
    assert cell.packages == ("tensorflow==2.15.*",)
    assert cell.backend == "jax"
    assert cell.env_dict == {"XLA_FLAGS": "--xla_force_host_platform_device_count=1"}


def test_a_project_with_extras_is_made_absolute_from_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = build_parser().parse_args(["bisect", "--probe", "tf_data", "--project", ".[test]"])

    assert build_request(args).project == f"{tmp_path.resolve()}[test]"


def test_another_package_is_added_to_the_cells_packages() -> None:
    request = BisectRequest(Target(probe="tf_data"), "numpy", SpecifierSet(), packages=("scipy",))

    assert request.cell_for(Version("1.26.4")).packages == ("scipy", "numpy==1.26.4")


def test_targets_name_the_test_the_worker_reports() -> None:
    assert Target(probe="fit_generator").test_id == "probes::test_fit_generator"
    assert Target(probe="fit_generator").probes == ("test_fit_generator",)
    assert Target(probe="fit_generator").mode == "probes"
    user = Target(node_id="tests/test_train.py::test_fit")
    assert (user.test_id, user.mode, user.user_args) == (
        "tests/test_train.py::test_fit",
        "named",
        ("tests/test_train.py::test_fit",),
    )


def test_a_node_id_finds_its_square_even_when_pytest_names_it_from_a_higher_rootdir() -> None:
    target = Target(node_id="tests/test_a.py::test_b")
    squares = [
        Result("c", "pkg/tests/test_a.py::test_bb", Outcome.PASSED),
        Result("c", "pkg/tests/test_a.py::test_b", Outcome.FAILED),
        Result("c", "other_tests/test_a.py::test_b", Outcome.PASSED),
    ]

    assert target.pick(squares) is squares[1]
    assert target.pick([Result("c", "tests/test_a.py::test_b", Outcome.PASSED)]) is not None
    assert target.pick(squares[:1]) is None


PROBE = Target(probe="fit_generator")
V = Version("2.16.1")


@pytest.mark.parametrize(
    ("status", "detail", "reason"),
    [
        (CellStatus.INSTALL_ERROR, "No solution found\nmore", "install-error: No solution found"),
        (CellStatus.IMPORT_ERROR, "ImportError: libcudart", "import-error: ImportError: libcudart"),
        (CellStatus.NO_INTERPRETER, None, "no-interpreter"),
    ],
)
def test_a_release_that_cannot_install_or_import_is_skipped_with_the_reason(
    status: CellStatus, detail: str | None, reason: str
) -> None:
    cell = CellReport("tensorflow-2.16.1", status=status, detail=detail)

    trial = trial_of(PROBE, V, cell, [], built=True)

    assert trial.skipped == reason
    assert trial.result is None


def test_a_test_that_skips_itself_or_did_not_run_gives_no_answer() -> None:
    cell = CellReport("tensorflow-2.16.1")
    skipped = Result(cell.name, "probes::test_fit_generator", Outcome.SKIPPED, message="no GPU")
    other = Result(cell.name, "probes::test_tf_data", Outcome.PASSED)

    assert trial_of(PROBE, V, cell, [skipped], built=False).skipped == (
        "the test skipped itself: no GPU"
    )
    assert trial_of(PROBE, V, cell, [other], built=False).skipped == (
        "the test did not run (the cell ran: probes::test_tf_data)"
    )


def test_a_square_is_the_trials_answer() -> None:
    cell = CellReport("tensorflow-2.16.1")
    square = Result(cell.name, "probes::test_fit_generator", Outcome.REMOVED)

    trial = trial_of(PROBE, V, cell, [square], built=True)

    assert trial.skipped is None
    assert trial.result is square
    assert (trial.outcome, trial.built) == ("removed", True)


def test_the_probes_are_read_from_the_bundled_probe_module() -> None:
    probes = available_probes()

    assert "fit_generator" in probes
    assert "image_data_generator" in probes
    assert len(probes) == len(set(probes)) >= 7


def test_releases_in_range_are_final_unyanked_and_oldest_first(tmp_path: Path) -> None:
    index = PackageIndex(tmp_path, index_url=INDEX, fetch=FakeIndex())

    every = releases_in_range(index, "fakeflow", SpecifierSet(">=2.14"))
    pre = releases_in_range(index, "fakeflow", SpecifierSet(">=2.16.0rc0"))

    assert [str(v) for v in every] == ["2.14.0", "2.15.0", "2.16.0"]  # 2.14.1: all yanked
    assert [str(v) for v in pre] == ["2.16.0rc0", "2.16.0"]


def test_a_range_that_is_not_a_specifier_is_a_usage_error() -> None:
    with pytest.raises(BisectError, match=r"--range '2\.15 to 2\.17' is not a version range"):
        parse_range("2.15 to 2.17")


# ------------------------------------------------------------------------ command line


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bisect"], "either TEST_NODE_ID or --probe NAME"),
        (["bisect", "tests/test_a.py::test_b", "--probe", "tf_data"], "either TEST_NODE_ID"),
        (["bisect", "--probe", "tf_data", "--range", ">>2"], "is not a version range"),
        (["bisect", "--probe", "tf_data", "--env", "NOVALUE"], "--env 'NOVALUE': write it as"),
    ],
)
def test_a_wrong_request_is_a_usage_error_without_a_traceback(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_an_unknown_probe_is_refused_with_the_probes_there_are(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["bisect", "--probe", "fit_generatr"])

    assert exit_info.value.code == 2
    assert "invalid choice: 'fit_generatr'" in capsys.readouterr().err


# ----------------------------------------------------------------------------- output


def sample_finding() -> tuple[BisectRequest, Finding]:
    request = BisectRequest(Target(probe="fit_generator"), "tensorflow", SpecifierSet(">=2.15"))
    good = Trial(
        Version("2.15.1"),
        result=Result("c", "probes::test_fit_generator", Outcome.DEPRECATED, message="old"),
        built=True,
    )
    bad = Trial(
        Version("2.16.1"),
        result=Result(
            "c",
            "probes::test_fit_generator",
            Outcome.REMOVED,
            api="fit_generator",
            exc_type="AttributeError",
            message="'Functional' object has no attribute 'fit_generator'",
            hint=FIT_GENERATOR_HINT,
            change="fit_generator",
        ),
    )
    skipped = Trial(Version("2.16.0"), skipped="install-error: no wheel")
    versions = (Version("2.15.1"), Version("2.16.0"), Version("2.16.1"), Version("2.17.0"))
    finding = Finding(versions, (good, skipped, bad), last_good=good, first_bad=bad)
    return request, finding


def test_the_text_answer_names_both_sides_the_hint_and_what_was_built() -> None:
    request, finding = sample_finding()

    lines = finding_lines(request, finding)

    assert "last good: tensorflow 2.15.1  deprecated: old" in lines
    assert (
        "first bad: tensorflow 2.16.1  removed: AttributeError: 'Functional' object has no "
        "attribute 'fit_generator'" in lines
    )
    assert f"hint: {FIT_GENERATOR_HINT}" in lines
    assert "caught by: python -m pytest_kerascompat scan --select fit_generator" in lines
    assert any("2.16.0" in line and "skipped: install-error: no wheel" in line for line in lines)
    assert any(line.startswith("2.17.0") and line.endswith("not needed") for line in lines)
    assert lines[-1] == (
        "3 of 4 releases tried (at most 4 without skips): 1 environments built, 1 reused, 1 skipped"
    )


def test_the_json_answer_round_trips_through_json() -> None:
    request, finding = sample_finding()

    data = json.loads(json.dumps(finding_to_dict(request, finding)))

    assert data["found"] is True
    assert data["last_good"]["version"] == "2.15.1"
    assert data["first_bad"]["outcome"] == "removed"
    assert data["hint"] == FIT_GENERATOR_HINT
    assert data["rule"] == "fit_generator"
    assert [t["version"] for t in data["trials"]] == ["2.15.1", "2.16.0", "2.16.1"]


# --------------------------------------------------------------------- real environments


def test_it_bisects_a_users_unmarked_test_over_real_releases_of_a_package(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """packaging 22.0 removed LegacyVersion: a small, real break that needs no TensorFlow."""
    pytester.makepyfile(
        test_versions="""
        def test_legacy_versions_parse():
            from packaging.version import LegacyVersion
            assert str(LegacyVersion("1.0-foo")) == "1.0-foo"
        """
    )
    cache_dir = tmp_path / "cache"

    answer, progress = bisect(
        pytester.path, cache_dir, "test_versions.py::test_legacy_versions_parse",
        "--package=packaging", "--range=>=21.0,<=23.0", "--python=3.11",
    )  # fmt: skip

    assert answer["releases"] == ["21.0", "21.1", "21.2", "21.3", "22.0", "23.0"]
    assert answer["found"] is True, progress
    assert answer["last_good"]["version"] == "21.3"
    assert answer["last_good"]["outcome"] in ("passed", "deprecated")
    assert answer["first_bad"]["version"] == "22.0"
    assert answer["first_bad"]["outcome"] == "failed"  # no known change names LegacyVersion
    assert "cannot import name 'LegacyVersion'" in answer["first_bad"]["message"]
    tried = [trial["version"] for trial in answer["trials"]]
    assert len(tried) <= max_trials(6) == 5
    assert len(ready_environments(cache_dir)) == len(tried), "one environment per release tried"
    assert "bisect test_versions.py::test_legacy_versions_parse over 6 releases" in progress

    again, _ = bisect(
        pytester.path, cache_dir, "test_versions.py::test_legacy_versions_parse",
        "--package=packaging", "--range=>=21.0,<=23.0", "--python=3.11",
    )  # fmt: skip

    assert again["first_bad"]["version"] == "22.0"
    assert not any(trial["built"] for trial in again["trials"]), "the second bisect reuses all"
