"""Checkpoints a trainer keeps in its train config's ``checkpoint_dir``, so a
paused or interrupted trial continues where it stopped instead of training
again from scratch. Any format works: the trainer passes a function that
writes its state to a path (``lambda path: torch.save(state, path)``).

Rules (one place for each):

* **Atomic**: a checkpoint is written to a temporary file in the same folder,
  flushed to disk, then renamed over its final name (``os.replace``), so a
  host that dies mid-write leaves the previous checkpoint whole, and a reader
  on another host never sees half a file.
* **Retention**: the last ``keep`` (default ``KEEP``) checkpoints of a trial
  are kept; a save at iteration k also drops every checkpoint past k (an
  earlier attempt's: an out-of-memory re-run starts again from scratch, a
  resumed one from k). They stay after the trial ends (the best trial's
  model is there) and go with the study: ``resume=False`` removes the
  library's ``save_path/checkpoints``.
* **Resume**: ``resume_from(config)`` is the checkpoint saved at the
  iteration the trial resumes after (``config["resume_iteration"]``), or None
  to train from scratch.

Where: the library keeps them under ``save_path/checkpoints/trial-N`` (every
process of a study shares save_path already; put it on a network file
system for several hosts); the dashboard under ``HPOPT_CHECKPOINT_DIR``
(default ``var/checkpoints``) ``/study-S/trial-N``, which every worker host
must mount at the same path for a trial resumed on another host.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from typing import Callable

#: checkpoints kept per trial: the latest, and the one before it
KEEP = 2
_NAME = re.compile(r"^iteration-(\d+)\.ckpt$")


def path_for(directory: str, iteration: int) -> str:
    return os.path.join(directory, f"iteration-{int(iteration):06d}.ckpt")


def saved(directory: str | None) -> list[tuple[int, str]]:
    """(iteration, path) of the checkpoints in ``directory``, oldest first."""
    try:
        names = os.listdir(directory) if directory else []
    except FileNotFoundError:
        return []
    found = ((_NAME.match(n), n) for n in names)
    return sorted((int(m.group(1)), os.path.join(directory, n)) for m, n in found if m)


def save(config: dict, iteration: int, write: Callable[[str], None], keep: int = KEEP) -> str | None:
    """Writes the checkpoint of ``iteration`` with ``write(path)``, atomically,
    and applies the retention rule. Returns its path (None: the train config
    has no ``checkpoint_dir``, nothing is written)."""
    if keep < 1:
        raise ValueError(f"keep must be at least 1 (got {keep!r})")
    directory = config.get("checkpoint_dir")
    if not directory:
        return None
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".writing-", suffix=".ckpt", dir=directory)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        final = path_for(directory, iteration)
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    kept = [(i, p) for i, p in saved(directory) if i <= iteration]
    for i, p in saved(directory):
        if i > iteration or (i, p) in kept[:-keep]:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(p)
    return final


def resume_from(config: dict) -> str | None:
    """The checkpoint to continue from: the one saved at
    ``config["resume_iteration"]``; None when the trial starts from scratch
    or no such checkpoint exists (then train from iteration 1)."""
    start = config.get("resume_iteration") or 0
    path = path_for(config["checkpoint_dir"], start) if start and config.get("checkpoint_dir") else None
    return path if path and os.path.exists(path) else None


def remove(directory: str | None) -> None:
    """Deletes a trial's or a study's checkpoint folder (nothing when absent)."""
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
