"""The trial worker: RQ's forking worker on this host's trainer queues, with
what a worker needs beyond RQ:

* its row in the database (``runner.models.Worker``): recorded at start with
  the trainers it offers, refreshed at each of RQ's heartbeats, marked idle
  after each job however the job ended;
* it outlives Redis going away: RQ quits when Redis vanishes while a job
  runs, so heartbeats that cannot reach Redis are logged and the work horse
  runs on (its trial reports to the database, not to Redis); when RQ gives
  up all the same, ``work_until_stopped`` waits for Redis and listens again.
  The jobs Redis lost are enqueued again by the sweeper;
* a name left registered in Redis by a worker of this host that died
  (SIGKILL) is taken over instead of refused;
* when it was free for each job (runner.occupancy), which its trial's
  time model starts from;
* each trial's share of the host's CPU threads (runner.threads);
* its trainer queues served round robin (one busy trainer cannot starve
  another's studies), and only the trainers it can run (``why_not_offered``:
  packages, GPU or CPU), learnt without importing trainer code
  (runner.loading).
"""
from __future__ import annotations

import os
import signal
import socket
import threading
import time

import redis
from django.conf import settings
from django.db import connections
from django.utils import timezone
from rq import Queue
from rq import Worker as RQWorker
from rq.worker.base import DequeueStrategy, StopRequested

from hpopt.registry import Device
from runner import capacity, occupancy, threads
from runner import gpus as gpu_info
from runner.dispatch import connection as redis_connection
from runner.dispatch import queue_name
from runner.gpus import Gpu
from runner.loading import Offer
from runner.models import Trainer, Worker, WorkerState

REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
#: seconds between attempts to reach Redis again
REDIS_RETRY_SECONDS = 1.0


def why_not_offered(offer: Offer, has_gpu: bool, gpu_trainers_on_cpu: bool) -> str:
    """Why a worker with (or without) GPUs does not offer a trainer; "" when it does."""
    if offer.missing:
        return f"needs {', '.join(offer.missing)}, not installed here"
    if offer.device == Device.GPU and not has_gpu and not gpu_trainers_on_cpu:
        return "needs a GPU and this worker has none (start one with --gpus, or allow --allow-gpu-trainers-on-cpu)"
    if offer.device == Device.CPU and has_gpu:
        return "runs on the CPU only and this worker owns GPUs (CPU workers run it: --gpus none)"
    return ""


def register(name: str, offers: list[Offer], errors: dict[str, str], gpus: list[str], found: list[Gpu],
             gpu_trainers_on_cpu: bool = False) -> tuple[list[str], dict[str, str]]:
    """Records the trainers this worker offers, and the worker (with its
    devices, the trainer modules that failed to import here and the trainers
    it does not offer, with why); returns its queues and those trainers
    ({name: why})."""
    host = socket.gethostname()
    skipped = {o.name: why for o in offers if (why := why_not_offered(o, bool(gpus), gpu_trainers_on_cpu))}
    offered = [o for o in offers if o.name not in skipped]
    Trainer.record(offered, host)
    queues = [queue_name(o.name) for o in offered]
    by_id = {g.index: g for g in found}
    Worker.objects.update_or_create(
        name=name,
        defaults=dict(host=host, pid=os.getpid(), gpu=",".join(gpus), device=gpu_info.describe(gpus, found),
                      devices=[by_id[g].to_dict() for g in gpus if g in by_id], queues=queues, cpus=capacity.cpus(),
                      state=WorkerState.IDLE, import_errors=dict(errors), skipped=skipped, current_trial=None,
                      started=timezone.now(), last_seen=timezone.now()),
    )
    return queues, skipped


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _holder(conn, key: str) -> tuple[str, str, bool] | None:
    """Who holds a worker name in Redis: (host, pid, dead here: a process of
    this host that no longer runs, whose name may be taken over), or None."""
    info = conn.hgetall(key)
    if not info or b"death" in info:
        return None
    host, pid = (info.get(k, b"").decode() for k in (b"hostname", b"pid"))
    dead = host == socket.gethostname() and pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid))
    return host, pid, dead


def name_taken(name: str) -> str | None:
    """Why a new worker cannot use ``name``: a live worker holds it (RQ would
    refuse it); None when it is free or held by a dead process of this host."""
    rq_name = name.replace(":", "-")
    holder = _holder(redis_connection(), RQWorker.redis_worker_namespace_prefix + rq_name)
    if holder is None or holder[2]:
        return None
    return (f"a live worker named {name!r} is registered (pid {holder[1]} on {holder[0]}): "
            "start this one with another --name")


class TrialWorker(RQWorker):
    @classmethod
    def for_queues(cls, name: str, queues: list[str]) -> "TrialWorker":
        conn = redis_connection()
        occupancy.CURRENT = occupancy.Occupancy()
        interval = max(1, int(settings.HPOPT_HEARTBEAT_TIMEOUT / 4))
        # RQ waits for a job up to worker_ttl - 15 s, and heartbeats once per
        # wait: the row's refresh (and a stop) comes at least every interval
        return cls([Queue(q, connection=conn) for q in queues], connection=conn, name=name.replace(":", "-"),
                   worker_ttl=interval + 15, job_monitoring_interval=interval)

    @property
    def row_name(self) -> str:
        return os.environ.get("HPOPT_WORKER_NAME", "")

    def _touch_row(self, **fields) -> None:
        try:
            Worker.objects.filter(name=self.row_name).update(last_seen=timezone.now(), **fields)
        except Exception as exc:  # noqa: BLE001 - a database blip must not end the worker
            self.log.warning("worker %s: could not refresh its row: %s", self.row_name, exc)

    def heartbeat(self, timeout=None, pipeline=None):
        try:
            super().heartbeat(timeout, pipeline)
        except REDIS_ERRORS as exc:
            self.log.warning("worker %s: Redis heartbeat failed (%s); the trial goes on", self.name, exc)
        if pipeline is None:
            self._touch_row()

    def maintain_heartbeats(self, job, execution):
        try:
            super().maintain_heartbeats(job, execution)
        except REDIS_ERRORS as exc:
            self.log.warning("worker %s: Redis away while job %s runs (%s); the trial goes on", self.name, job.id, exc)
        self._touch_row()

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        asked = time.time()
        try:
            return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
        finally:
            occupancy.CURRENT.dequeued(asked, time.time())

    def execute_job(self, job, queue):
        occupancy.CURRENT.before_job()
        try:
            self._trial_threads = threads.for_next_trial()
        except Exception as exc:  # noqa: BLE001 - a database blip must not end the worker
            self.log.warning("worker %s: could not count this host's workers: %s", self.row_name, exc)
            self._trial_threads = None
        try:
            super().execute_job(job, queue)
        finally:
            # a horse killed by RQ's stop-job command never clears the row itself
            self._touch_row(state=WorkerState.IDLE, current_trial=None)

    def fork_work_horse(self, job, queue):
        # The horse must not inherit this process's database socket (opened by
        # the threads count above or a heartbeat's row refresh): the trial's
        # queries and this process's heartbeat would share it, and one would
        # read the other's answer (psycopg: "the last operation didn't produce
        # records (command status: UPDATE 1)", seen in CI on PostgreSQL).
        connections.close_all()
        super().fork_work_horse(job, queue)

    def main_work_horse(self, job, queue):
        # in the trial's own (forked) process, before the trial starts
        if getattr(self, "_trial_threads", None):
            threads.apply(self._trial_threads)
        super().main_work_horse(job, queue)

    def register_birth(self):
        """Takes over the name from a dead worker of this host (killed before
        it could unregister), which RQ would refuse until its key expires."""
        holder = _holder(self.connection, self.key)
        if holder and holder[2]:
            self.log.warning("worker %s: taking over the name from dead process %s", self.name, holder[1])
            self.connection.delete(self.key)
        super().register_birth()

    def work_until_stopped(self, burst: bool = False) -> None:
        """RQ's work loop, started again (once Redis answers) whenever RQ gives
        up on its own; returns on SIGINT/SIGTERM, or when a burst is done."""
        while True:
            try:
                # round robin: after a job of one trainer's queue the next
                # queue is asked first, so one busy trainer cannot starve the others
                self.work(burst=burst, with_scheduler=False, logging_level="WARNING",
                          dequeue_strategy=DequeueStrategy.ROUND_ROBIN)
            except REDIS_ERRORS as exc:  # RQ's teardown raises when Redis is gone
                self.log.warning("worker %s: %s", self.name, exc)
            if burst or self._stop_requested or not self._wait_for_redis():
                return
            self.log.warning("worker %s: listening again", self.name)

    def _wait_for_redis(self) -> bool:
        """Blocks until Redis answers; False when SIGINT/SIGTERM came first."""
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        self.log.warning("worker %s: RQ stopped without being asked (Redis went away?); waiting for Redis", self.name)
        while not stop.is_set():
            try:
                self.connection.ping()
                return True
            except REDIS_ERRORS + (OSError,):
                stop.wait(REDIS_RETRY_SECONDS)
        return False

    def _shutdown(self):
        # RQ asks Redis whether a job runs; with Redis away that would raise
        # in the signal handler: the horse tells it without Redis
        self._stop_requested = True
        if not self.horse_pid:
            raise StopRequested()


def stopped(name: str) -> None:
    Worker.objects.filter(name=name).update(state=WorkerState.STOPPED, current_trial=None)
