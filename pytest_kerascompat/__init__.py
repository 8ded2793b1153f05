"""pytest-kerascompat: which TensorFlow/Keras versions does your training code work on?

Importing the package imports nothing heavy: pytest loads it for every run.
"""

__version__ = "0.1.0"
