import numpy as np
import pytest
from tinyfit import batches, build_model, train


@pytest.mark.keras_compat
def test_fits_arrays(keras):
    model = build_model(keras)
    x, y = next(batches())
    history = model.fit(x, y, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


@pytest.mark.keras_compat
def test_predicts_one_value_per_row(keras):
    model = build_model(keras)
    x, _ = next(batches(size=5))
    predictions = model.predict(x, verbose=0)
    print(f"predicted {predictions.shape}")
    assert predictions.shape == (5,)


@pytest.mark.keras_compat(api="fit_generator")
def test_trains_with_the_projects_helper(keras):
    history = train(build_model(keras))
    assert history.history["loss"]


@pytest.mark.slow
@pytest.mark.keras_compat
def test_loss_goes_down(keras):
    model = build_model(keras)
    x, y = next(batches(size=64))
    history = model.fit(x, y, epochs=20, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_batches_have_matching_rows():
    x, y = next(batches(size=3))
    assert x.shape == (3, 4)
    assert y.shape == (3, 1)
    assert np.allclose(x.sum(axis=1, keepdims=True), y)
