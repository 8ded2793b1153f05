"""``python -m kerascompat_cell ...``: pytest in a cell, with the worker already registered.

``-p kerascompat_cell.worker`` would load the worker while pytest parses the command
line, too late to see that parse fail. Registered first, the worker declares the
options a user's configuration may name (:mod:`.user_config`) and records it when pytest
still refuses the configuration, which would otherwise leave no event at all.
"""

import sys

import pytest

from . import worker

if __name__ == "__main__":
    sys.exit(pytest.main(sys.argv[1:], plugins=[worker]))
