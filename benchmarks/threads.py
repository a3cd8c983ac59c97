"""Part 8: threads per trial (runner.threads).

The demo trainer's epochs (examples.digits: a scikit-learn MLP, numpy's
OpenBLAS underneath) in 1 and in ``cpu_count`` processes at once, each
process with OpenBLAS's own thread count (one per core) or with the
share runner.threads gives a trial (the cores over the processes).
Reported: the median epoch time per config, and its ratio to one process
alone with its own threads.

    python -m benchmarks.threads [--quick]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import time
import warnings

from benchmarks.common import fmt, table

#: (hidden units, batch size): a small, a middle and a large config of the demo's space
CONFIGS = ((16, 64), (64, 16), (256, 16), (256, 64))
EPOCHS, QUICK_EPOCHS = 8, 3


def _epochs(args) -> list[float]:
    """Median seconds per epoch of each config, in this process, with ``threads`` BLAS threads (None: its own)."""
    threads, epochs, start_at = args
    import numpy as np
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    from examples.digits import load_data

    if threads:
        threadpool_limits(threads)
    x_train, x_val, y_train, y_val = load_data()
    while time.time() < start_at:   # every process starts its epochs together
        time.sleep(0.001)
    out = []
    for hidden, bs in CONFIGS:
        model = MLPClassifier(hidden_layer_sizes=(hidden,), batch_size=bs, random_state=0)
        times = []
        for _ in range(epochs):
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.partial_fit(x_train, y_train, classes=np.arange(10))
            model.score(x_val, y_val)
            times.append(time.perf_counter() - t)
        out.append(statistics.median(times))
    return out


def _together(processes: int, threads: int | None, epochs: int) -> list[float]:
    """Per config, the median over the processes of their median epoch time."""
    from runner.threads import VARIABLES

    saved = dict(os.environ)
    # each library's own default in the children (benchmarks/__init__ would set 1)
    for v in VARIABLES:
        os.environ.pop(v, None)
    os.environ["HPOPT_BENCH_OWN_THREADS"] = "1"
    try:
        start_at = time.time() + 3.0
        with multiprocessing.get_context("spawn").Pool(processes) as pool:
            per_process = pool.map(_epochs, [(threads, epochs, start_at)] * processes, chunksize=1)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return [statistics.median(p[i] for p in per_process) for i in range(len(CONFIGS))]


def run(quick: bool = False) -> dict:
    from runner.threads import share

    cpus = os.cpu_count() or 1
    epochs = QUICK_EPOCHS if quick else EPOCHS
    many = max(2, cpus)
    runs = {"alone": _together(1, None, epochs), "together, own threads": _together(many, None, epochs),
            "together, runner.threads' share": _together(many, share(cpus, many), epochs)}
    return {"cpus": cpus, "processes": many, "configs": [list(c) for c in CONFIGS], "runs": runs}


def markdown(res: dict) -> str:
    alone = res["runs"]["alone"]
    rows = [[name, *(f"{1000 * s:.1f} ms ({fmt(s / a, 2)}x)" for s, a in zip(times, alone))]
            for name, times in res["runs"].items()]
    head = (f"{res['processes']} processes at once on {res['cpus']} cores; median epoch time of the demo "
            f"trainer per config (hidden units / batch size), and its ratio to one process alone.")
    return head + "\n\n" + table(["run", *(f"{h} / {b}" for h, b in res["configs"])], rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    res = run(ap.parse_args().quick)
    print(markdown(res))
    print(json.dumps(res))


if __name__ == "__main__":
    main()
