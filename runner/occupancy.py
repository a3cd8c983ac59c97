"""How long a trial occupies its worker, the runner's own time included.

A worker forks a work horse per job, and around the trainer the runner
spends time of its own: RQ's bookkeeping and the fork, the trial's start
and end in the database, handing the study's slot to the next trial. For a
demo trainer whose trials last a few tens of milliseconds that is as long as
the trials themselves, so a time model that starts a trial's clock inside the
work horse makes the preview and the ETA run short. For the time model
(hpopt.timing: start-up = first report - start - one epoch) an attempt
therefore starts when its worker was free for it: at the end of the
worker's previous trial (which that trial's work horse writes into memory
shared with the worker), plus the time the worker then waited idle for a job
(blocked in RQ's dequeue). Every other moment between two trials is the
runner's, and is charged to the trial that follows.
"""
from __future__ import annotations

import multiprocessing
import time


class Occupancy:
    """Made by the worker process before it forks any work horse."""

    def __init__(self):
        self._ended = multiprocessing.RawValue("d", 0.0)
        self._waited = 0.0
        self._first_ask: float | None = None
        self.free_since: float | None = None

    def dequeued(self, asked: float, got: float) -> None:
        """In the worker: it waited for a job from ``asked`` to ``got``."""
        self._waited += got - asked
        if self._first_ask is None:
            self._first_ask = asked

    def before_job(self) -> None:
        """In the worker, just before it forks the job's work horse (which
        inherits ``free_since``). After a job that ran no trial (it was
        not this job's turn any more), the clock goes on from that job's."""
        base = max(self._ended.value, self.free_since or self._first_ask or time.time())
        self.free_since = base + self._waited
        self._waited = 0.0

    def trial_ended(self) -> None:
        """In the work horse, when its trial's attempt ended."""
        self._ended.value = time.time()


#: this process's worker's (a work horse inherits it); None outside a worker
CURRENT: Occupancy | None = None


def free_since() -> float | None:
    """When the worker running this work horse was free for its job (None outside a worker)."""
    return None if CURRENT is None or CURRENT.free_since is None else min(CURRENT.free_since, time.time())


def trial_ended() -> None:
    if CURRENT is not None:
        CURRENT.trial_ended()
