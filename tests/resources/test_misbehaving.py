import ctypes
import os
import time

import pytest

pytestmark = pytest.mark.keras_compat


def test_passes():
    pass


def test_fails():
    assert 1 + 1 == 3


def test_hangs_like_an_endless_generator():
    def batches():
        while True:
            time.sleep(0.1)
            yield 1

    for _ in batches():
        pass


def test_segfaults():
    ctypes.string_at(0)


def test_aborts():
    os.abort()


def test_runs_after_the_crashes():
    assert os.environ.get("KERASCOMPAT_EXAMPLE") in (None, "set")
