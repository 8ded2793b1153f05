"""Build and train a small dense regressor, the way the project's scripts do."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


def build_model(keras, units: int = 8):
    """A two-layer regressor for four features."""
    layers = keras.layers
    model = keras.Sequential(
        [keras.Input(shape=(4,)), layers.Dense(units, activation="relu"), layers.Dense(1)]
    )
    model.compile(optimizer="adam", loss="mse")
    return model


def batches(size: int = 16, seed: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless random batches of (features, targets)."""
    rng = np.random.default_rng(seed)
    while True:
        x = rng.random((size, 4), dtype=np.float32)
        yield x, x.sum(axis=1, keepdims=True)


def train(model, steps: int = 4):
    """Train on generated batches with the API this project has always used."""
    return model.fit_generator(batches(), steps_per_epoch=steps, epochs=1, verbose=0)
