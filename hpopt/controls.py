"""Changes of a trial's state that do not come from its trainer: pause,
resume, kill (a user's clicks), requeue (an interrupted run), expire (a lost
worker). Each takes the storage's lock, reads the trial, and writes through
``hpopt.engine.move`` (checked against the transition table, conditional on
the trial as read). The dashboard calls them; the library's loop uses
requeue when it resumes a study whose process died.
"""
from __future__ import annotations

from hpopt.engine import move
from hpopt.status import Pending, TrialState
from hpopt.storage.base import Storage


def pause(storage: Storage, trial_id: int) -> bool:
    """A queued trial pauses at once; a running one at its next report
    (``pending``), keeping its progress. False when neither applies."""
    with storage.locked():
        trial = storage.get_trial(trial_id)
        if trial.state is TrialState.QUEUED:
            move(storage, trial, TrialState.PAUSED)
            return True
        if trial.state is TrialState.RUNNING:
            if trial.pending is not Pending.PAUSE:
                storage.update_trial(trial, trial.replace(pending=Pending.PAUSE))
            return True
        return False


def resume(storage: Storage, trial_id: int) -> bool:
    """paused -> queued: the next attempt starts after ``resume_iteration``.
    A running trial whose pause is still pending just carries on. False
    when neither applies."""
    with storage.locked():
        trial = storage.get_trial(trial_id)
        if trial.state is TrialState.PAUSED:
            move(storage, trial, TrialState.QUEUED, owner="")
            return True
        if trial.state is TrialState.RUNNING and trial.pending is Pending.PAUSE:
            storage.update_trial(trial, trial.replace(pending=Pending.NONE))
            return True
        return False


def kill(storage: Storage, trial_id: int, reason: str = "killed by the user") -> bool:
    """Queued, running or paused -> killed, now; a later report of its
    trainer answers STOP. False when the trial had already finished."""
    with storage.locked():
        trial = storage.get_trial(trial_id)
        if trial.state.is_finished():
            return False
        move(storage, trial, TrialState.KILLED, error=reason)
        return True


def requeue(storage: Storage, trial_id: int, keep_progress: bool, attempt: int | None = None) -> bool:
    """Running (of ``attempt``, when given) or paused -> queued, to run again
    (an interrupted trial). With keep_progress the next attempt starts after
    the last stored iteration; otherwise from scratch (its scores are
    replaced as it reports them again)."""
    with storage.locked():
        trial = storage.get_trial(trial_id)
        if trial.state is TrialState.PAUSED or (
                trial.state is TrialState.RUNNING and attempt in (None, trial.attempt)):
            move(storage, trial, TrialState.QUEUED, owner="",
                 resume_iteration=trial.last_iteration if keep_progress else 0)
            return True
        return False


def expire(storage: Storage, trial_id: int, attempt: int, max_attempts: int, why: str) -> TrialState | None:
    """Attempt ``attempt`` of a running trial was lost (``why``: its worker
    vanished): queued again from scratch while fewer than ``max_attempts``
    attempts ran, lost otherwise. None when that attempt is no longer the
    trial's running one (it reported meanwhile, or was given up already)."""
    with storage.locked():
        trial = storage.get_trial(trial_id)
        if trial.state is not TrialState.RUNNING or trial.attempt != attempt:
            return None
        if attempt >= max_attempts:
            return move(storage, trial, TrialState.LOST, error=f"{why}; no attempts left").state
        return move(storage, trial, TrialState.QUEUED, owner="", resume_iteration=0,
                    error=f"attempt {attempt} lost: {why}").state
