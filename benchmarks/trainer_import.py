"""Trainer import per trial (runner.loading).

A worker no longer imports trainer modules (one that made a CUDA context at
import broke every trial forked from it): each trial's process, forked from
the worker, imports the module of its own trainer. This measures what that
costs a trial: seconds from the fork to the trainer being ready, in a child
of a process set up like a worker (Django ready, no trainer module): with
nothing else imported ("cold"), with the packages its trainers declare in
``requires`` imported by the worker (runner.loading.preload: what a worker
does now), and, as the peer, a child of a parent that had imported the
module itself (the old way). All in the same process, medians over
``--runs`` forks each. The modules are those of HPOPT_TRAINERS.

    python -m benchmarks.trainer_import [--runs 15]
"""
from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import time

from benchmarks.common import fmt, table


def _fork_and_time(module: str) -> float:
    """Seconds from a fork until ``module`` is imported in the child."""
    read, write = os.pipe()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        importlib.import_module(module)
        os.write(write, repr(time.perf_counter() - start).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as f:
        seconds = float(f.read())
    os.waitpid(pid, 0)
    return seconds


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hpopt_web.test_settings")
    sys.argv = ["manage.py", "hpopt_worker"]  # set up as a worker: runner.apps imports no trainer module
    import django

    django.setup()
    from django.conf import settings

    from runner.loading import preload, probe

    offers, _ = probe()
    modules = list(settings.HPOPT_TRAINERS)
    cold = {m: statistics.median(_fork_and_time(m) for _ in range(args.runs)) for m in modules}
    preload(offers)
    now = {m: statistics.median(_fork_and_time(m) for _ in range(args.runs)) for m in modules}
    for m in modules:
        importlib.import_module(m)   # the peer: the parent has it, as the old worker did
    before = {m: statistics.median(_fork_and_time(m) for _ in range(args.runs)) for m in modules}
    requires = {m: sorted({p for o in offers if o.module == m for p in o.requires}) for m in modules}
    rows = [[m, ", ".join(requires[m]) or "-", fmt(cold[m] * 1000, 3), fmt(now[m] * 1000, 3),
             fmt(before[m] * 1000, 3), fmt(now[m] / before[m], 2)] for m in modules]
    print(table(["module", "requires", "ms cold", "ms requires preloaded (now)", "ms inherited (before)",
                 "now / before"], rows))


if __name__ == "__main__":
    main()
