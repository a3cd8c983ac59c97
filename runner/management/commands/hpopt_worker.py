"""One trial worker for the trainers registered on this host (in the shape
of django-rq's ``rqworker``: parse, build the worker, close the database
connections before it forks, work). Usually started by ``hpopt-web worker
--gpus 0,1`` (one per GPU group, with CUDA_VISIBLE_DEVICES set).

It checks its GPUs first (runner.gpus): a GPU id this host does not have
stops it with one line, unless --allow-missing-gpus."""
import os
import socket

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from hpopt.algorithms import load_gp_stack
from runner import gpus as gpu_info
from runner.loading import preload, probe
from runner.worker import TrialWorker, name_taken, register, stopped


class Command(BaseCommand):
    help = "Runs one trial worker (an RQ worker listening to this host's trainers)."

    def add_arguments(self, parser):
        parser.add_argument("--name", default="", help="worker name (default host:gpus:pid)")
        parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
        parser.add_argument("--gpus", default=None,
                            help="the GPU ids this worker owns, e.g. 0 or 0,1 (each trial gets them all), or "
                                 "'none'; default: CUDA_VISIBLE_DEVICES")
        parser.add_argument("--allow-missing-gpus", action="store_true",
                            help="start even when a GPU id is not found on this host (its trials may run on the CPU)")
        parser.add_argument("--allow-gpu-trainers-on-cpu", action="store_true",
                            help="a worker without GPUs also offers trainers declared device='gpu'")

    def handle(self, *args, **opts):
        text = opts["gpus"] if opts["gpus"] is not None else os.environ.get("CUDA_VISIBLE_DEVICES", "")
        try:
            gpus = gpu_info.parse_ids(text)
        except ValueError as exc:
            where = "" if opts["gpus"] is not None else f"CUDA_VISIBLE_DEVICES={text!r} (read as --gpus): "
            raise CommandError(where + str(exc)) from None
        found, source = gpu_info.detect() if gpus else ([], "none")
        missing = gpu_info.check(gpus, found, source)
        if missing and not opts["allow_missing_gpus"]:
            raise CommandError(missing)
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(gpus)  # before any trainer code runs (runner.loading)
        name = opts["name"] or f"{socket.gethostname()}:{'+'.join(gpus) or 'cpu'}:{os.getpid()}"
        taken = name_taken(name)
        if taken:   # before its row is touched: that row is the live worker's
            raise CommandError(taken)
        os.environ["HPOPT_WORKER_NAME"] = name
        if missing:
            self.stderr.write(f"worker {name}: warning: {missing.split('; pass')[0]}; running as asked")
        offers, errors = probe()
        for module, error in errors.items():
            self.stderr.write(f"worker {name}: trainer module {module} failed to import: {error}")
        queues, skipped = register(name, offers, errors, gpus, found, opts["allow_gpu_trainers_on_cpu"])
        for trainer, why in skipped.items():
            self.stderr.write(f"worker {name}: not offering trainer {trainer!r}: {why}")
        if not queues:
            stopped(name)
            raise CommandError("no trainers this worker can run: set HPOPT_TRAINERS to modules with "
                               "@hpopt.trainer (see the lines above for the ones it left out)")
        for package, error in preload([o for o in offers if o.name not in skipped]).items():
            self.stderr.write(f"worker {name}: package {package} failed to import: {error}")
        # each trial's process hands out the study's next trial: the GP stack is imported once, here
        load_gp_stack()
        os.environ["HPOPT_WORKER_DEVICE"] = gpu_info.describe(gpus, found)
        worker = TrialWorker.for_queues(name, queues)
        connections.close_all()  # the work horse is forked per job: no shared database sockets
        self.stdout.write(f"worker {name} on {os.environ['HPOPT_WORKER_DEVICE']} listening on {', '.join(queues)}")
        self.stdout.flush()
        try:
            worker.work_until_stopped(opts["burst"])
        finally:
            stopped(name)
