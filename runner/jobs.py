"""The RQ job that runs one trial: ``run_trial(trial_pk, job_id)``.

It takes the trial (queued -> running, a new attempt) under the study's
lock if the trial is still waiting for this very job, runs the registered
trainer with the train config (the trainer's ``hpopt.report()`` goes to the
database through the same engine), keeps the trial's heartbeat fresh from a
thread, stores stdout, stderr and any traceback with the trial and with its
attempt (studies.models.Attempt: every attempt keeps its own), and finally
gives the study's free slot to the next trial. The trainer's module is
imported here, in the trial's own process (runner.loading).

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
from django.db import close_old_connections, connection, transaction
from django.db.models import F, TextField, Value
from django.db.models.functions import Concat, Right
from django.utils import timezone

from hpopt import engine
from hpopt.errors import HpoError
from hpopt.oom import is_out_of_memory
from hpopt.snapshot import Meta
from hpopt.status import StudyState, TrialState
from runner import capacity, gpus, loading, occupancy
from runner.models import Worker, WorkerState
from runner.sweeper import WAITING_PREFIX
from studies.control import fill_slots, has_free_slots
from studies.models import Attempt, Study, Trial
from studies.storage import DbStorage

log = logging.getLogger("hpopt.runner")
#: characters of a trainer's output kept per attempt (the tail; README "Trial workers")
LOG_LIMIT = 200_000


class Output:
    """A trainer's stdout and stderr as they come (interleaved), held only
    until the next save: ``take()`` hands over what is new (its last
    ``limit`` characters) and forgets it. However much the trainer prints
    between two saves, at most twice ``limit`` characters are held."""

    def __init__(self, limit: int = LOG_LIMIT):
        self.limit, self._lock, self._parts, self._size = limit, threading.Lock(), [], 0

    def add(self, s: str) -> None:
        with self._lock:
            self._parts.append(s)
            self._size += len(s)
            if self._size > 2 * self.limit:   # compact now and then, not at every write
                self._parts = ["".join(self._parts)[-self.limit:]]
                self._size = len(self._parts[0])

    def take(self) -> str:
        with self._lock:
            text, self._parts, self._size = "".join(self._parts)[-self.limit:], [], 0
        return text

    def give_back(self, text: str) -> None:
        """Puts what ``take()`` handed over back in front (it could not be saved)."""
        with self._lock:
            self._parts.insert(0, text)
            self._size += len(text)


class _Tee(io.TextIOBase):
    """Copies writes to the original stream and to the trial's Output."""

    def __init__(self, original, output: Output):
        self.original, self.output = original, output

    def write(self, s):
        self.output.add(s)
        with contextlib.suppress(Exception):
            self.original.write(s)
        return len(s)

    def flush(self):
        with contextlib.suppress(Exception):
            self.original.flush()


def save_output(trials, attempt_rows, chunk: str, **fields) -> None:
    """Appends ``chunk`` to the log of the trial (``trials``: the queryset of
    its attempt) and of its Attempt row, keeping the last LOG_LIMIT
    characters of each, with ``fields`` for the trial. Only what is new is
    sent; the database keeps the tail. Both rows or neither, so a chunk
    given back after a failure is not kept twice."""
    tail = Right(Concat(F("log"), Value(storable(chunk)), output_field=TextField()), LOG_LIMIT)
    with transaction.atomic():   # the trial's row first, then the attempt's, as run_trial's start takes them
        if chunk:
            fields["log"] = tail
        if fields:
            trials.update(**fields)
        if chunk:
            attempt_rows.update(log=tail)


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
        where = dict(host=socket.gethostname(), gpu=os.environ.get("CUDA_VISIBLE_DEVICES", ""))
        Trial.objects.of_attempt(trial_pk, config["attempt"]).update(
            **where, heartbeat=timezone.now(), traceback="", log="",
        )
        Attempt.objects.update_or_create(trial_id=trial_pk, number=config["attempt"], defaults=dict(
            **where, worker=worker_name(), device=os.environ.get("HPOPT_WORKER_DEVICE", ""), started=timezone.now(),
        ))
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
        # this job left its slot's queue: a study with more slots than one
        # fill_slots call fills gets its next ones (studies.control.FILL_BATCH)
        if storage.retrying(lambda: has_free_slots(trial.study_id)):
            storage.retrying(lambda: fill_slots(trial.study_id))
        storage.retrying(lambda: _set_worker_trial(trial_pk))
        outcome = _run(trial, storage, config)
    finally:
        storage.retrying(release)
    return outcome


def _run(trial, storage, config) -> str:
    attempt = config["attempt"]
    mine = Trial.objects.filter(pk=trial.pk, attempt=attempt)  # this attempt's writes only
    its_row = Attempt.objects.filter(trial_id=trial.pk, number=attempt)
    try:
        info = loading.trainer(trial.study.trainer)
    except KeyError as exc:  # not registered on this worker: nothing is imported, nothing runs
        message = str(exc.args[0]) if exc.args else str(exc)  # the registry's, without KeyError's quotes
        state = engine.finish(storage, trial.number, attempt, error=message)
        storage.retrying(lambda: mine.update(traceback=message))
        storage.retrying(lambda: _end_attempt(trial.pk, attempt, state, message, False, traceback=message))
        return TrialState(state).value
    except Exception as exc:  # noqa: BLE001 - its module fails to import in the trial's process
        message = storable(f"trainer module of {trial.study.trainer!r} failed to import: {type(exc).__name__}: {exc}")
        tb = storable(traceback.format_exc())
        state = engine.finish(storage, trial.number, attempt, error=message)
        storage.retrying(lambda: mine.update(traceback=tb))
        storage.retrying(lambda: _end_attempt(trial.pk, attempt, state, message, False, traceback=tb))
        return TrialState(state).value

    stop = threading.Event()
    output = Output()
    out, err = _Tee(sys.stdout, output), _Tee(sys.stderr, output)
    beat = threading.Thread(target=_heartbeat, args=(trial.pk, attempt, stop, output), daemon=True)
    beat.start()
    tb, oom = "", False
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
                state, oom = TrialState.QUEUED, True
            except HpoError as oom_exc:
                state = engine.finish(storage, trial.number, attempt, error=storable(str(oom_exc)))
        else:
            state = engine.finish(storage, trial.number, attempt, error=storable(f"{type(exc).__name__}: {exc}"))
    finally:
        occupancy.trial_ended()
        stop.set()
        beat.join(timeout=5)
        rest = output.take()
        storage.retrying(lambda: save_output(mine, its_row, rest, **({"traceback": tb} if tb else {})))
    storage.retrying(lambda: _end_attempt(trial.pk, attempt, state, "", oom, traceback=tb))
    return TrialState(state).value


def _end_attempt(trial_pk: int, attempt: int, state, reason: str, oom: bool, **fields) -> None:
    """Writes the end of an attempt: when, the state it left the trial in
    ("replaced" when a later attempt took the trial over meanwhile: it was
    paused and resumed, or given up as lost, while this one still ran), why
    (the trial's error or stop reason unless given), whether it ran out of
    GPU memory, and whether its trainer used CUDA."""
    now_attempt, error, stop_reason = Trial.objects.filter(pk=trial_pk).values_list(
        "attempt", "error", "stop_reason").get()
    outcome = TrialState(state).value
    if now_attempt != attempt:
        outcome, reason = "replaced", f"attempt {now_attempt} took the trial over"
    elif not reason and not oom:
        reason = f"{error} {stop_reason}".strip()
    Attempt.objects.filter(trial_id=trial_pk, number=attempt).update(
        ended=timezone.now(), outcome=outcome, reason=reason, oom=oom, cuda_used=gpus.cuda_used(),
        busy_seconds=capacity.busy_seconds(), **fields)


def _heartbeat(trial_pk: int, attempt: int, stop: threading.Event, output: Output) -> None:
    """Beats while the trainer runs, and sends the output new since the last
    beat with each: a kill ends the work horse at once (RQ's stop-job), so
    run_trial's own final save never happens then. A chunk that could not
    be saved (a database blip) is sent with the next beat (the tail of it)."""
    interval = max(1.0, settings.HPOPT_HEARTBEAT_TIMEOUT / 4)
    attempt_rows = Attempt.objects.filter(trial_id=trial_pk, number=attempt)
    while not stop.wait(interval):
        chunk = output.take()
        try:
            close_old_connections()  # drops this thread's connection if a blip broke it
            save_output(Trial.objects.of_attempt(trial_pk, attempt), attempt_rows, chunk, heartbeat=timezone.now())
        except Exception as exc:  # noqa: BLE001 - a database blip must not kill the trial
            output.give_back(chunk)
            log.warning("heartbeat failed for trial %s: %s", trial_pk, exc)
    connection.close()  # this thread's own connection


def _set_worker_trial(trial_pk) -> None:
    name = os.environ.get("HPOPT_WORKER_NAME")
    if name:
        Worker.objects.filter(name=name).update(
            current_trial_id=trial_pk, state=WorkerState.BUSY if trial_pk else WorkerState.IDLE,
            last_seen=timezone.now(),
        )
