import os

import pytest


@pytest.mark.keras_compat(api="cell_env")
def test_sees_the_cells_environment(keras_cell):
    assert keras_cell.name in ("plain", "plain-b")
    if keras_cell.name == "plain-b":
        assert os.environ["KERASCOMPAT_EXAMPLE"] == "set"


@pytest.mark.keras_compat(breaks="keras>=3")
def test_marked_with_a_break_range():
    pass


def test_unmarked_stays_out_of_the_matrix():
    raise AssertionError("an unmarked test ran in a cell")
