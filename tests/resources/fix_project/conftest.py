"""Puts the project's root on sys.path, so the tests import ``trainlib`` and ``augment``."""
