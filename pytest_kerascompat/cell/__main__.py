"""``python -m kerascompat_cell ...``: pytest in a cell, with the worker already registered.

``-p kerascompat_cell.worker`` would load the worker while pytest parses the command
line, too late to see that parse fail. Registered first, the worker declares the
options a user's configuration may name (:mod:`.user_config`) and records it when pytest
still refuses the configuration, which would otherwise leave no event at all.

Before any of that, even before pytest is imported, the worker ties itself to the
controller that started it (:mod:`._parent`): an orphan leaves instead of running.
"""

import sys

from . import _parent

if __name__ == "__main__":
    _parent.tie()

    import pytest

    from . import worker

    sys.exit(pytest.main(sys.argv[1:], plugins=[worker]))
