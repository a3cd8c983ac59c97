"""The database storage the core's engine runs on in the dashboard.

``locked()`` opens a transaction and locks the study's row: ``SELECT ... FOR
UPDATE`` on PostgreSQL; on SQLite the transaction is IMMEDIATE (settings), so
it holds the database's write lock from its first statement. Either way two
workers deciding on one study run one after the other, so a rung never
promotes twice, a trial number is never reused and no score is lost.

A report is the hot path (every epoch of every trial, under the study's
lock), so its statements are hand-written SQL (studies/storage_sql.py): the
lock query also reads the study's meta, get_trial remembers the row's pk, a
score is one ``INSERT ... ON CONFLICT DO NOTHING``, and the trial row is
written once (``last_report`` with it). Django's ORM spent more time
compiling those queries than the database spent running them
(benchmarks/RESULTS.md, part 3).
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading
import time

from django.conf import settings as django_settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from hpopt.storage.base import Storage, TrialRecord, register_backend
from studies import sqlite_lock, storage_sql as sql
from studies.models import Score, Study, Trial

KIND = "django"
log = logging.getLogger("hpopt.runner")
#: what a dropped or unreachable database raises (PostgreSQL restarting, a
#: network blip, SQLite's "database is locked" after its timeout)
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


class DbStorage(Storage):
    def __init__(self, study_id: int):
        self.study_id = int(study_id)
        self.spec = {"kind": KIND, "study": self.study_id}
        self._local = threading.local()

    @contextlib.contextmanager
    def locked(self):
        depth = getattr(self._local, "depth", 0)
        if depth:
            self._local.depth += 1
            try:
                yield
            finally:
                self._local.depth -= 1
            return
        with sqlite_lock.turn(), transaction.atomic():
            # the lock (on SQLite the IMMEDIATE transaction already holds it),
            # reading the meta every decision loads anyway. Writes to the meta
            # columns inside the lock go through save_meta, which refreshes it.
            local = self._local
            local.meta = sql.lock_study(self.study_id)
            local.depth, local.pks, local.reported, local.trials = 1, {}, set(), None
            try:
                yield
                # a score stored without its trial being saved after it
                for pk in local.reported:
                    sql.touch_last_report(pk)
            finally:
                local.depth, local.pks, local.reported, local.meta, local.trials = 0, {}, set(), None, None

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
        cached = getattr(self._local, "meta", None)
        if cached is not None:
            return dict(cached)  # the engine replaces top-level keys, never edits nested ones
        row = Study.objects.filter(pk=self.study_id).values(
            "settings", "initial_space", "space", "plan", "error", "created"
        ).first()
        if row is None:
            return None
        row["created"] = row["created"].timestamp()
        row["version"] = 1
        return row

    def save_meta(self, meta: dict) -> None:
        Study.objects.filter(pk=self.study_id).update(
            settings=meta["settings"], space=meta["space"], plan=meta["plan"], error=meta.get("error", ""),
            updated=timezone.now(),
        )
        if getattr(self._local, "meta", None) is not None:
            self._local.meta = dict(meta)

    # -- trials ---------------------------------------------------------------------
    def _trials(self):
        return Trial.objects.filter(study_id=self.study_id)

    def trials(self) -> list[TrialRecord]:
        # one read per lock: a hand-out asks several times (the budget guard,
        # the sampler, backfill); this storage's own writes drop the copy
        cached = getattr(self._local, "trials", None)
        if cached is not None:
            return list(cached)
        records = [t.to_record() for t in self._trials().order_by("number")]
        if getattr(self._local, "depth", 0):
            self._local.trials = records
        return list(records)

    def _forget_trials(self) -> None:
        self._local.trials = None

    def count_trials(self) -> int:
        cached = getattr(self._local, "trials", None)
        return len(cached) if cached is not None else self._trials().count()

    def all_params(self) -> list[dict]:
        return list(self._trials().values_list("params", flat=True))

    def get_trial(self, trial_id: int) -> TrialRecord:
        found = sql.get_trial(self.study_id, trial_id)
        if found is None:
            raise KeyError(f"no trial {trial_id!r} in study {self.study_id}")
        pk, record = found
        pks = getattr(self._local, "pks", None)
        if pks is not None:
            pks[trial_id] = pk
        return record

    def add_trial(self, record: TrialRecord) -> TrialRecord:
        self._forget_trials()
        record.trial_id = self.count_trials()
        Trial.objects.create(study_id=self.study_id, number=record.trial_id, **Trial.fields_from_record(record))
        return record

    def save_trial(self, record: TrialRecord) -> None:
        self._forget_trials()
        pks = getattr(self._local, "pks", None) or {}
        pk = pks.get(record.trial_id)
        if pk is None:
            now = timezone.now()
            fields = Trial.fields_from_record(record)
            if record.state.is_finished():
                fields["finished"] = now
            n = self._trials().filter(number=record.trial_id).update(heartbeat=now, updated=now, **fields)
        else:
            reported = self._local.reported
            n = sql.save_trial(pk, record, last_report=pk in reported)
            reported.discard(pk)
        if n != 1:
            raise KeyError(f"no trial {record.trial_id!r} in study {self.study_id}")

    def _pk(self, trial_id: int) -> int:
        pks = getattr(self._local, "pks", None)
        if pks is None:
            pks = self._local.pks = {}
        if trial_id not in pks:
            pks[trial_id] = self._trials().values_list("pk", flat=True).get(number=trial_id)
        return pks[trial_id]

    # -- scores ---------------------------------------------------------------------
    def add_score(self, trial_id: int, iteration: int, value: float) -> bool:
        # a replaced score gets a new id (not an in-place update): the live
        # pages' cursor sends only ids above the last one a page has seen.
        # The same value reported again (a re-run, a retried report) keeps its
        # row: score ids then stay the order in which reports were decided
        # (what ASHA's rungs were decided in), and pages have that value.
        pk = self._pk(trial_id)
        reported = getattr(self._local, "reported", None)
        if reported is None:  # outside locked(): nothing will save the trial after it
            sql.touch_last_report(pk)
        else:
            reported.add(pk)  # written with the trial row (save_trial) or at the lock's end
        return sql.add_score(self.study_id, pk, iteration, value)

    def scores(self, trial_id: int) -> list[tuple[int, float]]:
        return list(
            Score.objects.filter(trial_id=self._pk(trial_id)).order_by("iteration").values_list("iteration", "value")
        )

    def clear_scores(self, trial_id: int) -> None:
        Score.objects.filter(trial_id=self._pk(trial_id)).delete()

    def all_scores(self) -> dict[int, list[tuple[int, float]]]:
        out: dict[int, list[tuple[int, float]]] = {}
        rows = Score.objects.filter(study_id=self.study_id).order_by("trial__number", "iteration")
        for number, iteration, value in rows.values_list("trial__number", "iteration", "value"):
            out.setdefault(number, []).append((iteration, value))
        return out

    def rung_scores(self, bracket: int, milestone: int, exclude: int | None = None) -> list[float]:
        key = str(milestone)
        rows = self._trials().filter(bracket=bracket).exclude(rungs={}).exclude(number=exclude)
        return [r[key] for r in rows.values_list("rungs", flat=True) if key in r]

    def checkpoint_dir(self, trial_id: int) -> str:
        root = getattr(django_settings, "HPOPT_CHECKPOINT_DIR", None) or os.path.join(
            str(django_settings.VAR_DIR), "checkpoints"
        )
        return os.path.join(root, f"study-{self.study_id}", f"trial-{trial_id}")

    def delete(self) -> None:
        self._forget_trials()
        self._trials().delete()


register_backend(KIND, lambda spec: DbStorage(spec["study"]))
