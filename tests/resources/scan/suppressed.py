# ruff: noqa
# fmt: off
"""Uses that the project has decided to keep, silenced line by line."""


def train(model, batches):
    model.fit_generator(batches, steps_per_epoch=2)  # kerascompat: ignore
    model.fit(batches, workers=2)  # kerascompat: ignore[fit_workers]
    model.fit_generator(batches, workers=2)  # kerascompat: ignore[fit_workers]  expect: fit_generator
    model.predict_generator(batches, steps=1)  # expect: predict_generator
    marker = "# kerascompat: ignore"; model.evaluate_generator(batches)  # expect: evaluate_generator
    return marker
