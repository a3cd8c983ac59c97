"""Sweeps that keep running trials honest, run by the sweeper loop
(runner.sweeper; one per deployment is enough, and several are safe: every
change is conditional on the trial's state and attempt, under its study's lock).

* sweep_lost: a running trial whose heartbeat stopped (its worker vanished)
  is queued again while attempts remain, lost otherwise;
* sweep_silent: a running trial whose trainer has not reported for
  HPOPT_REPORT_TIMEOUT seconds fails, and its job is stopped.
"""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from hpopt import controls, engine
from hpopt.status import TrialState
from studies import dispatch
from studies.control import fill_slots
from studies.models import Trial
from studies.storage import DbStorage


def sweep_lost(now=None) -> int:
    """Running trials whose heartbeat is older than HPOPT_HEARTBEAT_TIMEOUT:
    queued again (their slot reused) while attempts remain, otherwise lost.
    Returns how many trials it changed."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.HPOPT_HEARTBEAT_TIMEOUT)
    stale = Trial.objects.filter(state=TrialState.RUNNING.value, heartbeat__lt=cutoff)
    changed = 0
    for pk, study_id, number, attempt, owner in stale.values_list("pk", "study_id", "number", "attempt", "owner"):
        storage = DbStorage(study_id)
        with storage.locked():
            # the same condition again, for this attempt: a beat that landed since keeps it
            if not Trial.objects.of_attempt(pk, attempt).filter(heartbeat__lt=cutoff).exists():
                continue
            state = controls.expire(storage, number, attempt, settings.HPOPT_MAX_ATTEMPTS,
                                    f"worker {owner or '?'} stopped sending heartbeats")
            if state is None:
                continue
            # queued again, it needs a new job; lost, it needs none
            Trial.objects.filter(pk=pk).update(job_id="")
            fill_slots(study_id)
        changed += 1
    return changed


def sweep_silent(now=None) -> int:
    """Fails running trials whose trainer has not reported for
    HPOPT_REPORT_TIMEOUT seconds (counted from the attempt's start until its
    first report) with "no report for N s", stops their jobs and gives their
    slots to the next trials. Their heartbeats do not help them: the
    heartbeat thread beats even while the trainer hangs. Returns how many
    trials it failed."""
    now = now or timezone.now()
    timeout = settings.HPOPT_REPORT_TIMEOUT
    cutoff = now - timedelta(seconds=timeout)
    quiet = Q(state=TrialState.RUNNING.value, started__lt=cutoff) & (Q(last_report=None) | Q(last_report__lt=cutoff))
    changed = 0
    for pk, study_id, number, attempt, job_id in Trial.objects.filter(quiet).values_list(
            "pk", "study_id", "number", "attempt", "job_id"):
        storage = DbStorage(study_id)
        with storage.locked():
            # the same condition again: a report that landed since keeps the trial
            if not Trial.objects.filter(quiet, pk=pk, attempt=attempt).exists():
                continue
            engine.finish(storage, number, attempt, error=(
                f"no report for {timeout} s (HPOPT_REPORT_TIMEOUT): the trainer seems to hang; its job was stopped"))
            if job_id:
                transaction.on_commit(lambda job_id=job_id: dispatch.get().stop(job_id))
            fill_slots(study_id)
        changed += 1
    return changed
