"""Training tests that misbehave in one cell only, so the other shows it is untouched."""

import ctypes
import os

import numpy as np
import pytest

pytestmark = pytest.mark.keras_compat
TROUBLED_CELL = "tf2.15"


def small_model(keras):
    inputs = keras.layers.Input(shape=(3,))
    model = keras.models.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile("sgd", "mse")
    return model


def endless_batches():
    while True:
        yield np.zeros((4, 3), "float32"), np.zeros((4, 1), "float32")


def test_trains(keras):
    small_model(keras).fit(np.zeros((8, 3)), np.zeros((8, 1)), epochs=1, verbose=0)


def test_fails_on_a_shape_mismatch(keras, keras_cell):
    features = 5 if keras_cell.name == TROUBLED_CELL else 3
    small_model(keras).fit(np.zeros((8, features)), np.zeros((8, 1)), epochs=1, verbose=0)


def test_endless_generator_without_steps_per_epoch(keras, keras_cell):
    steps = None if keras_cell.name == TROUBLED_CELL else 2
    small_model(keras).fit(endless_batches(), steps_per_epoch=steps, epochs=1, verbose=0)


def test_segfaults_in_native_code(keras_cell):
    if keras_cell.name == TROUBLED_CELL:
        ctypes.string_at(0)


def test_aborts(keras_cell):
    if keras_cell.name == TROUBLED_CELL:
        os.abort()
