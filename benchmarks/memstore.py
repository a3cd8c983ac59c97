"""An in-memory :class:`hpopt.storage.base.Storage` for the simulated-time
harness: the engine and the algorithms run unchanged, without file I/O.

It keeps the backend invariants (ids in order and never reused, one score per
(trial, iteration), a trial written only through ``update_trial``, whose
``_write_trial`` is conditional on the state and attempt the writer read);
``get_trial`` hands out copies and a write stores a copy, so that no caller
can change a stored trial except through that conditional write, as on disk.
``trials()`` returns the stored records themselves, and ``locked()`` yields
the stored meta dict itself (both read-only by contract: the engine only
reads them, building new records and metas for what it writes, and copying
thousands of records per call would time this class instead of the engine).
Scores are kept per trial, keyed by iteration, so ``all_scores`` (what
bayes_opt's median stop reads) needs no grouping. One process only: the
lock is a re-entrant thread lock.
"""
from __future__ import annotations

import contextlib
import copy
import threading
from typing import Iterator

from hpopt.status import TrialState
from hpopt.storage.base import Storage, TrialRecord


class MemoryStorage(Storage):
    def __init__(self):
        self.spec = {"kind": "memory", "id": id(self)}
        self._lock = threading.RLock()
        self._meta: dict | None = None
        self._trials: list[TrialRecord] = []
        self._scores: dict[int, dict[int, float]] = {}

    @contextlib.contextmanager
    def locked(self) -> Iterator[dict | None]:
        with self._lock:
            yield self._meta

    def load_meta(self) -> dict | None:
        return copy.deepcopy(self._meta)

    def save_meta(self, meta: dict) -> None:
        self._meta = copy.deepcopy(meta)

    def trials(self) -> list[TrialRecord]:
        return list(self._trials)

    def get_trial(self, trial_id: int) -> TrialRecord:
        if not isinstance(trial_id, int) or not 0 <= trial_id < len(self._trials):
            raise KeyError(f"no trial {trial_id!r}")
        return _copy(self._trials[trial_id])

    def add_trial(self, record: TrialRecord) -> TrialRecord:
        record.trial_id = len(self._trials)
        self._trials.append(_copy(record))
        return record

    def _write_trial(self, record: TrialRecord, state: TrialState, attempt: int, changed: frozenset) -> bool:
        trial_id = record.trial_id
        if not isinstance(trial_id, int) or not 0 <= trial_id < len(self._trials):
            raise KeyError(f"no trial {trial_id!r}")
        stored = self._trials[trial_id]
        if stored.state is not state or stored.attempt != attempt:
            return False
        self._trials[trial_id] = _copy(record)
        return True

    def add_score(self, trial_id: int, iteration: int, value: float) -> bool:
        per_trial = self._scores.setdefault(trial_id, {})
        old = per_trial.get(iteration)
        per_trial[iteration] = value
        return old is not None and old != value

    def scores(self, trial_id: int) -> list[tuple[int, float]]:
        return sorted(self._scores.get(trial_id, {}).items())

    def all_scores(self) -> dict[int, list[tuple[int, float]]]:
        return {t: sorted(per.items()) for t, per in self._scores.items() if per}

    def clear_scores(self, trial_id: int) -> None:
        self._scores.pop(trial_id, None)

    def delete(self) -> None:
        self._meta, self._trials, self._scores = None, [], {}


def _copy(t: TrialRecord) -> TrialRecord:
    # params and rungs are the only mutable fields (the others are numbers,
    # strings and enums)
    return TrialRecord(**{**t.__dict__, "params": dict(t.params), "rungs": dict(t.rungs)})
