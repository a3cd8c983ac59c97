"""ASHA's promotion rule, for ``promotion="pause"``.

Li et al., "A System for Massively Parallel Hyperparameter Tuning", MLSys
2020 (arXiv 1810.05934), Algorithm 2: a trial that reaches a rung waits
there; when a worker asks for work, the best not-yet-promoted trial of the
highest rung where one ranks in the top ``floor(n / eta)`` of the ``n``
scores recorded there is promoted (it continues from its checkpoint to its
next rung), otherwise a new trial starts. Unlike deciding on arrival
(``promotion="on_arrival"``, hpopt.algorithms.asha), nothing passes a rung
while fewer than ``eta`` scores are recorded there, and a trial that ranked
low among the first arrivals is not lost: it is promoted once enough worse
ones arrive after it.

A waiting trial is a paused one with a stop reason: only ASHA's pause gives
a paused trial one (a user's pause never does, and a start clears it). Its
rung is the deepest it recorded; it resumes after ``resume_iteration``.

Two rules for the ends of a study (hpopt.engine.next_sample):

* ``relaxed``: once no new trial is handed out (the plan or the budget is
  spent), a worker that would idle promotes with the quota of deciding on
  arrival, ``max(1, n // eta)``: the first trial at the top rung trains on
  to the end (a full-length result for the best-config rule, hpopt.best)
  instead of waiting for company that will not come.
* A trial still waiting when nothing runs and nothing can be handed out is
  stopped ("not promoted"); its rung score stays its last score.
"""
from __future__ import annotations

import numpy as np

from hpopt.status import TrialState


def promotion_quota(recorded: int, eta: int, relaxed: bool = False) -> int:
    """How many of ``recorded`` scores at a rung may be promoted: the top
    ``floor(recorded / eta)``; relaxed, at least one."""
    return max(1, recorded // eta) if relaxed else recorded // eta


def promotable(signed_score: float, others_signed, eta: int, relaxed: bool = False) -> bool:
    """True when ``signed_score`` ranks inside the rung's promotion quota
    among itself and ``others_signed`` (higher is better; ties rank in the
    trial's favour)."""
    others = np.asarray(others_signed, dtype=float)
    rank = 1 + int(np.count_nonzero(others > signed_score))
    return rank <= promotion_quota(len(others) + 1, eta, relaxed)


def promotion_bar(signed_scores, eta: int, relaxed: bool = False) -> float | None:
    """The lowest signed score at a rung that is ``promotable`` there:
    ``signed_scores`` holds every score of the rung, the trial's own
    included; None when the quota is 0. One pass per rung instead of one
    ranking per waiting trial (hundreds wait at the first rung)."""
    scores = np.asarray(signed_scores, dtype=float)
    quota = promotion_quota(len(scores), eta, relaxed)
    if quota == 0:
        return None
    # ranked inside the quota = fewer than ``quota`` scores above it = at least the quota-th best
    return float(np.partition(scores, len(scores) - quota)[len(scores) - quota])


def waiting_rung(trial) -> int | None:
    """The rung milestone a trial waits at to be promoted, or None when it
    does not wait (see the module doc)."""
    if trial.state is TrialState.PAUSED and trial.stop_reason and trial.rungs:
        return max(trial.rungs)
    return None
