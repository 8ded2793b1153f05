import os

if os.environ.get("KERASCOMPAT_TEST_ABORT_ON_IMPORT"):
    os.abort()
raise TypeError(
    "Unable to convert function return value to a Python type! The signature was () -> handle"
)
