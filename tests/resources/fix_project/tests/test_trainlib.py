import numpy as np
import pytest
import trainlib

pytestmark = pytest.mark.keras_compat

X = np.random.RandomState(0).rand(8, 3).astype("float32")
Y = (X.sum(axis=1) > 1.5).astype("float32")


def test_train():
    history = trainlib.train(trainlib.build_model(), X, Y)
    assert len(history.history["loss"]) == 1


def test_train_on_sequence():
    history = trainlib.train_on_sequence(trainlib.build_model(), X, Y)
    assert np.isfinite(history.history["loss"][0])


def test_score():
    assert np.isfinite(trainlib.score(trainlib.build_model(), X, Y))


def test_labels():
    labels = trainlib.labels(trainlib.build_model(), X)
    assert labels.shape == (8, 1)
    assert set(np.unique(labels)) <= {0, 1}


def test_dataset():
    pairs = list(trainlib.dataset(X, Y))
    assert len(pairs) == 8
    assert pairs[0][0].shape == (3,)


def test_scaled():
    import augment  # standalone Keras 3 has no keras.preprocessing.image: only this square

    assert np.allclose(augment.scaled(np.ones((1, 2, 2, 3), "float32")), 0.5)


def test_accuracy_of_perfect_labels():
    assert trainlib.accuracy(Y.reshape(-1, 1), Y) == 1.0
