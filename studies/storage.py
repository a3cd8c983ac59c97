"""The database storage the core's engine runs on in the dashboard.

``locked()`` opens a transaction and locks the study's row: ``SELECT ... FOR
UPDATE`` on PostgreSQL; on SQLite the transaction is IMMEDIATE (settings),
so it holds the database's write lock from its first statement (and writers
queue for it on a file lock first: studies.sqlite_lock). Either way two
workers deciding on one study run one after the other, so a rung never
promotes twice, a trial number is never reused and no score is lost. The
lock statement also reads the study's meta, which it yields.

The storage keeps nothing between calls: the engine reads what a decision
needs once per lock (hpopt.snapshot). A report is the hot path (every epoch
of every trial, under the study's lock), so its statements are hand-written
SQL (studies/storage_sql.py), run inside Django's error translation so that
``retrying`` covers them like any query.
"""
from __future__ import annotations

import contextlib
import logging
import os
import time

from django.conf import settings as django_settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from hpopt import checkpoints
from hpopt.status import TrialState
from hpopt.storage.base import Storage, TrialRecord, register_backend
from studies import sqlite_lock
from studies import storage_sql as sql
from studies.models import Score, Study, Trial
from studies.models.study import META_COLUMNS, meta_from_values
from studies.models.trial import values_from_record

KIND = "django"
log = logging.getLogger("hpopt.runner")
#: what a dropped or unreachable database raises (PostgreSQL restarting, a
#: network blip, SQLite's "database is locked" after its timeout)
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


def _as_seen(trial: Trial) -> TrialRecord:
    """The trial as the algorithms see it. One excluded from the model's view
    (studies.lifecycle) keeps its number, state and the compute it spent, but
    shows no score: TPE, the GP and the best-trial rule read none, and its
    rungs are not among those ASHA ranks (rung_scores leaves it out too)."""
    record = trial.to_record()
    if trial.excluded:
        record = record.replace(best_score=None, last_score=None, rungs={})
    return record


class DbStorage(Storage):
    def __init__(self, study_id: int):
        self.study_id = int(study_id)
        self.spec = {"kind": KIND, "study": self.study_id}

    @contextlib.contextmanager
    def locked(self):
        """The study's lock for the block. A nested block is a savepoint of
        the outer transaction: an error inside it undoes its own writes and
        leaves the outer block usable (the outer one commits or not)."""
        with sqlite_lock.turn(), transaction.atomic():
            yield sql.lock_study(self.study_id)

    def retrying(self, block):
        """Runs ``block()`` again after a transient database error, closing the
        broken connection first, with a growing pause, until
        HPOPT_DB_RETRY_SECONDS have passed (then the error is raised). A failed
        block committed nothing, so a report made while the database restarts
        is stored once, when it is back. Inside an outer transaction the
        block runs once: only the outermost caller can start over."""
        if connection.in_atomic_block:
            return block()
        deadline = time.monotonic() + django_settings.HPOPT_DB_RETRY_SECONDS
        pause = 0.2
        while True:
            try:
                return block()
            except TRANSIENT_ERRORS as exc:
                if time.monotonic() + pause > deadline:
                    raise
                log.warning("study %s: database unavailable (%s); retrying in %.1f s",
                            self.study_id, str(exc).strip().splitlines()[0] if str(exc).strip() else exc, pause)
                with contextlib.suppress(Exception):
                    connection.close()  # a broken connection is never reused
                time.sleep(pause)
                pause = min(pause * 2, 5.0)

    # -- meta ----------------------------------------------------------------------
    def load_meta(self) -> dict | None:
        row = Study.objects.filter(pk=self.study_id).values(*META_COLUMNS).first()
        return None if row is None else meta_from_values(row)

    def save_meta(self, meta: dict) -> None:
        Study.objects.filter(pk=self.study_id).update(
            settings=meta["settings"], space=meta["space"], plan=meta["plan"], error=meta.get("error", ""),
            oom_bounds=meta.get("oom_bounds") or {},
            search_over=bool(meta.get("search_over")), budget_refused=bool(meta.get("budget_refused")),
            updated=timezone.now(),
        )

    # -- trials ---------------------------------------------------------------------
    def _trials(self):
        return Trial.objects.filter(study_id=self.study_id)

    def trials(self) -> list[TrialRecord]:
        return [_as_seen(t) for t in self._trials().order_by("number")]

    def get_trial(self, trial_id: int) -> TrialRecord:
        found = sql.get_trial(self.study_id, trial_id)
        if found is None:
            raise KeyError(f"no trial {trial_id!r} in study {self.study_id}")
        return found

    def add_trial(self, record: TrialRecord) -> TrialRecord:
        record.trial_id = self._trials().count()
        Trial.objects.create(study_id=self.study_id, number=record.trial_id, **values_from_record(record))
        return record

    def _write_trial(self, record: TrialRecord, state: TrialState, attempt: int, changed: frozenset) -> bool:
        return sql.write_trial(self.study_id, record, state.value, attempt, changed)

    # -- scores ---------------------------------------------------------------------
    def add_score(self, trial_id: int, iteration: int, value: float) -> bool:
        # a replaced score gets a new id (not an in-place update): the live
        # pages' cursor sends only ids above the last one a page has seen.
        # The same value reported again (a re-run, a retried report) keeps its
        # row: score ids then stay the order in which reports were decided
        # (what ASHA's rungs were decided in), and pages have that value.
        return sql.add_score(self.study_id, trial_id, iteration, value)

    def _scores(self):
        return Score.objects.filter(trial__study_id=self.study_id)

    def scores(self, trial_id: int) -> list[tuple[int, float]]:
        return list(self._scores().filter(trial__number=trial_id).order_by("iteration")
                    .values_list("iteration", "value"))

    def clear_scores(self, trial_id: int) -> None:
        Score.objects.filter(trial__study_id=self.study_id, trial__number=trial_id).delete()

    def all_scores(self) -> dict[int, list[tuple[int, float]]]:
        out: dict[int, list[tuple[int, float]]] = {}
        rows = Score.objects.filter(study_id=self.study_id, trial__excluded=False).order_by(
            "trial__number", "iteration")
        for number, iteration, value in rows.values_list("trial__number", "iteration", "value"):
            out.setdefault(number, []).append((iteration, value))
        return out

    def spent(self) -> float:
        return self._trials().aggregate(s=Sum("spent"))["s"] or 0.0

    def open_trials(self) -> list[TrialRecord]:
        unfinished = [s.value for s in TrialState if not s.is_finished()]
        return [t.to_record() for t in self._trials().filter(state__in=unfinished).order_by("number")]

    def rung_scores(self, bracket: int | None, milestone: int) -> list[tuple[int, float]]:
        key = str(milestone)
        rows = self._trials().filter(bracket=bracket, excluded=False).exclude(rungs={}).values_list("number", "rungs")
        return [(number, rungs[key]) for number, rungs in rows if key in rungs]

    def _study_dir(self) -> str:
        return os.path.join(django_settings.HPOPT_CHECKPOINT_DIR, f"study-{self.study_id}")

    def checkpoint_dir(self, trial_id: int) -> str:
        return os.path.join(self._study_dir(), f"trial-{trial_id}")

    def delete(self) -> None:
        self._trials().delete()
        # the trials' checkpoints go with them: trial numbers are reused by the study's next trials
        checkpoints.remove(self._study_dir())


register_backend(KIND, lambda spec: DbStorage(spec["study"]))
