"""What every worker process does besides running jobs: announce itself and
its trainers, keep its row fresh, and sweep for lost trials and lost jobs."""
from __future__ import annotations

import logging
import os
import socket
import threading

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from hpopt.registry import registered_trainers
from runner.apps import IMPORT_ERRORS
from runner.models import Trainer, Worker, WorkerState
from runner.scheduling import explain_waiting, queue_name, reconcile_jobs, sweep_lost, sweep_silent

log = logging.getLogger("hpopt.runner")


def register_worker(name: str, gpu: str) -> tuple[Worker, list[str]]:
    """Records this host's trainers and this worker (with the trainer
    modules that failed to import here); returns its queues."""
    host = socket.gethostname()
    infos = list(registered_trainers().values())
    Trainer.record(infos, host)
    queues = [queue_name(i.name) for i in infos]
    worker, _ = Worker.objects.update_or_create(
        name=name,
        defaults=dict(host=host, pid=os.getpid(), gpu=gpu, queues=queues, state=WorkerState.IDLE,
                      import_errors=dict(IMPORT_ERRORS), current_trial=None, started=timezone.now(),
                      last_seen=timezone.now()),
    )
    return worker, queues


def mark_idle(name: str) -> None:
    """The worker's row after a job, however the job ended: a horse killed by
    RQ's stop-job command never clears the row itself."""
    try:
        Worker.objects.filter(name=name).update(state=WorkerState.IDLE, current_trial=None, last_seen=timezone.now())
    except Exception as exc:  # noqa: BLE001 - a database blip must not end the worker; the monitor refreshes the row
        log.warning("could not mark worker %s idle: %s", name, exc)
    finally:
        # the next job's work horse is forked from this process: no shared DB socket
        connection.close()


def worker_class():
    """RQ's forking worker, keeping the worker's row honest after each job."""
    from rq import Worker as RQWorker

    class TrialWorker(RQWorker):
        #: True once SIGINT/SIGTERM asked this worker to stop; when work()
        #: returns without it, RQ gave up on its own (Redis went away mid-job)
        stop_asked = False

        def request_stop(self, signum, frame):
            self.stop_asked = True
            super().request_stop(signum, frame)

        def execute_job(self, job, queue):
            try:
                super().execute_job(job, queue)
            finally:
                name = os.environ.get("HPOPT_WORKER_NAME")
                if name:
                    mark_idle(name)

    return TrialWorker


SWEEPS = (sweep_lost, sweep_silent, reconcile_jobs, explain_waiting)


def sweep_once() -> None:
    """Every sweep once; one that fails (Redis or the database away) does not stop the others."""
    for sweep in SWEEPS:
        try:
            sweep()
        except Exception as exc:  # noqa: BLE001 - keep sweeping through database or Redis blips
            log.warning("%s failed: %s", sweep.__name__, exc)


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
                close_old_connections()  # drops this thread's connection if a blip broke it
                Worker.objects.filter(name=self.worker_name).update(last_seen=timezone.now())
            except Exception as exc:  # noqa: BLE001 - keep sweeping through database or Redis blips
                log.warning("worker %s: could not refresh its row: %s", self.worker_name, exc)
            sweep_once()
        connection.close()
