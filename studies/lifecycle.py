"""The end of a study's life and a trial's place in it: archive, unarchive,
delete a study; exclude a trial from the model's view, or include it again.

A study is archived or deleted only while no worker holds its trials: a
running study (it hands out trials as slots free up) or one with queued or
running trials (a paused study's trials pause at their next report) is
refused with a message naming the state, and must be paused (and its trials
settled) or killed first. Each check and its change run under the study's
lock (DbStorage.locked), the lock start, resume and the workers' reports
take, so nothing can start in between.

Excluding a trial is reversible. The trial keeps its number, rows, scores
and attempts, and the compute it spent still counts against the budget (it
was spent); but the algorithms see it as a trial that reported nothing
(studies.storage.DbStorage masks it: TPE and the GP fit without it, ASHA's
rungs rank without it, median stopping ignores its curve) and the best-trial
rule never picks it (Study.best_trial, studies.settled, studies.listing).
Only a finished trial can be excluded: one that runs, waits or is paused is
killed first, so what a worker holds never changes under it.
"""
from __future__ import annotations

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from hpopt import checkpoints
from hpopt.status import StudyState, TrialState
from studies import settled
from studies.models import Study, Trial
from studies.storage import DbStorage

#: trial states a worker holds (or is about to)
HELD = (TrialState.QUEUED.value, TrialState.RUNNING.value)


class Refused(Exception):
    """The action is not allowed in the study's or trial's state (a 409); the message says why."""


def why_busy(study: Study, action: str) -> str:
    """Why ``action`` ("archive", "delete") must wait, or "" when the study
    is free: nothing runs or waits for a worker."""
    if study.state == StudyState.RUNNING.value:
        return (f"cannot {action} a study that is running: pause it (and let its running trials pause) "
                "or kill it first")
    held = dict(study.trials.filter(state__in=HELD).order_by().values_list("state").annotate(n=Count("id")))
    if held:
        what = " and ".join(f"{n} {state}" for state, n in sorted(held.items()))
        return (f"cannot {action} a study that is {study.state} while workers hold its trials ({what}): "
                "wait until they pause, or kill the study first")
    return ""


def set_archived(study: Study, archived: bool) -> None:
    """Archives (out of the default studies list) or unarchives the study;
    Refused while workers hold its trials (archiving only: unarchiving is always allowed)."""
    with DbStorage(study.pk).locked():
        study.refresh_from_db()
        if archived and not study.archived:
            why = why_busy(study, "archive")
            if why:
                raise Refused(why)
        Study.objects.filter(pk=study.pk).update(archived=archived, updated=timezone.now())
    study.archived = archived


def delete(study: Study) -> None:
    """Deletes the study with its trials, scores and attempts (the database
    cascades) and, after the commit, its checkpoints; Refused while workers
    hold its trials."""
    storage = DbStorage(study.pk)
    with storage.locked():
        study.refresh_from_db()
        why = why_busy(study, "delete")
        if why:
            raise Refused(why)
        folder = storage._study_dir()
        study.delete()
        transaction.on_commit(lambda: checkpoints.remove(folder))


def set_excluded(trial: Trial, excluded: bool) -> None:
    """Excludes a finished trial from the model's view, or includes it again
    (see the module doc); Refused for a trial that is not finished."""
    with DbStorage(trial.study_id).locked():
        trial.refresh_from_db()
        if not trial.trial_state.is_finished():
            raise Refused(f"cannot {'exclude' if excluded else 'include'} a trial that is {trial.state}: "
                          "kill it first (only finished trials can be excluded)")
        if trial.excluded == excluded:
            return
        # `updated` moves so the live pages' cursor sends the trial again; every
        # process's tally of the finished trials (studies.settled) folds anew
        Trial.objects.filter(pk=trial.pk).update(excluded=excluded, updated=timezone.now())
        settled.invalidate(trial.study_id)
    trial.refresh_from_db()
