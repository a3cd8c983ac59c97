"""Progress of a study: one rule for the library's ``get_progress()``, the
dashboard's bar, its list and its API.

* ``spent``: the epochs trained by every trial that ran (a queued re-run's
  old progress does not count);
* ``fraction``: spent over the plan's expected epochs (the budget), 1.0 once
  the plan is handed out and nothing is left to run, and at most
  ``BEFORE_DONE`` until then. Asynchronous halving promotes more than 1/eta
  while few trials have reached a rung, so a study can outrun its plan: the
  bar then waits just short of the end instead of claiming it, and never
  moves back while epochs are trained;
* ``remaining``: the larger of the plan's unspent epochs and the epochs the
  study will certainly still train (every unfinished trial up to its next
  decision: its next ASHA rung or its end, and the trials the plan has not
  created yet at the plan's per-trial average): what the dashboard's ETA
  counts.
"""
from __future__ import annotations

import dataclasses

from hpopt.algorithms.asha import certain_epochs, position
from hpopt.status import TrialState

#: the largest fraction shown while work is left
BEFORE_DONE = 0.99

@dataclasses.dataclass(frozen=True)
class Progress:
    fraction: float
    #: epochs trained so far (on the plan's subset)
    spent: float
    #: the plan's expected epochs
    planned: float
    #: epochs still to train, at least (0 once the study ended)
    remaining: float


def milestones(plan, bracket) -> list:
    brackets = plan.brackets
    return list(brackets[bracket]) if bracket is not None and bracket < len(brackets) else []


def committed_epochs(plan, open_trials, created: int) -> float:
    """Epochs the study will certainly still train. ``open_trials``:
    (position, iterations, bracket) of every queued, running or paused
    trial; ``created``: how many trials exist."""
    total = float(sum(certain_epochs(at, iterations, milestones(plan, bracket))
                      for at, iterations, bracket in open_trials))
    missing = max(0, plan.num_trials - created)
    if missing:
        total += missing * plan.expected_epochs / plan.num_trials
    return total


def progress(plan, spent: float, open_trials, created: int, *, search_over: bool = False,
             ended: bool = False) -> Progress:
    """The rule above. ``ended``: the study will train nothing more (it was
    completed, killed or failed)."""
    open_trials = list(open_trials)
    planned = max(float(plan.expected_epochs), 1e-9)
    handed_out = created >= plan.num_trials or search_over
    if created and handed_out and not open_trials:
        return Progress(1.0, spent, planned, 0.0)
    remaining = 0.0 if ended else max(planned - spent, committed_epochs(plan, open_trials, created))
    return Progress(min(BEFORE_DONE, spent / planned), spent, planned, remaining)


def of_trials(meta, trials) -> Progress:
    """Progress from a study's meta (hpopt.snapshot.Meta) and all its trials."""
    spent = sum(t.last_iteration for t in trials if t.state is not TrialState.QUEUED)
    open_trials = [(position(t), t.iterations, t.bracket) for t in trials
                   if t.state.is_active() or t.state is TrialState.PAUSED]
    return progress(meta.plan, spent, open_trials, len(trials), search_over=meta.search_over,
                    ended=bool(meta.error))
