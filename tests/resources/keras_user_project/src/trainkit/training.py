from trainkit.data import batches


def train_legacy(model, steps=2):
    """Trains the way Keras 2 tutorials did."""
    return model.fit_generator(batches(), steps_per_epoch=steps, verbose=0)


def train_parallel(model, steps=2):
    return model.fit(batches(), steps_per_epoch=steps, workers=2, verbose=0)
