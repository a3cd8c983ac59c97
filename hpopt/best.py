"""The best-trial rule: which trial's config hpopt recommends. One rule for
the library (``get_best_config``, ``print_results``), the dashboard's pages,
its API and its downloads (the database applies ``POOLS`` and
``final_score`` as a query: studies.models.Study.best_trial).

A trial is ranked by its **final score** (``final_score``: its latest
report, the score its training ended with, as Ray Tune's ``scope="last"``
and Optuna's trial value; not its best epoch, which is often a lucky one or
one before overfitting; benchmarks/RESULTS.md measured the difference),
higher first when the mode is ``max``, ties to the earlier trial, within
the first non-empty pool of ``POOLS``:

1. completed trials trained to the study's full length (the plan's
   ``max_iterations``; ASHA's backfill trials get fewer);
2. any completed trial (a shorter one only counts while no full-length
   trial has completed);
3. every trial that reported and may still be the best (running and paused
   ones included, so a study in progress has a best so far).

A trial stopped early, or a backfill trial trained to a smaller budget,
scored at low fidelity: its score is not the one a full training gives, so
it never beats a full-length training.
"""
from __future__ import annotations

import dataclasses

from hpopt.plan import full_length
from hpopt.status import BEST_CANDIDATE_STATES, TrialState


@dataclasses.dataclass(frozen=True)
class Pool:
    states: frozenset
    #: only trials whose ``iterations`` reach the plan's max_iterations
    full_length: bool


POOLS = (
    Pool(frozenset({TrialState.COMPLETED}), full_length=True),
    Pool(frozenset({TrialState.COMPLETED}), full_length=False),
    Pool(BEST_CANDIDATE_STATES, full_length=False),
)


def best_of(values: list[float], mode: str) -> float | None:
    if not values:
        return None
    return max(values) if mode == "max" else min(values)


def final_score(trial) -> float | None:
    """What a trial is ranked by: its latest report's score; the best score
    for trials stored before hpopt kept it. ``trial``: a TrialRecord, or
    anything with ``best_score`` and ``last_score`` (the dashboard's rows)."""
    return trial.best_score if trial.last_score is None else trial.last_score


def best_trial(trials, mode: str, full_iterations: int):
    """The trial to recommend among ``trials`` (see the module doc), or None
    before any trial reported. ``full_iterations``: the plan's max_iterations."""
    scored = [t for t in trials if t.best_score is not None and t.state in BEST_CANDIDATE_STATES]
    sign = 1 if mode == "max" else -1
    for pool in POOLS:
        found = [t for t in scored if t.state in pool.states
                 and (not pool.full_length or full_length(t.iterations, full_iterations))]
        if found:
            return max(found, key=lambda t: (sign * final_score(t), -t.trial_id))
    return None
