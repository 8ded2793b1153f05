import keras
import numpy as np


def batches(features=3, size=8):
    """Endless (x, y) batches, as training generators usually are."""
    rng = np.random.default_rng(0)
    while True:
        x = rng.normal(size=(size, features)).astype("float32")
        yield x, x.sum(axis=1, keepdims=True)


class Batches(keras.utils.Sequence):
    """A Sequence whose __init__ never calls super().__init__()."""

    def __init__(self, count=4, size=8):
        self.count, self.size = count, size

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        x = np.full((self.size, 3), index, dtype="float32")
        return x, x.sum(axis=1, keepdims=True)


class Settings:
    """The library's own plain configuration object."""

    def __init__(self, epochs=1):
        self.epochs = epochs
