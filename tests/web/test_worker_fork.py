"""A trial's work horse opens its own database connection: it never inherits
the worker's socket, on which the worker's heartbeat would talk at the same
time (one process then reads the other's answer)."""
import os

import pytest
from django.db import connection
from rq import Queue
from rq.job import Job

from runner import occupancy
from runner.dispatch import connection as redis_connection
from runner.models import Worker
from runner.worker import TrialWorker

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_work_horse_is_forked_without_the_worker_s_database_connection(monkeypatch):
    monkeypatch.setattr(occupancy, "CURRENT", None)   # for_queues sets this process's clock: put back after
    worker = TrialWorker.for_queues("fork-test", ["hpopt-fork-test"])
    read, write = os.pipe()

    def horse(job, queue):   # in the forked process, instead of the trial: what it inherited
        os.write(write, b"clean" if connection.connection is None else b"inherited")
        os._exit(0)

    worker.main_work_horse = horse
    Worker.objects.count()   # the worker's own connection is open, as after a heartbeat's row refresh
    assert connection.connection is not None
    job = Job.create(print, connection=redis_connection())

    worker.fork_work_horse(job, Queue("hpopt-fork-test", connection=redis_connection()))
    os.waitpid(worker._horse_pid, 0)

    assert os.read(read, 16) == b"clean"
