"""A small training library written in the Keras 2 era."""

import numpy as np
import tensorflow as tf
from tensorflow import keras


class Batches(keras.utils.Sequence):
    """Batches of (x, y), in order."""

    def __init__(self, x, y, batch_size=4):
        self.x, self.y = x, y
        self.batch_size = batch_size

    def __len__(self):
        return int(np.ceil(len(self.x) / self.batch_size))

    def __getitem__(self, index):
        part = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return self.x[part], self.y[part]


def batches(x, y, batch_size=4):
    """Batches of (x, y) for ever, as fit_generator wanted them."""
    while True:
        for start in range(0, len(x), batch_size):
            yield x[start : start + batch_size], y[start : start + batch_size]


def build_model(lr=0.01):
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(lr=lr), loss="binary_crossentropy")
    return model


def train(model, x, y):
    # Two steps of four samples: one pass over the data.
    return model.fit_generator(
        batches(x, y),
        steps_per_epoch=2,
        epochs=1,
        verbose=0,
        workers=1,
        use_multiprocessing=False,
    )


def train_on_sequence(model, x, y):
    return model.fit(Batches(x, y), epochs=1, verbose=0)


def score(model, x, y):
    return model.evaluate_generator(batches(x, y), 2)


def labels(model, x):
    return model.predict_classes(x)  # 0 or 1 per sample


def dataset(x, y):
    def pairs():
        yield from zip(x, y)

    return tf.data.Dataset.from_generator(
        pairs, output_types=(tf.float32, tf.float32), output_shapes=((3,), ())
    )


def accuracy(predicted, y):
    """The share of right labels. Bug: a (n, 1) column against (n,) labels broadcasts to n x n."""
    return float((predicted == y).mean())
