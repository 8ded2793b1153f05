# ruff: noqa
"""A project with its own Trainer class that happens to have a fit_generator method."""

import keras


class Trainer:
    def __init__(self, model):
        self.model = model

    def fit_generator(self, batches):
        for batch in batches:
            self.model.train_on_batch(*batch)


class Network(keras.Model):
    def train(self, batches):
        return self.fit_generator(batches, steps_per_epoch=2)  # expect: fit_generator


def run(model, batches):
    trainer = Trainer(model)
    trainer.fit_generator(batches)  # expect: fit_generator (unsure)
    network = keras.models.load_model("model.keras")
    network.fit_generator(batches, steps_per_epoch=2)  # expect: fit_generator
