"""The storage seam: where a study's settings, trials and scores live.

A storage only loads and saves; every decision is taken by the engine
(hpopt.engine) from what it loads, so any process that can open the storage
can take the next decision, and a restart loses nothing. Two backends
implement it: :class:`hpopt.storage.file.FileStorage` (the standalone
library, files under ``save_path``) and the dashboard's database storage in
``studies/``. What a decision reads, it reads once, inside the lock, and
hands to the algorithm as values (hpopt.snapshot). Neither backend keeps a
cache that a decision could read stale: the file backend keeps the study as
it replayed its journal, and brings it up to date inside the lock before
anything reads it (hpopt.storage.file).

Invariants every backend keeps:

* every read and write that leads to a decision happens inside ``locked()``,
  which excludes every other process working on the same study;
* trial ids are assigned by ``add_trial`` in increasing order and never reused;
* a trial changes only through ``update_trial``: the move is checked against
  the transition table (hpopt.transitions), and the write is conditional on
  the state and attempt the writer read, so a finished trial never changes
  and a superseded attempt changes nothing;
* a score is unique per (trial, iteration): writing it again replaces it;
* scores are stored as reported (raw sign); the algorithms apply the mode.
"""
from __future__ import annotations

import abc
import collections
import contextlib
import dataclasses
import itertools
import math
import operator
from typing import Any

import numpy as np

from hpopt import transitions
from hpopt.errors import StaleWrite
from hpopt.status import Pending, TrialState


@dataclasses.dataclass
class TrialRecord:
    """One trial as the core sees it. Plain values only (JSON-friendly)."""

    trial_id: int
    params: dict
    iterations: int
    subset_ratio: float
    state: TrialState = TrialState.QUEUED
    bracket: int | None = None
    #: times the trial was handed to a trainer (OOM and crash re-runs count);
    #: a worker's writes carry the attempt they belong to (fencing)
    attempt: int = 0
    #: the iteration of the trial's latest report (where its trainer is now)
    last_iteration: int = 0
    #: best raw score so far (mode applied), None before the first report
    best_score: float | None = None
    #: the score of the latest report (at last_iteration): what the trial's
    #: training ended with, which ranks it for the best config
    last_score: float | None = None
    #: ASHA: rung milestone -> the trial's best score when it reached it
    rungs: dict = dataclasses.field(default_factory=dict)
    #: iteration the next attempt starts after (0 = from scratch); set by pause
    resume_iteration: int = 0
    #: who runs it now ("host:pid" for the file backend, a worker name for the dashboard)
    owner: str = ""
    oom_count: int = 0
    error: str = ""
    #: a control waiting for the trial's next report
    pending: Pending = Pending.NONE
    #: when the current attempt started, and when it last reported (Unix seconds)
    started: float | None = None
    reported: float | None = None
    #: compute the trial spent over all its attempts, in full-epoch
    #: equivalents: a start-up per attempt and every epoch it trained
    spent: float = 0.0
    #: timing of its training, for the time model: seconds from the start of
    #: its latest attempt to that attempt's first report, and the seconds
    #: between consecutive reports over all attempts with the epochs they covered
    first_report: float | None = None
    epoch_seconds: float = 0.0
    epoch_count: int = 0
    #: why the algorithm stopped it ("" while it runs, or when it was not stopped)
    stop_reason: str = ""
    #: its config was given by hand (hpopt.engine.enqueue), not sampled
    hand_picked: bool = False

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["state"] = self.state.value
        d["pending"] = self.pending.value
        d["rungs"] = {str(k): v for k, v in self.rungs.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrialRecord":
        d = dict(d)
        d["state"] = TrialState(d["state"])
        d["pending"] = Pending(d.get("pending") or "")
        d["rungs"] = {int(k): v for k, v in d.get("rungs", {}).items()}
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def replace(self, **changes) -> "TrialRecord":
        return dataclasses.replace(self, **changes)


FIELDS = dataclasses.fields(TrialRecord)


class Trials(tuple):
    """A study's trials as a snapshot holds them: a tuple of TrialRecords by
    id, which may say which positions changed since an earlier one.

    A backend that keeps its records between reads (the file journal) logs
    the position of every record it replaces or adds; ``log`` is that list
    (append-only) and ``version`` its length when this tuple was taken. So a
    reader that kept an earlier Trials of the same log (TPE's ranking) learns
    what changed from the log's few new entries instead of comparing every
    record, whose cost grows with the study."""

    log: list | None = None
    version: int = 0

    @classmethod
    def of(cls, records, log: list | None = None) -> "Trials":
        out = cls(records)
        if log is not None:
            out.log, out.version = log, len(log)
        return out

    def changed_since(self, earlier) -> list[int] | None:
        """Positions whose record may differ from ``earlier``'s (in any order,
        maybe repeated; positions past its end included), or None when the
        log cannot tell (no log, another log, or ``earlier`` is newer)."""
        log = self.log
        if log is None or getattr(earlier, "log", None) is not log or earlier.version > self.version:
            return None
        return log[earlier.version:self.version]


def changed_positions(trials, last) -> tuple[tuple | list, list[int] | None]:
    """For a reader that keeps what it read of ``last`` (the trials of its
    previous call): (``trials`` as it may keep them, a list unless a tuple
    already; the sorted positions whose record may differ from ``last``'s,
    new positions included), or None for the positions when every record
    must be read anew (fewer trials than ``last``, and no change log to say
    why). Without a log, positions are compared by identity (a stored record
    is never changed in place: TrialRecord.replace), in C."""
    changed = trials.changed_since(last) if isinstance(trials, Trials) else None
    if changed is not None:
        return trials, sorted(set(changed))
    if not isinstance(trials, tuple):
        trials = list(trials)   # kept: a list the caller may change later
    if len(trials) < len(last):
        return trials, None
    same = map(operator.is_not, trials, last)
    return trials, [*itertools.compress(range(len(last)), same), *range(len(last), len(trials))]


class Storage(abc.ABC):
    """Small interface the core runs on. See the module docstring for invariants."""

    #: a JSON-able description that ``hpopt.storage.open_storage`` turns back
    #: into an equal storage in another process (it travels in the train config)
    spec: dict

    @abc.abstractmethod
    def locked(self) -> contextlib.AbstractContextManager[dict | None]:
        """Exclusive access to the study for the duration of the block. Yields
        the study's meta as read under the lock (None when no study exists):
        a backend may read it with the statement that takes the lock."""

    def retrying(self, block):
        """Runs ``block()`` (one whole ``locked()`` read-decide-write) and
        returns its result. A backend whose connection can drop (the
        dashboard's database) overrides this to run the block again after a
        transient failure; nothing of a failed block is kept, so running it
        again is safe. Files do not drop: run it once."""
        return block()

    @abc.abstractmethod
    def load_meta(self) -> dict | None:
        """The study's settings, search space and plan; None if no study exists."""

    @abc.abstractmethod
    def save_meta(self, meta: dict) -> None: ...

    @abc.abstractmethod
    def trials(self) -> list[TrialRecord]:
        """All trials, ordered by trial_id."""

    def snapshot_trials(self) -> Trials:
        """All trials, ordered by trial_id, as the immutable tuple a snapshot
        holds (hpopt.snapshot.load). A backend may say what changed between
        two of them (Trials.log)."""
        return Trials.of(self.trials())

    @abc.abstractmethod
    def get_trial(self, trial_id: int) -> TrialRecord:
        """Raises KeyError for an unknown id."""

    @abc.abstractmethod
    def add_trial(self, record: TrialRecord) -> TrialRecord:
        """Stores a new trial, assigning the next trial_id (record.trial_id is ignored)."""

    def update_trial(self, old: TrialRecord, new: TrialRecord) -> None:
        """Writes ``new`` over the trial ``old`` was read as: the move from
        old.state to new.state must be in the transition table, and the write
        happens only if the stored trial is still in old's state and attempt
        (StaleWrite otherwise, and nothing is written)."""
        if old.trial_id != new.trial_id:
            raise ValueError(f"update_trial: trial {old.trial_id} cannot be written as trial {new.trial_id}")
        transitions.check_trial(old.state, new.state, old.trial_id)
        changed = frozenset(f.name for f in FIELDS if getattr(old, f.name) != getattr(new, f.name))
        if not self._write_trial(new, old.state, old.attempt, changed):
            raise StaleWrite(f"trial {old.trial_id} changed since it was read as {old.state.value} "
                             f"attempt {old.attempt}; nothing was written")

    @abc.abstractmethod
    def _write_trial(self, record: TrialRecord, state: TrialState, attempt: int, changed: frozenset) -> bool:
        """Writes ``record`` if the stored trial is in ``state`` and
        ``attempt``; True when it did. ``changed``: the names of the fields
        that differ from the stored ones (a backend may write only those).
        Only ``update_trial`` calls it."""

    @abc.abstractmethod
    def add_score(self, trial_id: int, iteration: int, value: float) -> bool:
        """Stores (or replaces) the score of one iteration. Returns True when
        it replaced a different value (the trial's best must then be computed
        again from all its scores), False otherwise."""

    @abc.abstractmethod
    def scores(self, trial_id: int) -> list[tuple[int, float]]:
        """The trial's scores as (iteration, value), ordered by iteration."""

    @abc.abstractmethod
    def all_scores(self) -> dict[int, list[tuple[int, float]]]:
        """trial_id -> scores ordered by iteration, for every trial with at least one score."""

    @abc.abstractmethod
    def clear_scores(self, trial_id: int) -> None:
        """Forgets a trial's scores (an OOM re-run starts from scratch)."""

    def spent(self) -> float:
        """Compute spent by every trial (TrialRecord.spent summed, correctly
        rounded: the same number whatever the order of the trials)."""
        return math.fsum(t.spent for t in self.trials())

    def open_trials(self) -> list[TrialRecord]:
        """The queued, running and paused trials (what is still to train)."""
        return [t for t in self.trials() if not t.state.is_finished()]

    def totals(self, trials) -> tuple[float, tuple[TrialRecord, ...]]:
        """(compute spent, the open trials) of ``trials``, every trial as
        ``trials()`` just returned them. A backend that keeps both as it
        writes (the file journal) answers without a pass over every trial."""
        return math.fsum(t.spent for t in trials), tuple(t for t in trials if not t.state.is_finished())

    def lengths(self, trials) -> collections.Counter:
        """How many of ``trials`` (every trial, as ``trials()`` just returned
        them) were handed each number of iterations. A backend that counts
        them as it writes (the file journal) answers without a pass."""
        return collections.Counter(t.iterations for t in trials)

    def rung_scores(self, bracket: int | None, milestone: int) -> list[tuple[int, float]]:
        """(trial id, score) of every trial that recorded a score at this
        ASHA rung, in any order. Backends may read just that (a rung decision is part of
        a report, the hot path)."""
        return [(t.trial_id, t.rungs[milestone]) for t in self.trials()
                if t.bracket == bracket and milestone in t.rungs]

    def rung_arrays(self, bracket: int | None, milestone: int) -> tuple[np.ndarray, np.ndarray]:
        """rung_scores as two arrays, (trial ids, scores): what a rung
        decision reads (it counts the scores above the trial's). A backend
        that keeps them as arrays copies them in one step."""
        pairs = self.rung_scores(bracket, milestone)
        return (np.fromiter(map(operator.itemgetter(0), pairs), dtype=np.int64, count=len(pairs)),
                np.fromiter(map(operator.itemgetter(1), pairs), dtype=float, count=len(pairs)))

    def checkpoint_dir(self, trial_id: int) -> str | None:
        """A stable per-trial folder a trainer may keep checkpoints in (not created here)."""
        return None

    @abc.abstractmethod
    def delete(self) -> None:
        """Forgets the study (resume=False), inside ``locked()``. Only the
        backend's own data goes."""


_BACKENDS: dict[str, Any] = {}


def register_backend(kind: str, factory) -> None:
    """Lets another layer (the dashboard) plug its storage into ``report()``.

    ``factory(spec) -> Storage`` is called with the ``spec`` dict a train
    config carries; ``spec["kind"]`` selects the factory.
    """
    _BACKENDS[kind] = factory


def open_storage(spec: dict) -> Storage:
    try:
        factory = _BACKENDS[spec["kind"]]
    except (KeyError, TypeError):
        known = ", ".join(sorted(_BACKENDS)) or "none"
        raise ValueError(
            f"train config names an unknown storage {spec!r} (registered: {known})"
        ) from None
    return factory(spec)
