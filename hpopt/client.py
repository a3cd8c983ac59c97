"""``hpopt.report()`` and ``hpopt.reportOOM()``: one function for every storage.

The train config names the storage its study lives in (``config["storage"]``),
so the same trainer reports to files in a script and to the database in a
dashboard worker.
"""
from __future__ import annotations

from hpopt import engine
from hpopt.status import Status
from hpopt.storage.base import open_storage


def _target(config):
    if not isinstance(config, dict) or "trial_id" not in config or "storage" not in config:
        raise ValueError("config must be the train config that get_next_sample() returned")
    return open_storage(config["storage"]), config["trial_id"]


def report(config: dict, score, iteration: int | None = None) -> Status:
    """Stores ``score`` for the trial of ``config`` and returns Status.RUNNING,
    or Status.STOP when the trainer should stop (the algorithm stopped the
    trial, it reached its last iteration, or it was paused or killed).

    ``iteration`` (1-based) defaults to one past the trial's last report.
    A NaN, infinite or non-numeric score raises ValueError and stores nothing.
    A report from an attempt that is no longer the trial's current one (it
    was paused and resumed, or given up as lost and run again) stores
    nothing and answers STOP.
    """
    storage, trial_id = _target(config)
    return engine.report(storage, trial_id, score, iteration, attempt=config.get("attempt"))


def reportOOM(config: dict) -> Status:  # noqa: N802 - the guide's spelling
    """The trial ran out of GPU memory: it is queued to run again, with a
    smaller batch size when ``batch_size_name`` was given. Raises HpoError
    when even the smallest batch size failed."""
    storage, trial_id = _target(config)
    return engine.report_oom(storage, trial_id, attempt=config.get("attempt"))


report_oom = reportOOM
