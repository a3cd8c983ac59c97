"""One RQ worker for the trainers registered on this host.

Usually started by ``hpopt-web worker --gpus 0,1`` (one per GPU, with
CUDA_VISIBLE_DEVICES set); run it directly for one worker.
"""
import os
import socket

from django.core.management.base import BaseCommand
from django.db import connections


class Command(BaseCommand):
    help = "Runs one trial worker (an RQ worker listening to this host's trainers)."

    def add_arguments(self, parser):
        parser.add_argument("--name", default="", help="worker name (default host:gpu:pid)")
        parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")

    def handle(self, *args, **opts):
        import django_rq
        from rq import Queue

        from runner.models import Worker, WorkerState
        from runner.monitor import Monitor, register_worker, worker_class

        gpu = os.environ.get("CUDA_VISIBLE_DEVICES", "")
        name = opts["name"] or f"{socket.gethostname()}:{gpu or 'cpu'}:{os.getpid()}"
        os.environ["HPOPT_WORKER_NAME"] = name
        worker, queues = register_worker(name, gpu)
        if not queues:
            self.stderr.write("no trainers registered here: set HPOPT_TRAINERS to modules with @hpopt.trainer")
            return
        monitor = Monitor(name)
        monitor.start()
        # the work-horse is forked per job: it must not share the parent's DB sockets
        connections.close_all()
        conn = django_rq.get_connection("default")
        rq_worker = worker_class()([Queue(q, connection=conn) for q in queues], connection=conn, name=name.replace(":", "-"))
        self.stdout.write(f"worker {name} listening on {', '.join(queues)}")
        try:
            rq_worker.work(burst=opts["burst"], with_scheduler=False, logging_level="WARNING")
        finally:
            monitor.stop.set()
            Worker.objects.filter(pk=worker.pk).update(state=WorkerState.STOPPED, current_trial=None)
