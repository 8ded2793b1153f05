"""Writing files that other processes read while they are being written, and checking
beforehand that a directory can take them."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path


def write_text_atomically(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path`` and rename it into place.

    A reader (another sweep, ``merge``, a CI step) sees the old file or the new one,
    never half of one.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # a file stands where the directory should be
        problem = f"{path.parent} is not a directory"
        raise NotADirectoryError(errno.ENOTDIR, problem, str(path)) from None
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); the file in place gets the mode any
        # other new file would, so a CI step or a colleague can read the report.
        os.chmod(temporary, 0o666 & ~current_umask())
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def current_umask() -> int:
    """The process's umask, read where Linux shows it, else set and restored at once."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def directory_problem(path: Path) -> str | None:
    """Why files cannot be written in ``path`` (created if missing), or None when they can.

    Tried by writing, not by ``os.access``: that says yes to root on a read-only file
    system, and knows nothing of a full disk or a quota.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        return "it exists and is not a directory"
    except OSError as error:
        return f"cannot create it: {error.strerror or error}"
    if not path.is_dir():
        return "it is not a directory"
    try:
        handle, probe = tempfile.mkstemp(dir=path, prefix=".kerascompat-write-check.")
        try:
            os.write(handle, b"x")
        finally:
            os.close(handle)
            os.unlink(probe)
    except OSError as error:
        return f"cannot write in it: {error.strerror or error}"
    return None
