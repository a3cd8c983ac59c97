"""The RQ job that runs one trial: ``run_trial(trial_pk, job_id)``.

It takes the trial (queued -> running, a new attempt) under the study's
lock if the trial is still waiting for this very job, runs the registered
trainer with the train config (the trainer's ``hpopt.report()`` goes to the
database through the same engine), keeps the trial's heartbeat fresh from a
thread, stores stdout, stderr and any traceback with the trial, and finally
gives the study's free slot to the next trial.

Fencing: everything this job writes after the start is conditional on the
attempt it started (heartbeats, the log, the end) or on its job id (letting
go of the trial), so a job that outlives its attempt (the trial was paused
and resumed on another worker meanwhile) changes nothing.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import socket
import sys
import threading
import traceback

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from hpopt import engine
from hpopt.errors import HpoError
from hpopt.oom import is_out_of_memory
from hpopt.registry import get_trainer
from hpopt.snapshot import Meta
from hpopt.status import StudyState, TrialState
from runner import occupancy
from runner.models import Worker, WorkerState
from runner.sweeper import WAITING_PREFIX
from studies.control import fill_slots
from studies.models import Study, Trial
from studies.storage import DbStorage

log = logging.getLogger("hpopt.runner")
LOG_LIMIT = 200_000  # characters of output kept per trial (the tail)


class _Tee(io.TextIOBase):
    """Copies writes to the original stream and keeps them for the trial's log."""

    def __init__(self, original):
        self.original, self.buffer_ = original, io.StringIO()

    def write(self, s):
        self.buffer_.write(s)
        with contextlib.suppress(Exception):
            self.original.write(s)
        return len(s)

    def flush(self):
        with contextlib.suppress(Exception):
            self.original.flush()


def storable(text: str) -> str:
    """Trainer text (its output, an error, a traceback) as every database
    keeps it: PostgreSQL's text holds no NUL character and only valid UTF-8,
    so a NUL is written as the four characters ``\\x00`` and a lone surrogate
    (undecodable bytes) as its ``\\udcXX`` escape: both stay visible."""
    return text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")


def worker_name() -> str:
    return os.environ.get("HPOPT_WORKER_NAME") or f"{socket.gethostname()}:{os.getpid()}"


def _take(storage: DbStorage, trial_pk: int, job_id: str) -> dict | None:
    """queued -> running under the study's lock, if the trial waits for this
    job and its study runs: the train config, or None."""
    with storage.locked() as raw:
        trial = Trial.objects.get(pk=trial_pk)
        study_state = Study.objects.filter(pk=trial.study_id).values_list("state", flat=True).get()
        if (trial.state != TrialState.QUEUED.value or trial.job_id != job_id
                or study_state != StudyState.RUNNING.value):
            Trial.objects.filter(pk=trial_pk, job_id=job_id).exclude(state=TrialState.RUNNING.value).update(job_id="")
            return None
        config = engine.start(storage, Meta.from_dict(raw), trial.to_record(), worker_name(),
                              since=occupancy.free_since())
        Trial.objects.of_attempt(trial_pk, config["attempt"]).update(
            host=socket.gethostname(), gpu=os.environ.get("CUDA_VISIBLE_DEVICES", ""),
            heartbeat=timezone.now(), traceback="",
        )
        # it runs now: a note that no worker offered its trainer is history
        Trial.objects.filter(pk=trial_pk, error__startswith=WAITING_PREFIX).update(error="")
        return config


def run_trial(trial_pk: int, job_id: str) -> str:
    """Runs the trial if it still waits for job ``job_id`` (this job's own id)."""
    close_old_connections()
    trial = Trial.objects.select_related("study").filter(pk=trial_pk).first()
    if trial is None:
        return "gone"
    storage = DbStorage(trial.study_id)

    def release():
        Trial.objects.filter(pk=trial_pk, job_id=job_id).exclude(state=TrialState.RUNNING.value).update(job_id="")
        _set_worker_trial(None)
        fill_slots(trial.study_id)

    # the database may restart under a worker: each step retries (see DbStorage.retrying)
    try:
        config = storage.retrying(lambda: _take(storage, trial_pk, job_id))
        if config is None:
            return "skipped"
        storage.retrying(lambda: _set_worker_trial(trial_pk))
        outcome = _run(trial, storage, config)
    finally:
        storage.retrying(release)
    return outcome


def _run(trial, storage, config) -> str:
    attempt = config["attempt"]
    mine = Trial.objects.filter(pk=trial.pk, attempt=attempt)  # this attempt's writes only
    try:
        info = get_trainer(trial.study.trainer)
    except KeyError as exc:  # not registered on this worker: nothing is imported, nothing runs
        message = str(exc.args[0]) if exc.args else str(exc)  # the registry's, without KeyError's quotes
        state = engine.finish(storage, trial.number, attempt, error=message)
        storage.retrying(lambda: mine.update(traceback=message))
        return TrialState(state).value

    stop = threading.Event()
    out, err = _Tee(sys.stdout), _Tee(sys.stderr)

    def log_so_far() -> str:
        return storable((out.buffer_.getvalue() + err.buffer_.getvalue())[-LOG_LIMIT:])

    beat = threading.Thread(target=_heartbeat, args=(trial.pk, attempt, stop, log_so_far), daemon=True)
    beat.start()
    tb = ""
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            info.func(config)
        state = engine.finish(storage, trial.number, attempt)
    except HpoError as exc:  # e.g. even the smallest batch size ran out of memory
        tb = storable(traceback.format_exc())
        state = engine.finish(storage, trial.number, attempt, error=storable(str(exc)))
    except Exception as exc:  # noqa: BLE001 - any trainer failure ends as a failed trial
        tb = storable(traceback.format_exc())
        if is_out_of_memory(exc):  # the core's one rule (hpopt/oom.py): CUDA, cuDNN/cuBLAS, CPU
            try:
                engine.report_oom(storage, trial.number, attempt)
                state = TrialState.QUEUED
            except HpoError as oom_exc:
                state = engine.finish(storage, trial.number, attempt, error=storable(str(oom_exc)))
        else:
            state = engine.finish(storage, trial.number, attempt, error=storable(f"{type(exc).__name__}: {exc}"))
    finally:
        occupancy.trial_ended()
        stop.set()
        beat.join(timeout=5)
        kept = {"log": log_so_far(), **({"traceback": tb} if tb else {})}
        storage.retrying(lambda: mine.update(**kept))
    return TrialState(state).value


def _heartbeat(trial_pk: int, attempt: int, stop: threading.Event, log_so_far) -> None:
    """Beats while the trainer runs, and saves its output so far with each
    beat when it grew: a kill ends the work horse at once (RQ's stop-job),
    so run_trial's own final save never happens then."""
    interval = max(1.0, settings.HPOPT_HEARTBEAT_TIMEOUT / 4)
    saved = ""
    while not stop.wait(interval):
        try:
            close_old_connections()  # drops this thread's connection if a blip broke it
            fields = {"heartbeat": timezone.now()}
            text = log_so_far()
            if text != saved:
                fields["log"] = saved = text
            Trial.objects.of_attempt(trial_pk, attempt).update(**fields)
        except Exception as exc:  # noqa: BLE001 - a database blip must not kill the trial
            log.warning("heartbeat failed for trial %s: %s", trial_pk, exc)
    connection.close()  # this thread's own connection


def _set_worker_trial(trial_pk) -> None:
    name = os.environ.get("HPOPT_WORKER_NAME")
    if name:
        Worker.objects.filter(name=name).update(
            current_trial_id=trial_pk, state=WorkerState.BUSY if trial_pk else WorkerState.IDLE,
            last_seen=timezone.now(),
        )
