"""Trainers for the dashboard tests: fast, deterministic, and each one
misbehaving in a known way. Registered through HPOPT_TRAINERS in test settings."""
import math
import os
import time

import hpopt

SPACE = {
    "x": {"type": "uniform", "range": [-2.0, 2.0]},
    "bs": {"type": "qloguniform", "range": [8, 256, 8, 2]},
    "opt": {"type": "choice", "range": ["sgd", "adam"]},
}


def curve(params, epoch):
    """Rises towards 1 - x^2/4 (best at x = 0); adam learns faster."""
    speed = 0.6 if params.get("opt") == "adam" else 0.3
    return (1 - params["x"] ** 2 / 4) * (1 - math.exp(-speed * epoch))


@hpopt.trainer("quick", description="synthetic curve, no sleeping", search_space=SPACE,
               full_dataset_size=10_000, num_full_iterations=8)
def quick(config):
    start = config.get("resume_iteration", 0)
    for epoch in range(start + 1, config["iterations"] + 1):
        if hpopt.report(config, curve(config["params"], epoch), iteration=epoch) == hpopt.Status.STOP:
            break


@hpopt.trainer("slow", description="synthetic curve, sleeps between epochs (controls tests)", search_space=SPACE,
               full_dataset_size=10_000, num_full_iterations=8)
def slow(config):
    delay = float(os.environ.get("HPOPT_TEST_EPOCH_SECONDS", "0.3"))
    start = config.get("resume_iteration", 0)
    for epoch in range(start + 1, config["iterations"] + 1):
        time.sleep(delay)
        if hpopt.report(config, curve(config["params"], epoch), iteration=epoch) == hpopt.Status.STOP:
            break


class FakeCudaOOM(RuntimeError):
    pass


@hpopt.trainer("oom", description="runs out of 'GPU memory' when bs > 64", search_space=SPACE,
               full_dataset_size=10_000, num_full_iterations=4)
def oom(config):
    if config["params"]["bs"] > 64:
        raise FakeCudaOOM("CUDA out of memory. Tried to allocate 2.00 GiB")
    quick(config)


@hpopt.trainer("crash", description="raises after one report", search_space=SPACE,
               full_dataset_size=10_000, num_full_iterations=4)
def crash(config):
    hpopt.report(config, 0.1)
    raise ValueError("boom: the trainer failed")


@hpopt.trainer("silent", description="returns without reporting", search_space=SPACE,
               full_dataset_size=10_000, num_full_iterations=4)
def silent(config):
    print("training, but never reporting")
