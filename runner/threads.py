"""One trial's share of its host's CPU threads.

numpy's OpenBLAS (and MKL, OpenMP) start one thread per core in every
process. Two trials on a two-core host then run four busy threads, and
they do not just share the cores, they thrash: a scikit-learn MLP epoch
can take several times as long beside a second trial as alone (the
numbers are in benchmarks/RESULTS.md, "Threads per trial"). So each
trial's process limits those pools to the host's cores divided by the
hpopt workers alive on it, as Ray Tune sets OMP_NUM_THREADS to a trial's
CPUs. A user who set OMP_NUM_THREADS (or one of the other variables) for
the worker chose for themselves: nothing is changed then.

A worker process starts with one thread per pool (worker_environment,
before its trainer modules load numpy). Before each trial it counts the
live workers of its host; the trial's own process (forked per trial) then
sets its pools to its share (threadpoolctl, for the pools already loaded)
and the variables to the same (for what loads later and for the trainer's
own subprocesses).
"""
from __future__ import annotations

import os
import socket

from django.conf import settings
from threadpoolctl import threadpool_limits

VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
             "NUMEXPR_NUM_THREADS")


def share(cpus: int, workers: int) -> int:
    """Threads for one trial: the cores over the workers that may run at once, at least one."""
    return max(1, cpus // max(1, workers))


def user_chose() -> bool:
    return any(os.environ.get(v) for v in VARIABLES)


#: whether the worker's user set one of VARIABLES (read by worker_environment(), before it sets them)
_USER_CHOSE: bool | None = None


def worker_environment() -> None:
    """In a worker process, before the trainer modules load numpy: one
    thread for the worker's own pools. The worker forks trials and does not
    compute; OpenBLAS started with a thread per core starts them again in
    the worker after every fork, and they spun beside its trials (the demo
    trainer's epochs took several times as long). Each trial's process
    raises its pools to its share (apply)."""
    global _USER_CHOSE
    _USER_CHOSE = user_chose()
    if not _USER_CHOSE:
        for v in VARIABLES:
            os.environ[v] = "1"


def for_next_trial() -> int | None:
    """The next trial's share of this host (asked by the worker before it
    forks the trial's process); None when the user chose (a variable is
    set)."""
    from runner.models import Worker  # here: share() is used without Django (benchmarks.threads)

    if _USER_CHOSE if _USER_CHOSE is not None else user_chose():
        return None
    workers = Worker.objects.alive(settings.HPOPT_HEARTBEAT_TIMEOUT).filter(host=socket.gethostname()).count()
    return share(os.cpu_count() or 1, workers)


def apply(threads: int) -> None:
    """Limits this process's thread pools (in the trial's own process: kept
    for its life) and those of what it loads or starts later."""
    for v in VARIABLES:
        os.environ[v] = str(threads)
    threadpool_limits(limits=threads)
