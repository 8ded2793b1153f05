"""A tiny regression model and the helpers that train it."""

from tinyfit.training import batches, build_model, train

__all__ = ["batches", "build_model", "train"]
