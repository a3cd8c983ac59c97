"""One trial worker for the trainers registered on this host (in the shape
of django-rq's ``rqworker``: parse, build the worker, close the database
connections before it forks, work). Usually started by ``hpopt-web worker
--gpus 0,1`` (one per GPU, with CUDA_VISIBLE_DEVICES set)."""
import os
import socket

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from runner.apps import IMPORT_ERRORS
from runner.worker import TrialWorker, name_taken, register, stopped


class Command(BaseCommand):
    help = "Runs one trial worker (an RQ worker listening to this host's trainers)."

    def add_arguments(self, parser):
        parser.add_argument("--name", default="", help="worker name (default host:gpu:pid)")
        parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")

    def handle(self, *args, **opts):
        gpu = os.environ.get("CUDA_VISIBLE_DEVICES", "")
        name = opts["name"] or f"{socket.gethostname()}:{gpu or 'cpu'}:{os.getpid()}"
        taken = name_taken(name)
        if taken:   # before its row is touched: that row is the live worker's
            raise CommandError(taken)
        os.environ["HPOPT_WORKER_NAME"] = name
        for module, error in IMPORT_ERRORS.items():
            self.stderr.write(f"worker {name}: trainer module {module} failed to import: {error}")
        queues = register(name, gpu)
        if not queues:
            stopped(name)
            raise CommandError("no trainers registered here: set HPOPT_TRAINERS to modules with @hpopt.trainer")
        worker = TrialWorker.for_queues(name, queues)
        connections.close_all()  # the work horse is forked per job: no shared database sockets
        self.stdout.write(f"worker {name} listening on {', '.join(queues)}")
        self.stdout.flush()
        try:
            worker.work_until_stopped(opts["burst"])
        finally:
            stopped(name)
