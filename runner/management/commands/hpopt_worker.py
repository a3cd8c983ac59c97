"""One RQ worker for the trainers registered on this host.

Usually started by ``hpopt-web worker --gpus 0,1`` (one per GPU, with
CUDA_VISIBLE_DEVICES set); run it directly for one worker.

It outlives Redis restarts: RQ's own loop retries while it waits for a job,
but gives up when Redis goes away while a job runs. Then this command waits
for the work horse to finish its trial (the trial reports to the database,
not to Redis), waits for Redis to answer, and starts a new RQ worker. Lost
jobs are enqueued again by the sweeps (runner.scheduling.reconcile_jobs).
"""
import os
import signal
import socket
import threading

from django.core.management.base import BaseCommand
from django.db import connections

#: seconds between attempts to reach Redis again
REDIS_RETRY_SECONDS = 1.0


class Command(BaseCommand):
    help = "Runs one trial worker (an RQ worker listening to this host's trainers)."

    def add_arguments(self, parser):
        parser.add_argument("--name", default="", help="worker name (default host:gpu:pid)")
        parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")

    def handle(self, *args, **opts):
        import django_rq

        from runner.apps import IMPORT_ERRORS
        from runner.models import Worker, WorkerState
        from runner.monitor import Monitor, register_worker

        gpu = os.environ.get("CUDA_VISIBLE_DEVICES", "")
        name = opts["name"] or f"{socket.gethostname()}:{gpu or 'cpu'}:{os.getpid()}"
        os.environ["HPOPT_WORKER_NAME"] = name
        for module, error in IMPORT_ERRORS.items():
            self.stderr.write(f"worker {name}: trainer module {module} failed to import: {error}")
        worker, queues = register_worker(name, gpu)
        if not queues:
            Worker.objects.filter(pk=worker.pk).update(state=WorkerState.STOPPED)
            self.stderr.write("no trainers registered here: set HPOPT_TRAINERS to modules with @hpopt.trainer")
            return
        monitor = Monitor(name)
        monitor.start()
        # the work-horse is forked per job: it must not share the parent's DB sockets
        connections.close_all()
        conn = django_rq.get_connection("default")
        self.stdout.write(f"worker {name} listening on {', '.join(queues)}")
        try:
            while not self._work_once(name, queues, conn, opts["burst"]):
                self.stderr.write(f"worker {name}: RQ stopped without being asked (Redis went away?); "
                                  "waiting for Redis to start again")
                if not self._wait_for_redis(conn):
                    break
                self.stdout.write(f"worker {name} listening on {', '.join(queues)} again")
        finally:
            monitor.stop.set()
            Worker.objects.filter(pk=worker.pk).update(state=WorkerState.STOPPED, current_trial=None)

    def _work_once(self, name, queues, conn, burst) -> bool:
        """Runs an RQ worker until it returns; True when that was meant (a
        signal, or an empty queue in burst mode), False when RQ gave up."""
        from rq import Queue

        from runner.monitor import worker_class

        rq_worker = worker_class()([Queue(q, connection=conn) for q in queues], connection=conn,
                                   name=name.replace(":", "-"))
        try:
            rq_worker.work(burst=burst, with_scheduler=False, logging_level="WARNING")
        except Exception as exc:  # noqa: BLE001 - RQ's teardown raises when Redis is gone
            self.stderr.write(f"worker {name}: {type(exc).__name__}: {exc}")
        finally:
            self._wait_for_horse(rq_worker)
        return burst or rq_worker.stop_asked

    def _wait_for_horse(self, rq_worker) -> None:
        """A work horse left running when RQ gave up finishes its trial first:
        a second trial must not start on this worker's GPU meanwhile.
        SIGINT/SIGTERM meanwhile take the horse down (as RQ's cold shutdown)."""
        pid = rq_worker.horse_pid
        if not pid:
            return

        def take_down(*_):
            rq_worker.stop_asked = True
            try:
                os.killpg(os.getpgid(pid), signal.SIGKILL)
            except OSError:
                pass

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, take_down)
        while True:
            try:
                os.waitpid(pid, 0)
                return
            except ChildProcessError:
                return
            except InterruptedError:
                continue

    def _wait_for_redis(self, conn) -> bool:
        """Blocks until Redis answers; False when SIGINT/SIGTERM came first."""
        import redis

        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        while not stop.is_set():
            try:
                conn.ping()
                return True
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
                stop.wait(REDIS_RETRY_SECONDS)
        return False
