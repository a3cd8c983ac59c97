"""Trainers for the dashboard tests: fast, deterministic, and each one
misbehaving in a known way. Registered through HPOPT_TRAINERS in test settings."""
import math
import os
import time

import numpy  # noqa: F401 - loaded with the trainers, as a real trainer module does (runner.threads tests)

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
        print(f"slow trainer: epoch {epoch}", flush=True)
        if hpopt.report(config, curve(config["params"], epoch), iteration=epoch) == hpopt.Status.STOP:
            break



@hpopt.trainer("checkpointed", description="saves a checkpoint per epoch, says which host's it resumed from",
               search_space=SPACE, full_dataset_size=10_000, num_full_iterations=8)
def checkpointed(config):
    """Each epoch's checkpoint holds the epoch and the host (HPOPT_TEST_HOST)
    that wrote it; a resumed run prints the one it continues from."""
    from hpopt import checkpoints

    host = os.environ.get("HPOPT_TEST_HOST", "?")
    start = 0
    path = checkpoints.resume_from(config)
    if path is not None:
        with open(path) as f:
            start, written_by = f.read().split()
        start = int(start)
        print(f"resumed from the checkpoint of epoch {start} written by {written_by}, on {host}", flush=True)
    for epoch in range(start + 1, config["iterations"] + 1):
        time.sleep(float(os.environ.get("HPOPT_TEST_EPOCH_SECONDS", "0.3")))
        checkpoints.save(config, epoch, lambda p, e=epoch: open(p, "w").write(f"{e} {host}"))
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


@hpopt.trainer("cudnn-oom", description="cuDNN cannot allocate its workspace when bs > 64", search_space=SPACE,
               full_dataset_size=10_000, num_full_iterations=4)
def cudnn_oom(config):
    if config["params"]["bs"] > 64:
        # the message torch raises when cuDNN's workspace does not fit (no "out of memory" in it)
        raise RuntimeError("cuDNN error: CUDNN_STATUS_ALLOC_FAILED")
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


def log_report(config, iteration, value, status) -> None:
    """Appends one line per report to HPOPT_TEST_REPORT_DIR/trial-<n> (one
    small O_APPEND write: whole lines even with several processes), so a
    fault test can compare what trainers reported with what was stored:
    status "SENT" before calling report(), then what report() answered."""
    folder = os.environ.get("HPOPT_TEST_REPORT_DIR")
    if folder:
        line = f"{config['attempt']} {iteration} {value!r} {getattr(status, 'name', status)}\n"
        fd = os.open(os.path.join(folder, f"trial-{config['trial_id']}"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)


@hpopt.trainer("counted", description="slow, and logs every report it made (fault tests)", search_space=SPACE,
               full_dataset_size=10_000, num_full_iterations=8)
def counted(config):
    delay = float(os.environ.get("HPOPT_TEST_EPOCH_SECONDS", "0.3"))
    start = config.get("resume_iteration", 0)
    for epoch in range(start + 1, config["iterations"] + 1):
        time.sleep(delay)
        value = curve(config["params"], epoch)
        log_report(config, epoch, value, "SENT")
        status = hpopt.report(config, value, iteration=epoch)
        log_report(config, epoch, value, status)
        if status == hpopt.Status.STOP:
            break


@hpopt.trainer("nan", description="reports NaN at its second epoch", search_space=SPACE,
               full_dataset_size=10_000, num_full_iterations=4)
def nan(config):
    hpopt.report(config, 0.25)
    hpopt.report(config, float("nan"))


@hpopt.trainer("hang", description="reports once, then hangs without reporting", search_space=SPACE,
               full_dataset_size=10_000, num_full_iterations=4)
def hang(config):
    hpopt.report(config, 0.25)
    time.sleep(float(os.environ.get("HPOPT_TEST_HANG_SECONDS", "600")))


@hpopt.trainer("ignores-stop", description="keeps reporting after STOP", search_space=SPACE,
               full_dataset_size=10_000, num_full_iterations=4)
def ignores_stop(config):
    """Reports every epoch whatever report() answers, and logs the answers
    (a trainer written without looking at STOP)."""
    for epoch in range(1, config["iterations"] + 1):
        time.sleep(float(os.environ.get("HPOPT_TEST_EPOCH_SECONDS", "0")))
        value = curve(config["params"], epoch)
        log_report(config, epoch, value, hpopt.report(config, value, iteration=epoch))


@hpopt.trainer("lingers", description="keeps working a few seconds after STOP, as a final evaluation does",
               search_space=SPACE, full_dataset_size=10_000, num_full_iterations=60)
def lingers(config):
    """Logs every report like 'counted', and when report() answers STOP keeps
    working HPOPT_TEST_LINGER_SECONDS before it returns: a paused trial's old
    attempt then ends after its new attempt started elsewhere."""
    delay = float(os.environ.get("HPOPT_TEST_EPOCH_SECONDS", "0.1"))
    start = config.get("resume_iteration", 0)
    for epoch in range(start + 1, config["iterations"] + 1):
        time.sleep(delay)
        value = curve(config["params"], epoch) + config["attempt"] / 1000  # which attempt wrote it
        log_report(config, epoch, value, "SENT")
        status = hpopt.report(config, value, iteration=epoch)
        log_report(config, epoch, value, status)
        if status == hpopt.Status.STOP:
            time.sleep(float(os.environ.get("HPOPT_TEST_LINGER_SECONDS", "3")))
            break


@hpopt.trainer("threads", description="prints its thread limits, then reports (runner.threads tests)",
               search_space=SPACE, full_dataset_size=10_000, num_full_iterations=2)
def threads(config):
    from threadpoolctl import threadpool_info

    blas = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '')} "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '')} blas={max(blas, default=0)}")
    for epoch in range(config.get("resume_iteration", 0) + 1, config["iterations"] + 1):
        hpopt.report(config, curve(config["params"], epoch), iteration=epoch)


@hpopt.trainer("nul", description="prints a NUL and an undecodable byte, reports once, raises with a NUL",
               search_space=SPACE, full_dataset_size=10_000, num_full_iterations=4)
def nul(config):
    print("a NUL \x00 here, a bad byte " + b"\xff".decode("utf-8", "surrogateescape"))
    hpopt.report(config, 0.25)
    raise ValueError("bad byte \x00 in input")


@hpopt.trainer("oom-once", description="prints, then runs out of 'GPU memory' in its first attempt only",
               search_space=SPACE, full_dataset_size=10_000, num_full_iterations=4)
def oom_once(config):
    print(f"attempt {config['attempt']} starts", flush=True)
    if config["attempt"] == 1:
        raise FakeCudaOOM("CUDA out of memory. Tried to allocate 2.00 GiB")
    quick(config)


@hpopt.trainer("chatty", description="prints 5,000 numbered lines of 100 characters, then reports",
               search_space=SPACE, full_dataset_size=10_000, num_full_iterations=1)
def chatty(config):
    for i in range(5000):
        print(f"line {i:05d} ".ljust(99, "."))
    hpopt.report(config, 0.5, iteration=1)
