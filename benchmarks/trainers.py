"""Trainers the real-run benchmarks register with the dashboard's workers
(HPOPT_TRAINERS=benchmarks.trainers), beside the demo trainer.

``startup``: a trainer whose time is not all epochs, the kind that fools a
time model measured from whole trial durations: a few seconds of start-up
(loading data, building a model) before its first epoch, and uneven
epochs (every fourth one also evaluates and takes 1.5x as long). It sleeps
instead of computing, so eight workers on two cores run at full speed and
the benchmark measures the model, not the machine's load.
"""
from __future__ import annotations

import math
import os
import time

import hpopt

SPACE = {
    "x": {"type": "uniform", "range": [-2.0, 2.0]},
    "lr": {"type": "loguniform", "range": [1e-4, 1e-1]},
}
FULL_DATASET_SIZE = 10_000
NUM_FULL_ITERATIONS = 12
#: seconds (overridable for a quicker run)
STARTUP = float(os.environ.get("HPOPT_BENCH_STARTUP_SECONDS", "2.0"))
EPOCH = float(os.environ.get("HPOPT_BENCH_EPOCH_SECONDS", "0.25"))
NON_PURE_TRAIN_RATIO = 0.2


def score(params: dict, epoch: int) -> float:
    """Rises towards 1 - x^2/4, faster for learning rates near 1e-2."""
    speed = 0.5 * math.exp(-((math.log10(params["lr"]) + 2) ** 2) / 2)
    return (1 - params["x"] ** 2 / 4) * (1 - math.exp(-(0.05 + speed) * epoch))


@hpopt.trainer("startup", description="sleeps: 2 s start-up, uneven epochs (benchmarks)", search_space=SPACE,
               full_dataset_size=FULL_DATASET_SIZE, num_full_iterations=NUM_FULL_ITERATIONS, seconds_per_epoch=EPOCH)
def startup(config: dict) -> None:
    time.sleep(STARTUP)
    # an epoch on a subset: its training part scales with the subset, its evaluation does not
    cost = (1 - NON_PURE_TRAIN_RATIO) * config["subset_ratio"] + NON_PURE_TRAIN_RATIO
    for epoch in range(config.get("resume_iteration", 0) + 1, config["iterations"] + 1):
        time.sleep(EPOCH * cost * (1.5 if epoch % 4 == 0 else 1.0))
        if hpopt.report(config, score(config["params"], epoch), iteration=epoch) == hpopt.Status.STOP:
            break
