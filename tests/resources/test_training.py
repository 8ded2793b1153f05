import numpy as np
import pytest

pytestmark = pytest.mark.keras_compat


def batches():
    while True:
        yield np.zeros((4, 3), "float32"), np.zeros((4, 1), "float32")


def small_model(keras):
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(3,))])
    model.compile("sgd", "mse")
    return model


def test_fixtures_describe_the_cell(keras_cell, keras, tf):
    assert keras_cell.tensorflow == tf.__version__
    assert keras_cell.keras is not None
    assert keras_cell.name in ("tf2.15", "tf2.16")


def test_trains_with_fit_generator(keras):
    small_model(keras).fit_generator(batches(), steps_per_epoch=2, verbose=0)


@pytest.mark.keras_compat(breaks="keras>=3")
def test_known_to_break_on_keras_3(keras):
    small_model(keras).fit_generator(batches(), steps_per_epoch=2, verbose=0)
