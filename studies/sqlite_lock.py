"""A fair queue in front of SQLite's write lock.

SQLite has no lock queue: a writer that finds the database locked sleeps in
its busy handler (up to 100 ms at a time) and tries again, so with 8 worker
processes one unlucky process could lose the race for seconds (next-sample
p99 in benchmarks/RESULTS.md, part 6). Taking an exclusive ``flock`` on
a file beside the database before ``BEGIN IMMEDIATE`` makes waiters queue in
the kernel instead, woken as soon as the holder is done.

Only the outermost transaction takes it: inside one that already holds
SQLite's write lock, waiting for the flock could deadlock with a process
that holds the flock and waits for SQLite.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import threading

from django.db import connection

_local = threading.local()  # one descriptor per thread: flock excludes threads of a process too


def _lock_path() -> str | None:
    if connection.vendor != "sqlite":
        return None
    name = str(connection.settings_dict["NAME"])
    if not name or name == ":memory:" or name.startswith("file:") or "mode=memory" in name:
        return None
    return name + ".hpopt-lock"


@contextlib.contextmanager
def turn():
    """Waits for this process's turn to write to the SQLite database (a no-op
    on PostgreSQL, in memory, or inside an open transaction)."""
    path = _lock_path()
    if path is None or connection.in_atomic_block:
        yield
        return
    fds = getattr(_local, "fds", None)
    if fds is None or _local.pid != os.getpid():
        # a forked child (an RQ work horse) must not share its parent's open
        # file: flock would then count both as the holder
        fds, _local.pid = {}, os.getpid()
        _local.fds = fds
    fd = fds.get(path)
    if fd is None:
        fd = fds[path] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
