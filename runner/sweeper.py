"""The sweeper: one loop per deployment that keeps studies moving when a
worker, a job or Redis went away. Started by ``hpopt-web demo``, ``serve``
and ``worker`` (the ``hpopt_sweep`` command); several may run (one per host):
each round takes a short lock in Redis, so usually one sweeps, and every
change a sweep makes is conditional anyway, so two rounds at once are safe.

A round runs, each on its own (one failing does not stop the others):
studies.sweeps.sweep_lost and sweep_silent (trials whose worker vanished or
whose trainer hangs), reconcile_jobs (queued trials whose job Redis lost)
and explain_waiting (queued trials no live worker can run).
"""
from __future__ import annotations

import logging
import os
import socket
import threading

from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import Q
from django.utils import timezone
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from hpopt.status import StudyState, TrialState
from runner.dispatch import connection as redis_connection
from runner.dispatch import queue_name
from runner.models import Worker
from studies.control import fill_slots
from studies.models import Trial
from studies.sweeps import sweep_lost, sweep_silent

log = logging.getLogger("hpopt.runner")
#: the start of a queued trial's ``error`` while no live worker offers its trainer
WAITING_PREFIX = "waiting: "
#: RQ job statuses after which a job will never run its trial
DEAD_JOB_STATUSES = frozenset({JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED})
LOCK_KEY = "hpopt:sweeper"


def explain_waiting() -> int:
    """Queued trials of running studies whose trainer no live worker offers
    get the reason in their ``error`` (naming trainer modules that live
    workers failed to import). They keep waiting: a host may come back; the
    reason is cleared when one starts. Returns how many trials it updated."""
    waiting = Trial.objects.filter(state=TrialState.QUEUED.value,
                                   study__state=StudyState.RUNNING.value).exclude(job_id="")
    trainers = set(waiting.values_list("study__trainer", flat=True).distinct())
    if not trainers:
        return 0
    live = Worker.objects.alive(settings.HPOPT_HEARTBEAT_TIMEOUT)
    offered = {q for queues in live.values_list("queues", flat=True) for q in queues}
    changed = 0
    for trainer in sorted(trainers):
        if queue_name(trainer) in offered:
            continue
        why = Worker.objects.import_errors_text(trainer)
        reason = (f"{WAITING_PREFIX}no live worker offers trainer {trainer!r}"
                  + (f"; {why}" if why else "; start one on a host that has it (hpopt-web worker)"))
        changed += waiting.filter(study__trainer=trainer).exclude(error=reason).filter(
            Q(error="") | Q(error__startswith=WAITING_PREFIX)
        ).update(error=reason, updated=timezone.now())
    return changed


def _job_is_dead(conn, job_id: str) -> bool:
    """True when the job is gone from Redis (a restart loses it) or ended
    without running its trial to the end (it crashed, was stopped or cancelled)."""
    try:
        return Job.fetch(job_id, connection=conn).get_status() in DEAD_JOB_STATUSES
    except NoSuchJobError:
        return True


def reconcile_jobs() -> int:
    """Queued trials whose job vanished from Redis (a restart without
    persistence loses its queues) or died without taking the trial (e.g. the
    database was down when it started) get their job_id cleared and their
    study's slots filled again."""
    conn = redis_connection()
    fixed = 0
    for pk, study_id, job_id in Trial.objects.filter(state=TrialState.QUEUED.value).exclude(job_id="").values_list(
            "pk", "study_id", "job_id"):
        if _job_is_dead(conn, job_id):
            if Trial.objects.filter(pk=pk, job_id=job_id, state=TrialState.QUEUED.value).update(job_id=""):
                fixed += 1
                fill_slots(study_id)
    return fixed


SWEEPS = (sweep_lost, sweep_silent, reconcile_jobs, explain_waiting)


def interval() -> float:
    return max(1.0, settings.HPOPT_HEARTBEAT_TIMEOUT / 4)


def _my_turn(name: str) -> bool:
    """This round's lock in Redis (it expires by itself); when Redis does
    not answer, sweep anyway: the database sweeps need no Redis."""
    try:
        return bool(redis_connection().set(LOCK_KEY, name, nx=True, px=int(interval() * 900)))
    except Exception:  # noqa: BLE001 - Redis away
        return True


def sweep_once() -> None:
    """Every sweep once; one that fails (Redis or the database away) does not stop the others."""
    for sweep in SWEEPS:
        try:
            close_old_connections()  # drops a connection a blip broke
            sweep()
        except Exception as exc:  # noqa: BLE001 - keep sweeping through database or Redis blips
            log.warning("%s failed: %s", sweep.__name__, exc)


def run(stop: threading.Event) -> None:
    """Sweeps every interval() seconds until ``stop`` is set."""
    name = f"{socket.gethostname()}:{os.getpid()}"
    while not stop.wait(interval()):
        if _my_turn(name):
            sweep_once()
    connection.close()
