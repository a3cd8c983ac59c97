"""How many trials of a trainer the live workers run side by side at full speed.

A study's ``parallelism`` is its number of slots, not its speed: eight
workers on a two-core host run eight CPU-bound trials at once, each about a
quarter as fast (benchmarks/RESULTS.md, part 7b: a demo study planned for 8
workers took 4.6x its preview). Auto Config plans wall time as compute over
its workers, so the New-study form plans with the *effective* parallelism,
min(parallelism, capacity):

* a worker with a GPU counts one (unless the trainer is declared
  ``device="cpu"``);
* the CPU workers of one host together count at most the host's cores
  (``Worker.cpus``, recorded at start) over the share of a core one trial
  wants: its attempts' busy seconds (on a core or waiting for one) over
  their wall time (``Attempt.busy_seconds``, written at each attempt's end), at most one (a
  trial's threads are limited to its share of the cores: runner.threads),
  and one until an attempt of the trainer was measured. A trainer that
  mostly waits (on a GPU, on I/O, or sleeps) thus keeps all its workers.
"""
from __future__ import annotations

import glob
import math
import os
import resource
from collections import defaultdict

from django.conf import settings

from runner.models import Trainer, Worker
from studies.models import Attempt

#: the latest attempts a trainer's share of a core is measured over
SAMPLE = 200
#: a trial is taken to keep at least this share of a core busy
MIN_SHARE = 0.05


def cpus() -> int:
    """The cores this process may use (its affinity, where the system has one)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:   # not on Linux
        return os.cpu_count() or 1


def busy_seconds() -> float:
    """Seconds this process's threads ran on a core or waited in the run
    queue for one (Linux's schedstat): what a trial wanted of the cores,
    which a busy host does not hide (CPU seconds alone would: a CPU-bound
    trial on a host shared with others gets less than a core). Elsewhere its
    CPU seconds. In a trial's work horse, forked per job: the trial's own."""
    total, found = 0, False
    for path in glob.glob("/proc/self/task/*/schedstat"):
        try:
            with open(path) as f:
                ran, waited = f.read().split()[:2]
        except (OSError, ValueError):   # a thread that ended meanwhile
            continue
        total += int(ran) + int(waited)
        found = True
    if found:
        return total / 1e9
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def core_share(trainer: str) -> float:
    """The share of a core a trial of ``trainer`` wants (see the module
    doc), between MIN_SHARE and 1; 1 when none of its attempts was measured."""
    rows = Attempt.objects.filter(trial__study__trainer=trainer, busy_seconds__isnull=False,
                                  ended__isnull=False).order_by("-started").values_list(
        "busy_seconds", "started", "ended")[:SAMPLE]
    cpu = wall = 0.0
    for used, started, ended in rows:
        cpu += used
        wall += max((ended - started).total_seconds(), 0.0)
    if wall <= 0:
        return 1.0
    return min(1.0, max(MIN_SHARE, cpu / wall))


def of_trainer(trainer: str, queue: str) -> int | None:
    """The rule above for the live workers that offer ``trainer`` (they serve
    ``queue``, runner.dispatch.queue_name); None when none does (nothing is
    known: the form plans with its parallelism)."""
    device = Trainer.objects.filter(name=trainer).values_list("device", flat=True).first()
    workers = [w for w in Worker.objects.alive(settings.HPOPT_HEARTBEAT_TIMEOUT) if queue in w.queues]
    if device is None or not workers:
        return None
    total = 0
    by_host: dict[str, list[Worker]] = defaultdict(list)
    for w in workers:
        if w.gpu and device != "cpu":
            total += 1
        else:
            by_host[w.host].append(w)
    share = core_share(trainer) if by_host else 1.0
    for host_workers in by_host.values():
        cores = max(w.cpus for w in host_workers)
        fit = max(1, math.floor(cores / share + 1e-9)) if cores else len(host_workers)
        total += min(len(host_workers), fit)
    return total
