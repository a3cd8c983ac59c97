"""The budget is a promise: a study never spends more compute than its budget
buys.

Units are full-epoch equivalents of compute, all workers together: one epoch
on a subset costs ``Plan.epoch_cost(subset)``, each attempt of a trial a
start-up (``Plan.startup_epochs``). Every trial counts what it spent
(``TrialRecord.spent``: every epoch it trained, in every attempt, and each
attempt's start-up), and the budget is ``Plan.budget_compute``, what
``expected_time_ratio`` buys under the plan's parallelism.

A study runs under the hard budget when ``hard_budget`` is on (the default)
and Auto Config chose at least one of num_trials, max_iterations and
subset_ratio. With every one of them fixed, the user's plan runs as given
(Auto Config warns when it exceeds the budget); with ``hard_budget=False``
the budget only plans, as before hpopt kept it.

Under the hard budget nothing is started that the budget cannot finish: what
the open trials are certain to spend still (``committed``: a running trial up
to its next decision, an ASHA rung or its end; a queued or paused one its
start-up too) is set aside, and a new trial, a promotion past an ASHA rung,
or a re-run after a lost attempt is taken on only if it fits in what is left.
"""
from __future__ import annotations

import dataclasses

from hpopt.errors import FieldError
from hpopt.fields import RULES
from hpopt.plan import plan as make_plan

#: spent / budget above 1 by less than this is rounding, not overspending
SLACK = 1e-9


def applies(settings, plan) -> bool:
    """Whether the study runs under the hard budget (see the module doc)."""
    return bool(settings.hard_budget and plan.auto)


@dataclasses.dataclass(frozen=True)
class Ledger:
    """A study's budget, what it spent, and what its open trials are certain to spend still."""

    budget: float
    spent: float
    committed: float

    @property
    def left(self) -> float:
        """What can still be given to new work."""
        return self.budget - self.spent - self.committed

    def fits(self, cost: float) -> bool:
        return cost <= self.left + SLACK * max(1.0, self.budget)


def ledger(algorithm, spent: float, open_trials, exclude: int | None = None) -> Ledger:
    """The ledger of a study (``algorithm`` knows what a trial is certain to
    spend); ``exclude``: a trial whose commitment is being decided."""
    committed = sum(algorithm.certain_cost(t) for t in open_trials if t.trial_id != exclude)
    return Ledger(algorithm.plan.budget_compute, spent, committed)


def ledger_at_report(algorithm, snap, trial) -> Ledger:
    """The ledger while ``trial`` (already updated with a report) decides on
    its next step: the snapshot holds the trial as stored before the report."""
    stored = next((t for t in snap.open if t.trial_id == trial.trial_id), None)
    spent = snap.spent - (stored.spent if stored is not None else 0.0) + trial.spent
    return ledger(algorithm, spent, snap.open, exclude=trial.trial_id)


def extended(meta, expected_time_ratio: float | None = None, add_trials: int | None = None):
    """The study's meta with more budget: a larger ``expected_time_ratio``,
    or ``add_trials`` more trials (the ratio then grows by what they cost).
    The study goes on from its stored state: the subset, the epochs per
    trial and ASHA's brackets stay; Auto Config plans the trials the new
    budget buys (or keeps the user's count, raised by ``add_trials``), and
    what the plan counts as chosen by Auto Config stays, so the hard budget
    applies as before. Raises FieldError for a budget that is not larger."""
    plan, settings = meta.plan, meta.settings
    if (expected_time_ratio is None) == (add_trials is None):
        raise FieldError("budget", "give either expected_time_ratio or add_trials")
    trials = None if grows(plan) else plan.num_trials
    if add_trials is not None:
        add_trials = RULES["num_trials"].check("add_trials", add_trials)
        expected_time_ratio = settings.expected_time_ratio + add_trials * plan.trial_cost_epochs() / (
            plan.num_full_iterations * plan.parallel)
        trials = plan.num_trials + add_trials if trials is not None else None
    ratio = RULES["expected_time_ratio"].check("expected_time_ratio", expected_time_ratio)
    if ratio <= settings.expected_time_ratio:
        raise FieldError("expected_time_ratio", f"expected_time_ratio must be above the study's "
                                                f"{settings.expected_time_ratio:g} to give it more budget "
                                                f"(got {ratio:g})")
    return _replanned(meta, ratio, trials)


def remeasured(meta, expected_time_ratio: float):
    """The study's meta with its budget set to ``expected_time_ratio``,
    larger or smaller: what a budget given as wall time buys once the
    study's own pace is measured (studies.deadline). Re-planned as
    ``extended`` does; the trials a user fixed stay."""
    plan = meta.plan
    ratio = RULES["expected_time_ratio"].check("expected_time_ratio", expected_time_ratio)
    return _replanned(meta, ratio, None if grows(plan) else plan.num_trials)


def grows(plan) -> bool:
    """Whether more budget buys ``plan`` more work when it is re-planned:
    its trial count is Auto Config's (``remeasured`` and ``extended`` keep
    the epochs and subset it runs with, and the trials a user fixed)."""
    return "num_trials" in plan.auto


def _replanned(meta, ratio: float, trials: int | None):
    plan, settings = meta.plan, meta.settings
    kwargs = {**settings.plan_kwargs(), "expected_time_ratio": ratio, "num_trials": trials,
              "subset_ratio": plan.subset_ratio, "max_iterations": plan.max_iterations,
              "min_iterations": plan.min_iterations, "num_brackets": plan.num_brackets}
    new = dataclasses.replace(make_plan(**kwargs), auto=plan.auto)
    raw_plan = {k: v for k, v in new.to_dict().items()}
    raw_settings = {**meta.raw["settings"], "expected_time_ratio": ratio}
    return meta.replace(settings=raw_settings, plan=raw_plan, budget_refused=False)
