import numpy as np
import pytest
from trainkit.data import Batches, Settings, batches
from trainkit.models import build_classifier, build_regressor
from trainkit.training import train_legacy, train_parallel

pytestmark = pytest.mark.keras_compat


def test_fit_generator_in_the_library():
    train_legacy(build_regressor())


def test_fit_with_workers():
    train_parallel(build_regressor())


def test_evaluate_generator():
    model = build_regressor()
    model.evaluate_generator(batches(), steps=2, verbose=0)


def test_predict_classes():
    model = build_classifier()
    assert model.predict_classes(np.zeros((2, 3), "float32")).shape == (2,)


def test_sequence_without_super_init():
    build_regressor().fit(Batches(), epochs=1, verbose=0)


def test_shape_bug():
    model = build_regressor()
    model.fit(np.zeros((8, 3), "float32"), np.zeros((8, 1)), epochs=1, verbose=0)
    model.predict(np.zeros((2, 5), "float32"), verbose=0)


def test_missing_attribute_on_a_plain_object():
    assert Settings().learning_rate > 0


def test_trains():
    model = build_regressor()
    model.fit(batches(), steps_per_epoch=2, verbose=0)
