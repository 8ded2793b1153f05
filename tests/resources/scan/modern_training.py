# ruff: noqa
"""Code that mentions changed APIs without using them: nothing here may be reported.

A docstring that says model.fit_generator(gen) or fit(x, workers=4) is prose, not a call.
"""

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf
import torch
from tensorflow.keras.preprocessing.image import ImageDataGenerator

HELP = "call model.fit_generator(gen) on Keras 2; fit(x, workers=4) is gone"
# model.fit_generator(batches(4)) would break on Keras 3, so we use fit() instead.


class Rows(Sequence):
    """A plain sequence (collections.abc), not Keras's: its __init__ owes Keras nothing."""

    def __init__(self, rows):
        self.rows = rows

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, index):
        return self.rows[index]


class Batches(keras.utils.PyDataset):
    def __init__(self, size, **kwargs):
        super().__init__(**kwargs)
        self.size = size

    def __len__(self):
        return 4

    def __getitem__(self, index):
        return np.zeros((self.size, 3)), np.zeros((self.size, 1))


class OldStyleBatches(keras.utils.Sequence):
    def __init__(self, size):
        keras.utils.Sequence.__init__(self)
        self.size = size


class Inherited(keras.utils.Sequence):
    def __len__(self):
        return 1


def batches(size):
    while True:
        yield np.zeros((size, 3)), np.zeros((size, 1))


def arrays():
    return np.zeros((4, 3)), np.zeros((4, 1))


def train(model, weights):
    model.fit(Batches(4, workers=2), epochs=1)
    model.fit(batches(4), steps_per_epoch=2)
    model.fit(np.zeros((4, 3)), np.zeros((4, 1)), class_weight={0: 1.0})
    model.fit(arrays(), class_weight={0: 1.0})
    model.fit(batches(4), steps_per_epoch=2, class_weight=None)
    model.compile(keras.optimizers.SGD(learning_rate=0.01), "mse")
    torch.optim.Adam(weights, lr=0.01)
    images = ImageDataGenerator(rotation_range=10)
    same = tf.keras.preprocessing.image.ImageDataGenerator(rotation_range=10)
    specs = (tf.TensorSpec((None, 3)), tf.TensorSpec((None, 1)))
    dataset = tf.data.Dataset.from_generator(batches, output_signature=specs)
    return images, same, dataset, "fit_generator"
