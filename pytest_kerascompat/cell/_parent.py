"""A worker's tie to the controller that started it, made before anything else runs.

A controller can die at any moment (killed for memory, SIGKILL, a CI runner cancelled);
a worker left behind would run its whole session for nobody, and the tests it forks
with it. So before pytest is even imported, a worker checks that its parent is still
the controller that started it (whose pid the controller put in the environment), and
asks Linux to kill it when that parent goes (``PR_SET_PDEATHSIG``, set before the check
so that no moment is left uncovered). Where there is no such call, a thread polls the
parent instead; it also ends the worker's whole process group, so children that tests
forked go too (on Linux the controller's reaper does that).

Python 3.7+, standard library only.
"""

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from typing import Mapping, Optional

from . import protocol

#: ``prctl`` option number from ``<linux/prctl.h>``.
PR_SET_PDEATHSIG = 1


def expected_parent(environ: Mapping[str, str]) -> Optional[int]:
    """The controller's pid, or ``None`` for a worker started by hand."""
    try:
        return int(environ.get(protocol.PARENT_VARIABLE, ""))
    except ValueError:
        return None


def ask_kernel_to_follow(sig: int = signal.SIGKILL) -> bool:
    """Linux: deliver ``sig`` to this process when its parent dies. False elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # the process's own symbols: libc's
        return bool(libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def leave(status: int) -> None:
    """End this worker and, when it leads its own process group, everything in it."""
    if os.getpid() > 1 and os.getpgid(0) == os.getpid():  # killpg(1) would be kill(-1)
        with contextlib.suppress(OSError):  # this process goes with its group
            os.killpg(os.getpid(), signal.SIGKILL)
    os._exit(status)


def tie(status: int = protocol.EXIT_ORPHANED, interval: float = 1.0) -> None:
    """Leave at once if the controller is already gone; otherwise leave when it goes."""
    parent = expected_parent(os.environ)
    if parent is None:
        return
    ask_kernel_to_follow()
    if os.getppid() != parent:
        leave(status)

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                leave(status)

    threading.Thread(target=watch, name="kerascompat-parent-watch", daemon=True).start()
