"""Enums shared by the library and the dashboard.

``Status`` keeps the original hpopt members and values, because users compare
``hpopt.report(...)`` against ``hpopt.Status.STOP``.  ``Decision`` is what an
algorithm returns from a lifecycle hook; ``TrialState`` is a trial's life cycle.
"""
from __future__ import annotations

import enum


class Status(enum.IntEnum):
    """What ``report()`` answers; values are the original library's."""

    UNKNOWN = -1
    READY = 0
    RUNNING = 1
    STOP = 2
    CUDAOOM = 3
    NORESULT = 4
    PARTIALRESULT = 5
    COMPLETERESULT = 6


class Decision(enum.Enum):
    """An algorithm's answer to a report. Returned, never acted on as a side effect."""

    CONTINUE = "continue"
    #: the algorithm stops the trial early (ASHA rung cutoff, median stop)
    STOP = "stop"
    #: the trial reached its last iteration
    COMPLETE = "complete"
    #: ASHA with promotion="pause": the trial waits at a rung (paused, its
    #: checkpoint kept) until it is promoted
    PAUSE = "pause"


class TrialState(str, enum.Enum):
    """Life cycle of a trial.

    queued -> running -> completed | stopped | failed | killed | lost;
    running -> paused -> queued (resume); running -> queued (OOM or an
    interrupted run given out again).  Finished trials are immutable.
    """

    #: waiting for a worker (new, re-run after OOM, resumed after a pause or a crash)
    QUEUED = "queued"
    #: handed to a trainer, reports expected
    RUNNING = "running"
    #: stopped at a report by a pause; keeps its scores, resumes from them
    PAUSED = "paused"
    #: trained to its last iteration
    COMPLETED = "completed"
    #: stopped early by the algorithm
    STOPPED = "stopped"
    #: the trainer raised, or returned without reporting
    FAILED = "failed"
    #: killed by the user
    KILLED = "killed"
    #: its worker vanished (heartbeat expired) and no retry is left
    LOST = "lost"

    def is_finished(self) -> bool:
        return self in FINISHED_STATES

    def is_active(self) -> bool:
        """Holds a worker slot or will soon."""
        return self in (TrialState.QUEUED, TrialState.RUNNING)


FINISHED_STATES = frozenset(
    {TrialState.COMPLETED, TrialState.STOPPED, TrialState.FAILED, TrialState.KILLED, TrialState.LOST}
)
#: states whose scores count as results of the trial
SCORED_STATES = frozenset({TrialState.COMPLETED, TrialState.STOPPED})
#: states whose trial may be "the best so far": results, and trials still
#: training (a study in progress has a best). Killed, failed and lost trials
#: never are: their config did not train as planned.
BEST_CANDIDATE_STATES = SCORED_STATES | {TrialState.RUNNING, TrialState.PAUSED}


class Pending(str, enum.Enum):
    """A control waiting for a running trial's next report (a kill needs no
    waiting: the trial's state changes at once)."""

    #: nothing is waiting
    NONE = ""
    #: pause at the next report, keeping the progress made
    PAUSE = "pause"


class StudyState(str, enum.Enum):
    """Life cycle of a study: draft -> running <-> paused -> completed | killed | failed."""

    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    KILLED = "killed"
    FAILED = "failed"

    def is_finished(self) -> bool:
        return self in (StudyState.COMPLETED, StudyState.KILLED, StudyState.FAILED)
