"""``python -m pytest_kerascompat merge|ci-matrix|scan|bisect|diff|cache|fix ...``."""

import sys

from pytest_kerascompat.commands.cli import main

sys.exit(main())
