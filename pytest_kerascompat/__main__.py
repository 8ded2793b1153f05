"""``python -m pytest_kerascompat merge|ci-matrix|scan|bisect ...``."""

import sys

from .cli import main

sys.exit(main())
