"""What every worker process does besides running jobs: announce itself and
its trainers, keep its row fresh, and sweep for lost trials and lost jobs."""
from __future__ import annotations

import logging
import os
import socket
import threading

from django.conf import settings
from django.db import connection
from django.utils import timezone

from hpopt.registry import registered_trainers
from runner.models import Trainer, Worker, WorkerState
from runner.scheduling import queue_name, reconcile_jobs, sweep_lost

log = logging.getLogger("hpopt.runner")


def register_worker(name: str, gpu: str) -> tuple[Worker, list[str]]:
    """Records this host's trainers and this worker; returns its queues."""
    host = socket.gethostname()
    infos = list(registered_trainers().values())
    Trainer.record(infos, host)
    queues = [queue_name(i.name) for i in infos]
    worker, _ = Worker.objects.update_or_create(
        name=name,
        defaults=dict(host=host, pid=os.getpid(), gpu=gpu, queues=queues, state=WorkerState.IDLE,
                      current_trial=None, started=timezone.now(), last_seen=timezone.now()),
    )
    return worker, queues


def mark_idle(name: str) -> None:
    """The worker's row after a job, however the job ended: a horse killed by
    RQ's stop-job command never clears the row itself."""
    Worker.objects.filter(name=name).update(state=WorkerState.IDLE, current_trial=None, last_seen=timezone.now())
    # the next job's work horse is forked from this process: no shared DB socket
    connection.close()


def worker_class():
    """RQ's forking worker, keeping the worker's row honest after each job."""
    from rq import Worker as RQWorker

    class TrialWorker(RQWorker):
        def execute_job(self, job, queue):
            try:
                super().execute_job(job, queue)
            finally:
                name = os.environ.get("HPOPT_WORKER_NAME")
                if name:
                    mark_idle(name)

    return TrialWorker


def sweep_once() -> None:
    sweep_lost()
    reconcile_jobs()


class Monitor(threading.Thread):
    """Daemon thread: refresh the worker's last_seen, sweep lost trials."""

    def __init__(self, worker_name: str):
        super().__init__(daemon=True, name="hpopt-monitor")
        self.worker_name = worker_name
        self.stop = threading.Event()
        self.interval = max(1.0, settings.HPOPT_HEARTBEAT_TIMEOUT / 4)

    def run(self):
        while not self.stop.wait(self.interval):
            try:
                Worker.objects.filter(name=self.worker_name).update(last_seen=timezone.now())
                sweep_once()
            except Exception:  # noqa: BLE001 - keep sweeping through database or Redis blips
                log.exception("monitor sweep failed")
        connection.close()
