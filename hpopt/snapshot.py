"""What a decision reads: the study's meta as a frozen value, and the trials
and scores it needs, loaded once inside the storage's lock.

The engine builds a :class:`Snapshot` and hands it to the algorithm, which
returns its decision; the algorithm never talks to a storage, so a storage
needs no cache and a decision is a function of values (tests build snapshots
by hand).
"""
from __future__ import annotations

import collections
import dataclasses
import functools
import time
from typing import Mapping

from hpopt.errors import HpoError
from hpopt.plan import Plan
from hpopt.plan import plan as make_plan
from hpopt.settings import Settings
from hpopt.space import SearchSpace
from hpopt.storage.base import TrialRecord

META_VERSION = 1


def plan_from_dict(d: dict) -> Plan:
    names = {f.name for f in dataclasses.fields(Plan)}
    kw = {k: v for k, v in d.items() if k in names}
    kw["brackets"] = tuple(tuple(b) for b in kw.get("brackets", ()))
    kw["auto"] = tuple(kw.get("auto", ()))
    kw["warnings"] = tuple(kw.get("warnings", ()))
    return Plan(**kw)


@dataclasses.dataclass(frozen=True)
class Meta:
    """A study's stored definition: its settings, current search space (an
    out-of-memory error shrinks the batch-size range), plan, and the flags the
    engine keeps. ``raw`` is the stored dict; ``replace`` makes a new Meta
    with some of its keys changed, for ``Storage.save_meta``."""

    raw: Mapping
    settings: Settings
    plan: Plan

    @classmethod
    def from_dict(cls, raw: dict | None) -> "Meta":
        if raw is None:
            raise HpoError("no study is stored here; create one with hpopt.create()")
        return cls(raw=dict(raw), settings=Settings.from_stored(raw["settings"]), plan=plan_from_dict(raw["plan"]))

    @functools.cached_property
    def space(self) -> SearchSpace:
        """The current search space, parsed when first asked for (a report
        decides without it)."""
        return SearchSpace.from_spec(self.raw["space"])

    @classmethod
    def new(cls, settings: Settings) -> "Meta":
        plan = make_plan(**settings.plan_kwargs())
        return cls.from_dict({
            "version": META_VERSION, "settings": settings.to_dict(), "initial_space": settings.search_space,
            "space": settings.search_space, "plan": plan.to_dict(), "error": "", "created": time.time(),
        })

    def to_dict(self) -> dict:
        return dict(self.raw)

    def replace(self, **keys) -> "Meta":
        return Meta.from_dict({**self.raw, **keys})

    @property
    def error(self) -> str:
        """Why the study cannot go on ("" while it can)."""
        return self.raw.get("error") or ""

    @property
    def oom_bounds(self) -> dict:
        """What out-of-memory errors taught, per memory key (hpopt.oom_bounds)."""
        return self.raw.get("oom_bounds") or {}

    @property
    def search_over(self) -> bool:
        """The space ran out of new configs before the plan's num_trials."""
        return bool(self.raw.get("search_over"))

    @property
    def budget_refused(self) -> bool:
        """The hard budget refused the last new trial asked for (until one fits again)."""
        return bool(self.raw.get("budget_refused"))

    @property
    def planned_trials(self) -> int:
        """num_trials as Auto Config planned it, before the budget guard cut it."""
        return int(self.raw["plan"].get("planned_trials", self.plan.num_trials))


@dataclasses.dataclass(frozen=True)
class Needs:
    """What an algorithm reads to decide on one report, beyond the trial itself."""

    trials: bool = False
    scores: bool = False
    #: ASHA rungs, as (bracket, milestone): the scores recorded there
    rungs: tuple = ()
    #: what the budget needs: the compute spent, and the open trials
    budget: bool = False


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """The values one decision is taken from. ``trials`` (all, by id),
    ``scores`` (trial id -> [(iteration, value)]), ``rungs`` ((bracket,
    milestone) -> (trial ids, scores recorded there), two numpy arrays), ``spent`` and ``open``
    hold what the decision asked for (see Needs): None, or only the rungs
    asked for, otherwise. With every trial loaded, ``spent`` and ``open``
    come from them."""

    meta: Meta
    trials: tuple[TrialRecord, ...] | None = None
    scores: Mapping[int, list] | None = None
    rungs: Mapping[tuple, tuple] | None = None
    #: compute spent by every trial, and the queued, running and paused trials
    spent: float | None = None
    open: tuple[TrialRecord, ...] | None = None
    #: how many trials were handed each number of iterations (with every trial loaded)
    lengths: Mapping[int, int] | None = None

    def trial_lengths(self) -> Mapping[int, int]:
        """``lengths``, counted from ``trials`` for a snapshot built without it (by hand)."""
        if self.lengths is None:
            return collections.Counter(t.iterations for t in self.trials)
        return self.lengths

    def with_trial(self, record: TrialRecord) -> "Snapshot":
        """The snapshot after ``record`` was added (a hand-out of several trials)."""
        lengths = collections.Counter(self.trial_lengths())
        lengths[record.iterations] += 1
        return dataclasses.replace(self, trials=(*self.trials, record), open=(*self.open, record), lengths=lengths)


def load(storage, meta: Meta, needs: Needs = Needs(trials=True)) -> Snapshot:
    """Reads what ``needs`` asks for, once. Call inside ``storage.locked()``."""
    trials = storage.snapshot_trials() if needs.trials else None
    lengths = None
    if trials is not None:
        spent, open_ = storage.totals(trials)
        lengths = storage.lengths(trials)
    elif needs.budget:
        spent, open_ = storage.spent(), tuple(storage.open_trials())
    else:
        spent = open_ = None
    return Snapshot(meta, trials, storage.all_scores() if needs.scores else None,
                    {rung: storage.rung_arrays(*rung) for rung in needs.rungs}, spent, open_, lengths)
