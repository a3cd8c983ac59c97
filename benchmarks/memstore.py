"""An in-memory :class:`hpopt.storage.base.Storage` for the simulated-time
harness: the engine and the algorithms run unchanged, without file I/O.

It keeps the backend invariants (ids in order and never reused, one score per
(trial, iteration)); ``get_trial`` hands out copies, so that the engine's
read-modify-write works as it does on disk, while ``trials()`` returns the
stored records themselves (read-only by contract: the engine only reads that
list, and copying thousands of records per call would time this class instead
of the engine). ASHA's ``rung_scores`` is indexed, as the base class invites.
One process only: the lock is a re-entrant thread lock.
"""
from __future__ import annotations

import copy
import threading

from hpopt.storage.base import Storage, TrialRecord


class MemoryStorage(Storage):
    def __init__(self):
        self.spec = {"kind": "memory", "id": id(self)}
        self._lock = threading.RLock()
        self._meta: dict | None = None
        self._trials: list[TrialRecord] = []
        self._scores: dict[int, dict[int, float]] = {}
        self._rungs: dict[tuple, dict[int, float]] = {}   # (bracket, milestone) -> {trial: score}

    def locked(self):
        return self._lock

    def load_meta(self) -> dict | None:
        return copy.deepcopy(self._meta)

    def save_meta(self, meta: dict) -> None:
        self._meta = copy.deepcopy(meta)

    def trials(self) -> list[TrialRecord]:
        return list(self._trials)

    def count_trials(self) -> int:
        return len(self._trials)

    def get_trial(self, trial_id: int) -> TrialRecord:
        if not isinstance(trial_id, int) or not 0 <= trial_id < len(self._trials):
            raise KeyError(f"no trial {trial_id!r}")
        return _copy(self._trials[trial_id])

    def add_trial(self, record: TrialRecord) -> TrialRecord:
        record.trial_id = len(self._trials)
        self._trials.append(_copy(record))
        for m, score in record.rungs.items():
            self._rungs.setdefault((record.bracket, m), {})[record.trial_id] = score
        return record

    def save_trial(self, record: TrialRecord) -> None:
        old = self.get_trial(record.trial_id)
        for m in old.rungs:
            self._rungs.get((old.bracket, m), {}).pop(record.trial_id, None)
        for m, score in record.rungs.items():
            self._rungs.setdefault((record.bracket, m), {})[record.trial_id] = score
        self._trials[record.trial_id] = _copy(record)

    def rung_scores(self, bracket: int, milestone: int, exclude: int | None = None) -> list[float]:
        return [v for k, v in self._rungs.get((bracket, milestone), {}).items() if k != exclude]

    def add_score(self, trial_id: int, iteration: int, value: float) -> bool:
        per_trial = self._scores.setdefault(trial_id, {})
        old = per_trial.get(iteration)
        per_trial[iteration] = value
        return old is not None and old != value

    def scores(self, trial_id: int) -> list[tuple[int, float]]:
        return sorted(self._scores.get(trial_id, {}).items())

    def clear_scores(self, trial_id: int) -> None:
        self._scores.pop(trial_id, None)

    def delete(self) -> None:
        self._meta, self._trials, self._scores, self._rungs = None, [], {}, {}


def _copy(t: TrialRecord) -> TrialRecord:
    # params and rungs are the only mutable fields the engine changes in place
    return TrialRecord(**{**t.__dict__, "params": dict(t.params), "rungs": dict(t.rungs)})
