"""``python -m pytest_kerascompat merge ...`` and ``ci-matrix``."""

import sys

from .cli import main

sys.exit(main())
