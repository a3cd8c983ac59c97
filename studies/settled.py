"""A study's aggregates for the live pages, kept per process and in the database.

A page polls every two seconds, also for a study of 100,000 trials. Finished
trials never change (hpopt.status), so what the pages show about them (the
counts, compute spent, the best trial, the best score per stretch of trial
numbers, the top trials at each ASHA rung) is folded once into a ``Tally``
kept per process, and brought up to date from the trials changed since,
through the (study, updated) index. A poll folds the open trials and the few
finished lately into a copy: it never reads the whole study.

The tally is also kept in the database (studies.StudyTally), written back at
most every SAVE_EVERY, so a new server process starts from it and folds only
what changed since, instead of every finished trial (1.2-2.1 s at 100,000
trials). Only a study's first fold ever, and the first after ``invalidate``,
reads every finished trial. Whoever changes or deletes a finished trial (not a
trial finishing: that is folded in as it settles) must call
``invalidate(study_id)``: every process then folds the study anew. The fold
from scratch that guards against writers' clocks (REFRESH) runs in a
background thread, the pages answering from the kept tally meanwhile.
Excluding a trial from the model's view, or including it again
(studies.lifecycle), is such a change: it calls ``invalidate``. An excluded
trial is folded as one that reported nothing (its count and compute stay).
"""
from __future__ import annotations

import dataclasses
import heapq
import threading
from datetime import datetime, timedelta
from types import SimpleNamespace

from django.db import IntegrityError, close_old_connections, transaction
from django.db.models import F
from django.utils import timezone

from hpopt import best as core_best
from hpopt.plan import full_length
from hpopt.status import FINISHED_STATES, SCORED_STATES, TrialState
from studies.models import Study, StudyTally
from studies.models.trial import CORE_FIELDS, record_from_values

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
#: ... in a background thread (the pages answer from the kept tally meanwhile)
REFRESH_IN_BACKGROUND = True
#: a process writes its tally back to the database at most this often
SAVE_EVERY = timedelta(seconds=30)
#: trial numbers per stretch of the score buckets (the page merges them)
STRETCH = 100
#: trials kept per ASHA column
TOP = 8
#: what a stored tally's fold means; raised whenever the fold changes what
#: it keeps or how it ranks (2: the full-length column ranked by final
#: score): a tally stored under another is folded anew, not read
FORMAT = 2
#: the columns a fold reads
FIELDS = ("id", "number", "state", "bracket", "iterations", "last_iteration", "spent", "best_score", "last_score",
          "params", "rungs", "excluded")
#: the columns of an open trial: the fold's, the core's record's and the
#: page's (studies.api.serialize.TRIAL_LIST_FIELDS) with its change time
OPEN_FIELDS = tuple(dict.fromkeys((*FIELDS, *CORE_FIELDS, "updated", "finished", "heartbeat", "host", "gpu")))


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
    (by the score at the rung; "full" and "short" by the final score, the latest report's)
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
            # a completed trial ranks by its final score, as the best config does (hpopt.best)
            final = row["last_score"] if row["last_score"] is not None else score
            self._top((bracket, "full" if full else "short"), row, final)

    def _top(self, key, row: dict, value: float) -> None:
        entry = ((self.sign * value, -row["number"]), row["id"], row["number"], row["state"], value,
                 row["last_iteration"])
        top = self.tops.setdefault(key, [])
        if len(top) < TOP:
            heapq.heappush(top, entry)
        elif entry[0] > top[0][0]:
            heapq.heapreplace(top, entry)

    def to_json(self) -> dict:
        """The tally as JSON values (studies.StudyTally.data); from_json reads it back."""
        best = [{**{f: getattr(c, f) for f in FIELDS}, "state": c.state.value} for c in self.best]
        return {"format": FORMAT, "sign": self.sign, "max_iterations": self.max_iterations, "short": self.short,
                "groups": [[list(k), v] for k, v in self.groups.items()],
                "stretches": [[k, v] for k, v in self.stretches.items()],
                "tops": [[list(k), [[list(e[0]), *e[1:]] for e in top]] for k, top in self.tops.items()],
                "best": best}

    @classmethod
    def from_json(cls, data: dict) -> Tally:
        return cls(data["sign"], data["max_iterations"], {tuple(k): v for k, v in data["groups"]},
                   {int(k): v for k, v in data["stretches"]},
                   # heap entries are tuples again (a heap compares them)
                   {tuple(k): [(tuple(e[0]), *e[1:]) for e in top] for k, top in data["tops"]},
                   [candidate(row) for row in data["best"]], data.get("short", 0))

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
    #: the database row's generation this tally belongs to (None: no row)
    generation: int | None
    #: when this process last wrote it to the database
    saved: datetime


_kept: dict[tuple, _Kept] = {}
#: studies whose fold from scratch runs in a background thread now
_refreshing: set[tuple] = set()


def _rows(trials, fields=FIELDS, stream: bool = False):
    """``stream``: through a server-side cursor in chunks (the whole study's
    fold); a poll's few rows come in one fetch (on PostgreSQL a cursor costs
    three round trips: DECLARE, FETCH, CLOSE)."""
    rows = trials.order_by().values(*fields)
    return rows.iterator(chunk_size=5000) if stream else rows


def invalidate(study_id: int) -> None:
    """Forgets the fold of the study's finished trials in every process (the
    database row's generation goes up; each process compares it at every
    call). Call it after changing or deleting a finished trial, in the same
    transaction or after it commits (not before: a fold in between would
    still see the trial); the next page folds the study anew."""
    if not StudyTally.objects.filter(study_id=study_id).update(generation=F("generation") + 1, data=None):
        try:
            with transaction.atomic():
                StudyTally.objects.create(study_id=study_id, generation=1)
        except IntegrityError:   # made meanwhile by another process: raise that one
            StudyTally.objects.filter(study_id=study_id).update(generation=F("generation") + 1, data=None)
    for key in [k for k in _kept if k[0] == study_id]:
        _kept.pop(key, None)


def _fold_all(study, until: datetime, now: datetime, generation: int | None) -> _Kept:
    """The finished trials last changed before ``until``, folded from scratch,
    and written to the database (unless invalidated since ``generation`` was read)."""
    finished = study.trials.filter(state__in=FINISHED, updated__lt=until)
    tally = Tally(1 if study.mode == "max" else -1, study.plan["max_iterations"])
    # (the parameters only matter to the best trial, read below)
    for row in _rows(finished, [f for f in FIELDS if f != "params"], stream=True):
        tally.fold(row)
    best = study.best_trial(finished)     # the database ranks; a fold would call the rule 100,000 times
    tally.best = [candidate(r) for r in _rows(study.trials.filter(pk=best.pk))] if best else []
    kept = _Kept(until, now, tally, generation, now)
    return _save(study, kept, create=generation is None)


def _save(study, kept: _Kept, create: bool = False) -> _Kept:
    """Writes the tally to the study's row if its generation is still
    ``kept.generation`` (or makes the row); returns ``kept`` with the
    generation it was written under (None: not written)."""
    fields = {"until": kept.until, "made": kept.made, "data": kept.tally.to_json()}
    if create:
        try:
            with transaction.atomic():
                StudyTally.objects.create(study_id=study.pk, generation=0, **fields)
            return dataclasses.replace(kept, generation=0)
        except IntegrityError:   # another process made it first: read from it at the next call
            return dataclasses.replace(kept, generation=None)
    StudyTally.objects.filter(study_id=study.pk, generation=kept.generation).update(**fields)
    return kept


def _stored(study, generation: int, until: datetime, now: datetime) -> _Kept | None:
    """The tally of the study's row, if it holds one this process can go on from."""
    row = StudyTally.objects.filter(study_id=study.pk, generation=generation).values_list(
        "until", "made", "data").first()
    if row is None or row[2] is None or row[0] is None or row[0] > until or row[2].get("format") != FORMAT:
        return None   # (a tally folded by other code than this is folded anew)
    return _Kept(row[0], row[1], Tally.from_json(row[2]), generation, now)


def _refresh_later(study) -> None:
    """Folds the study from scratch in a background thread (see REFRESH)."""
    key = (study.pk, study.created)
    if not REFRESH_IN_BACKGROUND or key in _refreshing:
        return
    _refreshing.add(key)

    def run():
        try:
            fresh = Study.objects.filter(pk=study.pk, created=study.created).first()
            generation = StudyTally.objects.filter(study_id=study.pk).values_list("generation", flat=True).first()
            if fresh is not None and generation is not None:
                now = timezone.now()
                kept = _fold_all(fresh, now - SETTLE, now, generation)
                current = _kept.get(key)
                if current is None or current.generation == kept.generation:
                    _kept[key] = kept
        finally:
            _refreshing.discard(key)
            close_old_connections()

    threading.Thread(target=run, name=f"tally-{study.pk}", daemon=True).start()


def _settled(study, now: datetime) -> _Kept:
    """The tally of the finished trials last changed before ``now - SETTLE``."""
    key, until = (study.pk, study.created), now - SETTLE
    generation = StudyTally.objects.filter(study_id=study.pk).values_list("generation", flat=True).first()
    kept = _kept.get(key)
    if kept is not None and (kept.generation != generation or until < kept.until):
        kept = None   # invalidated (by this or another process), or the clock went back
    if kept is None and generation is not None:
        kept = _stored(study, generation, until, now)    # a process's first call: the row's tally
    if kept is None:
        kept = _fold_all(study, until, now, generation)
    else:
        if now - kept.made > REFRESH:
            _refresh_later(study)
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
        kept = dataclasses.replace(kept, until=until, tally=tally)
        if changed and now - kept.saved > SAVE_EVERY:
            kept = _save(study, dataclasses.replace(kept, saved=now))
    _kept[key] = kept
    return kept


def live_rows(study) -> tuple[Tally, list[dict]]:
    """(the tally of every trial, the open trials' rows of OPEN_FIELDS, by number)."""
    kept = _settled(study, timezone.now())
    tally = kept.tally.copy()
    # open trials through the (study, state) index, trials finished lately
    # through (study, updated); a trial in both is counted once. Rows, not
    # models: a poll reads every running trial, and a model's instance and
    # its every column cost more than the rest of the fold; the poll sends
    # the same rows (studies.api.cursor.changes) instead of reading them again.
    open_rows = list(_rows(study.trials.filter(state__in=OPEN_STATES), OPEN_FIELDS))
    open_rows.sort(key=lambda row: row["number"])
    recent = list(_rows(study.trials.filter(updated__gte=kept.until).exclude(state__in=OPEN_STATES)))
    for row in recent + open_rows:
        tally.fold(row)
    tally.choose_best(study, recent + open_rows)
    return tally, open_rows


def records(rows: list[dict]) -> list:
    """The core's records (hpopt.snapshot TrialRecord) of rows of OPEN_FIELDS."""
    return [record_from_values(row["number"], {f: row[f] for f in CORE_FIELDS}) for row in rows]


def live(study) -> tuple[Tally, list]:
    """(the tally of every trial, the open trials as the core's records, by number)."""
    tally, rows = live_rows(study)
    return tally, records(rows)
