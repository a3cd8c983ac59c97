"""The trials an analysis reads: one fidelity per study, a bounded sample.

Scores are only comparable at one length of training. A Bayesian study's
trials train the full length (``full``), unless median stopping ended them
early; an ASHA study's trials mostly stop at a rung. The fidelity used is
the longest with enough trials (``need``: twice the parameters, at least
MIN_TRIALS): full length (the final score of the trials completed at the
plan's ``max_iterations``), else each ASHA rung from the highest down (the
score each trial had there, as ASHA ranked it), else, when none has enough,
the one with the most trials (for a Bayesian study: every finished trial's
best score, at whatever length it stopped).

The trials at each fidelity are counted from the live pages' tally
(studies.settled), and at most about SAMPLE of them are read (every k-th
by number), so a study of 100,000 trials costs one scan of its trial rows
and a few thousand rows read. What was computed from them is kept per
process and computed again when the number of trials at any fidelity
changes.
"""
from __future__ import annotations

import dataclasses
import math
import threading
from collections import OrderedDict

from django.db.models import F, Q
from django.db.models.functions import Coalesce, Mod

from studies import settled
from studies.settled import SCORED

SAMPLE = 2000
MIN_TRIALS = 8
CACHED_STUDIES = 16


@dataclasses.dataclass(frozen=True)
class Fidelity:
    kind: str            # "full", "rung" or "any"
    iteration: int | None
    label: str
    where: Q = dataclasses.field(compare=False, repr=False, default=None)
    #: the same rule on a tally group's (state, bracket, last_iteration)
    holds: object = dataclasses.field(compare=False, repr=False, default=None)


@dataclasses.dataclass(frozen=True)
class Dataset:
    space: dict
    numbers: list
    params: list
    scores: list
    fidelity: Fidelity
    trials: int          # trials at this fidelity (the sample is a part of them when sampled)

    @property
    def sampled(self) -> bool:
        return len(self.numbers) < self.trials


def need(space: dict) -> int:
    """Trials a fidelity needs: twice the parameters, at least MIN_TRIALS."""
    return max(MIN_TRIALS, 2 * len(space))


def candidates(study) -> list[Fidelity]:
    """Fidelities from the longest training down."""
    plan = study.plan
    full = plan["max_iterations"]
    out = [Fidelity("full", full, f"full length (epoch {full})",
                    Q(state="completed", last_iteration__gte=full) & ~Q(best_score=None),
                    lambda state, bracket, last: state == "completed" and last >= full)]
    if study.algorithm == "asha":
        brackets = plan.get("brackets") or []
        milestones = sorted({m for ms in brackets for m in ms if m < full}, reverse=True)
        for m in milestones:
            inside = [b for b, ms in enumerate(brackets) if m in ms]
            out.append(Fidelity("rung", m, f"epoch {m} (ASHA rung)", Q(bracket__in=inside, last_iteration__gte=m),
                                lambda state, bracket, last, m=m, inside=frozenset(inside):
                                    bracket in inside and last >= m))
    else:
        out.append(Fidelity("any", None, "any length (each trial's best score)",
                            Q(state__in=sorted(SCORED)) & ~Q(best_score=None),
                            lambda state, bracket, last: state in SCORED))
    return out


def counts(study, fidelities) -> list[int]:
    """Trials at each fidelity, from the live pages' tally (studies.settled:
    kept per process, so no pass over the study's trials)."""
    tally, _ = settled.live_rows(study)
    return [sum(n for (state, bracket, last), (n, _) in tally.groups.items() if f.holds(state, bracket, last or 0))
            for f in fidelities]


def choose(fidelities, numbers: list[int], needed: int) -> int:
    """Index of the fidelity to use."""
    for i, n in enumerate(numbers):
        if n >= needed:
            return i
    return max(range(len(numbers)), key=lambda i: (numbers[i], -i))


def _rows(study, fidelity: Fidelity, total: int):
    # an excluded trial is out of the model's view (studies/lifecycle.py): out of the analysis too
    qs = study.trials.order_by("number").filter(fidelity.where, excluded=False)
    if total > SAMPLE:
        # whole rounds of ASHA's round robin (trial n runs in bracket n % brackets): every
        # k-th trial alone would alias with it and read one bracket only
        rounds = max(1, len(study.plan.get("brackets") or ()))
        qs = qs.alias(_k=Mod(F("number") / rounds, math.ceil(total / SAMPLE))).filter(_k=0)
    if fidelity.kind == "rung":
        key = str(fidelity.iteration)
        for number, params, rungs in qs.values_list("number", "params", "rungs").iterator(chunk_size=2000):
            if isinstance((rungs or {}).get(key), (int, float)):
                yield number, params, float(rungs[key])
        return
    score = Coalesce("last_score", "best_score") if fidelity.kind == "full" else F("best_score")
    yield from qs.annotate(_score=score).values_list("number", "params", "_score").iterator(chunk_size=2000)


def load(study, fidelities=None, numbers=None) -> Dataset:
    fidelities = fidelities or candidates(study)
    numbers = numbers if numbers is not None else counts(study, fidelities)
    i = choose(fidelities, numbers, need(study.initial_space))
    rows = [r for r in _rows(study, fidelities[i], numbers[i]) if r[2] is not None and math.isfinite(r[2])]
    # a trial the tally counts may lack a score there (none reported yet): counted as read when all were read
    trials = numbers[i] if numbers[i] > SAMPLE else len(rows)
    return Dataset(space=dict(study.initial_space), numbers=[r[0] for r in rows], params=[r[1] for r in rows],
                   scores=[r[2] for r in rows], fidelity=fidelities[i], trials=trials)


class Cache:
    """What was computed from a study's sample, per process, keyed by the
    study and its trial counts at every fidelity (the few latest studies)."""

    def __init__(self, size: int = CACHED_STUDIES):
        self.size, self.lock, self.items = size, threading.Lock(), OrderedDict()

    def get(self, study, build):
        """``build(dataset)``'s result for the study's current trials."""
        fidelities = candidates(study)
        numbers = counts(study, fidelities)
        key = (study.pk, tuple(numbers))
        with self.lock:
            hit = self.items.get(study.pk)
            if hit is not None and hit[0] == key:
                self.items.move_to_end(study.pk)
                return hit[1]
        value = build(load(study, fidelities, numbers))
        with self.lock:
            self.items[study.pk] = (key, value)
            self.items.move_to_end(study.pk)
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value
