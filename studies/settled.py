"""A study's aggregates for the live pages, kept per process.

A page polls every two seconds, also for a study of 100,000 trials. Finished
trials never change (hpopt.status), so what the pages show about them (the
counts, compute spent, the best trial, the best score per stretch of trial
numbers, the top trials at each ASHA rung) is folded once into a ``Tally``
kept per process, and brought up to date from the trials changed since,
through the (study, updated) index. A poll folds the open trials and the few
finished lately into a copy: it never reads the whole study.

One change reaches finished trials: excluding one from the model's view, or
including it again (studies.lifecycle). It bumps the study's ``revision``,
and a tally kept at another revision is rebuilt (in every process: each
reads the revision with the study it serves). An excluded trial is folded as
one that reported nothing (its count and compute stay).
"""
from __future__ import annotations

import dataclasses
import heapq
from datetime import datetime, timedelta
from types import SimpleNamespace

from django.utils import timezone

from hpopt import best as core_best
from hpopt.plan import full_length
from hpopt.status import FINISHED_STATES, SCORED_STATES, TrialState

FINISHED = frozenset(s.value for s in FINISHED_STATES)
SCORED = frozenset(s.value for s in SCORED_STATES)
OPEN_STATES = (TrialState.QUEUED.value, TrialState.RUNNING.value, TrialState.PAUSED.value)
#: a finished trial whose ``updated`` stamp is older than this has been
#: committed (writers stamp, then commit within a second or so; the live
#: cursor allows 3 s); younger ones are read on every call
SETTLE = timedelta(seconds=60)
#: the kept tally is rebuilt from scratch this often: it stays right even if
#: a writer's clock was off by more than SETTLE
REFRESH = timedelta(minutes=10)
#: trial numbers per stretch of the score buckets (the page merges them)
STRETCH = 100
#: trials kept per ASHA column
TOP = 8
#: the columns a fold reads
FIELDS = ("id", "number", "state", "bracket", "iterations", "last_iteration", "spent", "best_score", "last_score",
          "params", "rungs", "excluded")


def seen(row: dict) -> dict:
    """The row as the model sees it: an excluded trial (studies.lifecycle) without its scores."""
    return {**row, "best_score": None, "last_score": None, "rungs": {}} if row.get("excluded") else row


def candidate(row: dict) -> SimpleNamespace:
    """A trial as hpopt.best.best_trial reads it (and the pages show it)."""
    return SimpleNamespace(**{**seen(row), "trial_id": row["number"], "state": TrialState(row["state"])})


@dataclasses.dataclass
class Tally:
    """groups: {(state, bracket, last_iteration): [trials, spent]};
    stretches: {number // STRETCH: [trials, lowest, highest, best scored]}
    over finished trials with a score; tops: {(bracket, milestone, or "full"
    or "short"): [(rank key, id, number, state, score, last_iteration)]}, the best TOP
    ("full": completed trials trained to the full length, max_iterations;
    "short": completed ones handed fewer epochs, ASHA's backfill); best: the
    best-trial candidates (hpopt.best.best_trial of the union is the best);
    short: trials of every state handed fewer epochs than max_iterations."""

    sign: int
    max_iterations: int
    groups: dict = dataclasses.field(default_factory=dict)
    stretches: dict = dataclasses.field(default_factory=dict)
    tops: dict = dataclasses.field(default_factory=dict)
    best: list = dataclasses.field(default_factory=list)
    short: int = 0

    def copy(self) -> Tally:
        return Tally(self.sign, self.max_iterations, {k: list(v) for k, v in self.groups.items()},
                     {k: list(v) for k, v in self.stretches.items()},
                     {k: list(v) for k, v in self.tops.items()}, list(self.best), self.short)

    def fold(self, row: dict) -> None:
        """Adds one trial (a dict of FIELDS)."""
        row = seen(row)
        state, bracket, score = row["state"], row["bracket"] or 0, row["best_score"]
        full = full_length(row["iterations"], self.max_iterations)
        self.short += not full
        group = self.groups.setdefault((state, row["bracket"], row["last_iteration"]), [0, 0.0])
        group[0] += 1
        group[1] += row["spent"]
        if score is not None and state in FINISHED:
            s = self.stretches.get(row["number"] // STRETCH)
            scored = score if state in SCORED else None
            if s is None:
                self.stretches[row["number"] // STRETCH] = [1, score, score, scored]
            else:
                s[0] += 1
                s[1], s[2] = min(s[1], score), max(s[2], score)
                if scored is not None and (s[3] is None or self.sign * scored > self.sign * s[3]):
                    s[3] = scored
        for milestone, value in (row["rungs"] or {}).items():
            if value is not None:
                self._top((bracket, int(milestone)), row, value)
        if state == TrialState.COMPLETED.value and score is not None:
            self._top((bracket, "full" if full else "short"), row, score)

    def _top(self, key, row: dict, value: float) -> None:
        entry = ((self.sign * value, -row["number"]), row["id"], row["number"], row["state"], value,
                 row["last_iteration"])
        top = self.tops.setdefault(key, [])
        if len(top) < TOP:
            heapq.heappush(top, entry)
        elif entry[0] > top[0][0]:
            heapq.heapreplace(top, entry)

    def choose_best(self, study, rows: list[dict]) -> None:
        """Keeps only the best trial among the kept candidates and ``rows``."""
        found = core_best.best_trial(self.best + [candidate(r) for r in rows], study.mode,
                                     study.plan["max_iterations"])
        self.best = [found] if found else []


@dataclasses.dataclass
class _Kept:
    until: datetime
    made: datetime
    tally: Tally
    #: the study's revision the tally was built at (Study.revision)
    revision: int = 0


_kept: dict[tuple, _Kept] = {}


def _rows(trials, fields=FIELDS, stream: bool = False):
    """``stream``: through a server-side cursor in chunks (the whole study's
    fold); a poll's few rows come in one fetch (on PostgreSQL a cursor costs
    three round trips: DECLARE, FETCH, CLOSE)."""
    rows = trials.order_by().values(*fields)
    return rows.iterator(chunk_size=5000) if stream else rows


def _settled(study, now: datetime) -> _Kept:
    """The tally of the finished trials last changed before ``now - SETTLE``."""
    key, until = (study.pk, study.created), now - SETTLE
    kept = _kept.get(key)
    if kept is None or now - kept.made > REFRESH or until < kept.until or kept.revision != study.revision:
        finished = study.trials.filter(state__in=FINISHED, updated__lt=until)
        tally = Tally(1 if study.mode == "max" else -1, study.plan["max_iterations"])
        # (the parameters only matter to the best trial, read below)
        for row in _rows(finished, [f for f in FIELDS if f != "params"], stream=True):
            tally.fold(row)
        best = study.best_trial(finished)     # the database ranks; a fold would call the rule 100,000 times
        tally.best = [candidate(r) for r in _rows(study.trials.filter(pk=best.pk))] if best else []
        kept = _Kept(until, now, tally, study.revision)
    else:
        # the trials changed in between, of which the finished ones join
        # (exclude, not filter, by state: a planner then keeps to the updated index)
        changed = list(_rows(study.trials.filter(updated__gte=kept.until, updated__lt=until)
                             .exclude(state__in=OPEN_STATES)))
        tally = kept.tally
        if changed:
            tally = tally.copy()
            for row in changed:
                tally.fold(row)
            tally.choose_best(study, changed)
        kept = _Kept(until, kept.made, tally, kept.revision)
    _kept[key] = kept
    return kept


def live(study) -> tuple[Tally, list]:
    """(the tally of every trial, the open trials as models)."""
    kept = _settled(study, timezone.now())
    tally = kept.tally.copy()
    # open trials through the (study, state) index, trials finished lately
    # through (study, updated); a trial in both is counted once
    open_trials = list(study.trials.filter(state__in=OPEN_STATES).order_by().defer("log", "traceback"))
    recent = list(_rows(study.trials.filter(updated__gte=kept.until).exclude(state__in=OPEN_STATES)))
    open_rows = [{f: getattr(t, f) for f in FIELDS} for t in open_trials]
    for row in recent + open_rows:
        tally.fold(row)
    tally.choose_best(study, recent + open_rows)
    return tally, open_trials
