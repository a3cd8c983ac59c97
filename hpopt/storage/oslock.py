"""An exclusive lock on an open file, shared by processes of one host.

``fcntl`` exists only on POSIX systems, so it is imported where the lock is
taken: ``import hpopt`` works everywhere, and on Windows the file storage
locks with ``msvcrt`` instead.
"""
from __future__ import annotations

import time


def lock(fd: int) -> None:
    """Blocks until this process holds the lock on ``fd`` (released by closing it)."""
    try:
        import fcntl
    except ImportError:  # Windows
        _lock_msvcrt(fd)
    else:
        fcntl.flock(fd, fcntl.LOCK_EX)


def _lock_msvcrt(fd: int) -> None:
    import msvcrt

    while True:
        try:
            # LK_LOCK itself retries for about 10 s, then raises
            msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
            return
        except OSError:
            time.sleep(0.05)
