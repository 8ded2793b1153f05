raise TypeError(
    "Unable to convert function return value to a Python type! The signature was () -> handle"
)
