"""Filling a study's worker slots, and the sweeps that keep it honest.

Jobs take ids, never objects (``run_trial(trial_pk)``), and are enqueued after
the database commit, so a job never reads a row that is not there yet. A
trial's ``job_id`` is set when a job is enqueued for it and cleared when that
job ends, so a queued trial with no job is exactly one that needs a job.
"""
from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from hpopt import engine
from hpopt.errors import HpoError
from hpopt.status import StudyState, TrialState

log = logging.getLogger("hpopt.runner")
QUEUE_PREFIX = "hpopt-"
#: RQ job statuses after which a job will never run its trial
DEAD_JOB_STATUSES = frozenset({"finished", "failed", "stopped", "canceled"})
#: the start of a queued trial's ``error`` while no live worker offers its trainer
WAITING_PREFIX = "waiting: "


def queue_name(trainer: str) -> str:
    """One queue per trainer: a worker listens only to the trainers it has."""
    return QUEUE_PREFIX + trainer


def get_queue(trainer: str):
    """Queues are made per trainer on the fly, so they are plain RQ queues on
    django-rq's "default" connection rather than entries of RQ_QUEUES."""
    import django_rq
    from rq import Queue

    return Queue(queue_name(trainer), connection=django_rq.get_connection("default"), default_timeout=-1)


def _enqueue_after_commit(trainer: str, trial_pk: int, job_id: str) -> None:
    def enqueue():
        try:
            get_queue(trainer).enqueue(
                "runner.jobs.run_trial", trial_pk, job_id=job_id, result_ttl=600, failure_ttl=86400
            )
        except Exception:  # noqa: BLE001 - Redis down: the reconcile sweep re-enqueues later
            log.exception("could not enqueue trial %s; it will be retried by the sweep", trial_pk)

    transaction.on_commit(enqueue)


def fill_slots(study_id: int) -> int:
    """Gives every free slot of a running study a job: queued trials without a
    job first (OOM re-runs, resumed, lost), then new trials from the algorithm.
    Completes the study when nothing is left to run. Returns jobs enqueued."""
    from studies.models import Study, Trial
    from studies.storage import DbStorage

    storage = DbStorage(study_id)
    enqueued = 0
    with storage.locked():
        study = Study.objects.get(pk=study_id)
        if study.state != StudyState.RUNNING.value:
            return 0
        trials = Trial.objects.filter(study_id=study_id)
        active = trials.filter(state__in=[TrialState.QUEUED.value, TrialState.RUNNING.value]).exclude(job_id="").count()
        free = study.parallelism - active
        waiting = list(trials.filter(state=TrialState.QUEUED.value, job_id="").order_by("number")[: max(free, 0)])
        try:
            while free > 0:
                if waiting:
                    trial = waiting.pop(0)
                else:
                    record = engine.propose(storage)
                    if record is None:
                        break
                    trial = trials.get(number=record.trial_id)
                job_id = f"trial-{trial.pk}-{uuid.uuid4().hex[:12]}"
                Trial.objects.filter(pk=trial.pk).update(job_id=job_id)
                _enqueue_after_commit(study.trainer, trial.pk, job_id)
                free -= 1
                enqueued += 1
        except HpoError as exc:
            study.fail(str(exc))
            return enqueued
        unfinished = trials.filter(state__in=[TrialState.QUEUED.value, TrialState.RUNNING.value, TrialState.PAUSED.value])
        if enqueued == 0 and not unfinished.exists():
            study.complete()
    return enqueued


def stop_job(job_id: str) -> None:
    """Asks the worker running ``job_id`` to stop it now (RQ's stop-job
    command); a job still waiting in its queue is cancelled."""
    if not job_id:
        return
    from rq.command import send_stop_job_command
    from rq.exceptions import InvalidJobOperation, NoSuchJobError
    from rq.job import Job

    import django_rq

    conn = django_rq.get_connection("default")
    try:
        job = Job.fetch(job_id, connection=conn)
        if job.get_status() == "started":
            send_stop_job_command(conn, job_id)
        else:
            job.cancel()
    except (NoSuchJobError, InvalidJobOperation):
        pass
    except Exception:  # noqa: BLE001 - Redis down: the job will see the kill at its next report
        log.exception("could not stop job %s", job_id)


def sweep_lost(now=None) -> int:
    """Marks running trials whose heartbeat is older than the timeout: queued
    again (their slot reused) while attempts remain, otherwise lost.
    Returns how many trials it changed."""
    from studies.models import Trial
    from studies.storage import DbStorage

    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.HPOPT_HEARTBEAT_TIMEOUT)
    stale = Trial.objects.filter(state=TrialState.RUNNING.value, heartbeat__lt=cutoff)
    changed = 0
    for trial in stale:
        storage = DbStorage(trial.study_id)
        with storage.locked():
            if trial.attempt >= settings.HPOPT_MAX_ATTEMPTS:
                n = Trial.objects.filter(pk=trial.pk, state=TrialState.RUNNING.value, heartbeat__lt=cutoff).update(
                    state=TrialState.LOST.value, job_id="", finished=now, updated=now,
                    error=f"worker {trial.owner or '?'} stopped sending heartbeats; no attempts left",
                )
            else:
                n = Trial.objects.filter(pk=trial.pk, state=TrialState.RUNNING.value, heartbeat__lt=cutoff).update(
                    state=TrialState.QUEUED.value, job_id="", owner="", updated=now, resume_iteration=0,
                    error=f"attempt {trial.attempt} lost: worker {trial.owner or '?'} stopped sending heartbeats",
                )
        if n:
            changed += 1
            fill_slots(trial.study_id)
    return changed


def sweep_silent(now=None) -> int:
    """Fails running trials whose trainer has not reported for
    HPOPT_REPORT_TIMEOUT seconds (counted from the attempt's start until its
    first report) with "no report for N s", stops their jobs and gives their
    slots to the next trials. Their heartbeats do not help them: the
    heartbeat thread beats even while the trainer hangs. Returns how many
    trials it failed."""
    from studies.models import Trial
    from studies.storage import DbStorage

    now = now or timezone.now()
    timeout = settings.HPOPT_REPORT_TIMEOUT
    cutoff = now - timedelta(seconds=timeout)
    quiet = Q(state=TrialState.RUNNING.value, started__lt=cutoff) & (Q(last_report=None) | Q(last_report__lt=cutoff))
    changed = 0
    for trial in Trial.objects.filter(quiet):
        with DbStorage(trial.study_id).locked():
            # the same condition again: a report that landed since keeps the trial
            n = Trial.objects.filter(quiet, pk=trial.pk).update(
                state=TrialState.FAILED.value, pending="", finished=now, updated=now,
                error=f"no report for {timeout} s (HPOPT_REPORT_TIMEOUT): the trainer seems to hang; its job was stopped",
            )
        if n:
            changed += 1
            stop_job(trial.job_id)
            fill_slots(trial.study_id)
    return changed


def explain_waiting() -> int:
    """Queued trials of running studies whose trainer no live worker offers
    get the reason in their ``error`` (naming trainer modules that live
    workers failed to import). They keep waiting: a host may come back; the
    reason is cleared when one starts. Returns how many trials it updated."""
    from runner.models import Worker
    from studies.models import Trial

    waiting = Trial.objects.filter(state=TrialState.QUEUED.value, study__state=StudyState.RUNNING.value).exclude(job_id="")
    trainers = set(waiting.values_list("study__trainer", flat=True).distinct())
    if not trainers:
        return 0
    live = Worker.objects.alive(settings.HPOPT_HEARTBEAT_TIMEOUT)
    offered = {q for queues in live.values_list("queues", flat=True) for q in queues}
    changed = 0
    for trainer in sorted(trainers):
        if queue_name(trainer) in offered:
            continue
        why = Worker.objects.import_errors_text()
        reason = (f"{WAITING_PREFIX}no live worker offers trainer {trainer!r}"
                  + (f"; {why}" if why else "; start one on a host that has it (hpopt-web worker)"))
        changed += waiting.filter(study__trainer=trainer).exclude(error=reason).filter(
            Q(error="") | Q(error__startswith=WAITING_PREFIX)
        ).update(error=reason, updated=timezone.now())
    return changed


def _job_is_dead(conn, job_id: str) -> bool:
    """True when the job is gone from Redis (a restart loses it) or ended
    without running its trial to the end (it crashed, was stopped or cancelled)."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    try:
        return Job.fetch(job_id, connection=conn).get_status() in DEAD_JOB_STATUSES
    except NoSuchJobError:
        return True


def reconcile_jobs() -> int:
    """Queued trials whose job vanished from Redis (a restart without
    persistence loses its queues) or died without taking the trial (e.g. the
    database was down when it started) get their job_id cleared and their
    study's slots filled again."""
    import django_rq
    from studies.models import Trial

    conn = django_rq.get_connection("default")
    fixed = 0
    for trial in Trial.objects.filter(state=TrialState.QUEUED.value).exclude(job_id=""):
        if _job_is_dead(conn, trial.job_id):
            if Trial.objects.filter(pk=trial.pk, job_id=trial.job_id, state=TrialState.QUEUED.value).update(job_id=""):
                fixed += 1
                fill_slots(trial.study_id)
    return fixed
