"""The sweeper loop (runner.sweeper): started by ``hpopt-web demo``,
``serve`` and ``worker``; ``--once`` runs one round and exits."""
import signal
import threading

from django.core.management.base import BaseCommand

from runner import sweeper


class Command(BaseCommand):
    help = "Sweeps for lost trials, hanging trainers and lost jobs, every HPOPT_HEARTBEAT_TIMEOUT / 4 s."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one round, then exit")

    def handle(self, *args, **opts):
        if opts["once"]:
            sweeper.sweep_once()
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write("sweeper running")
        self.stdout.flush()
        sweeper.run(stop)
