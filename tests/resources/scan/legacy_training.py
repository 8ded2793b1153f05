# ruff: noqa
# fmt: off
"""Keras 2 training code: every line marked `expect` uses an API whose availability changed."""

import keras
import numpy as np
import tensorflow as tf
from keras import layers
from keras.optimizers import SGD
from keras.preprocessing.image import ImageDataGenerator  # expect: image_data_generator
from tensorflow.keras.optimizers.legacy import Adam  # expect: optimizers_legacy


def batches(size):
    while True:
        yield np.zeros((size, 3)), np.zeros((size, 1))


class Batches(keras.utils.Sequence):
    def __init__(self, size):  # expect: sequence_super_init
        self.size = size

    def __len__(self):
        return 4

    def __getitem__(self, index):
        return np.zeros((self.size, 3)), np.zeros((self.size, 1))


class MoreBatches(Batches):
    def __init__(self, size):  # expect: sequence_super_init
        self.size = size * 2


def train():
    model = keras.Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile(SGD(lr=0.01), "mse")  # expect: optimizer_lr
    model.fit_generator(batches(4), steps_per_epoch=2)  # expect: fit_generator
    model.evaluate_generator(batches(4), steps=2)  # expect: evaluate_generator
    model.predict_generator(batches(4), steps=2)  # expect: predict_generator
    model.predict_classes(np.zeros((1, 3)))  # expect: predict_classes
    model.fit(
        Batches(4),
        workers=2,  # expect: fit_workers
        use_multiprocessing=True,
    )
    model.evaluate(Batches(4), max_queue_size=4)  # expect: fit_workers
    model.fit(batches(4), steps_per_epoch=2, class_weight={0: 1.0})  # expect: class_weight_generator
    stream = batches(4)
    model.fit(stream, steps_per_epoch=2, class_weight={0: 1.0})  # expect: class_weight_generator
    model.fit(
        (pair for pair in [(np.zeros((4, 3)), np.zeros((4, 1)))]),
        class_weight={0: 1.0},  # expect: class_weight_generator
    )
    images = keras.preprocessing.image.ImageDataGenerator(rotation_range=10)  # expect: image_data_generator
    tf.data.Dataset.from_generator(batches, (tf.float32, tf.float32))  # expect: from_generator_output_types
    tf.data.Dataset.from_generator(batches, output_types=(tf.float32, tf.float32))  # expect: from_generator_output_types
    tf.keras.optimizers.Adam(lr=0.1)  # expect: optimizer_lr
    tf.keras.optimizers.legacy.SGD(0.1)  # expect: optimizers_legacy
    layers.LocallyConnected2D(4, 3)  # expect: removed_layers
    keras.layers.ThresholdedReLU()  # expect: removed_layers
    return model, images, Adam
