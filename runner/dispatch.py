"""The runner's dispatcher (studies.dispatch): one RQ queue per trainer, on
django-rq's connection, enqueued in django-rq's commit mode (settings.RQ:
``on_db_commit``, so a job never reads a row that is not committed yet).
Registered when Django starts (runner.apps)."""
from __future__ import annotations

import functools
import logging

import django_rq
import redis
from django_rq.queues import DjangoRQ
from rq import Queue
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus

from runner import capacity
from runner.models import Trainer, Worker

log = logging.getLogger("hpopt.runner")
QUEUE_PREFIX = "hpopt-"


def queue_name(trainer: str) -> str:
    """One queue per trainer: a worker listens only to the trainers it has."""
    return QUEUE_PREFIX + trainer


def connection():
    return django_rq.get_connection("default")


class TrialQueue(DjangoRQ):
    """A trainer's queue. An enqueue that finds Redis away is logged, not
    raised: it may run after the commit, where nothing could handle it, and
    the sweeper enqueues a queued trial whose job is missing again
    (runner.sweeper.reconcile_jobs)."""

    def original_enqueue_call(self, *args, **kwargs):
        # RQ's own enqueue: DjangoRQ's looks the queue's result TTL up in
        # RQ_QUEUES, which holds no per-trainer queues (the job sets its TTLs)
        try:
            return Queue.enqueue_call(self, *args, **kwargs)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
            log.exception("could not enqueue %s; the sweeper will enqueue it again", kwargs.get("job_id"))
            return None


@functools.cache
def _enqueue_connection():
    """One Redis client (and so one connection pool) per process for the
    enqueues: a client per job opened three new connections for each, most
    of the time a study's start took (benchmarks/RESULTS.md, issue 13.4).
    redis-py's pool starts afresh in a forked process and replaces a
    connection the server closed."""
    return connection()


def get_queue(trainer: str) -> TrialQueue:
    """Queues are made per trainer on the fly, so they are django-rq queues
    on its "default" connection rather than entries of RQ_QUEUES."""
    return TrialQueue(queue_name(trainer), connection=_enqueue_connection(), default_timeout=-1)


class RQDispatcher:
    def enqueue(self, trainer: str, trial_pk: int, job_id: str) -> None:
        get_queue(trainer).enqueue("runner.jobs.run_trial", trial_pk, job_id, job_id=job_id,
                                   result_ttl=600, failure_ttl=86400)

    def stop(self, job_id: str) -> None:
        """RQ's stop-job command for a running job; a waiting one is cancelled."""
        conn = connection()
        try:
            job = Job.fetch(job_id, connection=conn)
            if job.get_status() == JobStatus.STARTED:
                send_stop_job_command(conn, job_id)
            else:
                job.cancel()
        except (NoSuchJobError, InvalidJobOperation):
            pass
        except Exception:  # noqa: BLE001 - Redis down: the job will see the kill at its next report
            log.exception("could not stop job %s", job_id)

    def trainers(self) -> set[str]:
        return set(Trainer.objects.values_list("name", flat=True))

    def why_missing(self) -> str:
        return Worker.objects.import_errors_text()

    def capacity(self, trainer: str) -> int | None:
        return capacity.of_trainer(trainer, queue_name(trainer))
