"""The algorithm seam: suggest the next trial, decide on each report.

An algorithm holds no state of its own between calls and never talks to a
storage: each method receives a :class:`hpopt.snapshot.Snapshot` (the values
the engine loaded inside the storage's lock) and returns its decision as
values (:class:`NewTrial`, :class:`Outcome`), never acting on it. So any
process can take the next decision, a restart loses nothing, and tests call
the methods with snapshots built by hand.
"""
from __future__ import annotations

import abc
import dataclasses

import numpy as np

from hpopt import budget
from hpopt.plan import Plan
from hpopt.settings import Settings
from hpopt.snapshot import Needs, Snapshot
from hpopt.space import SearchSpace
from hpopt.status import Decision, TrialState
from hpopt.storage.base import TrialRecord


@dataclasses.dataclass
class NewTrial:
    """What an algorithm proposes; the engine turns it into a stored trial."""

    params: dict
    iterations: int
    subset_ratio: float
    bracket: int | None = None


@dataclasses.dataclass(frozen=True)
class Outcome:
    """An algorithm's answer to a report: its decision, the trial's ASHA
    rungs when this report recorded one (None: unchanged), and why it
    stopped the trial (for the pages: "below the top 1/3 at rung 4")."""

    decision: Decision
    rungs: dict | None = None
    reason: str = ""


def position(trial: TrialRecord) -> int:
    """The iteration an unfinished trial trains on from: where a running one
    is, where a queued or paused one will start after."""
    return trial.last_iteration if trial.state is TrialState.RUNNING else trial.resume_iteration


class Algorithm(abc.ABC):
    def __init__(self, settings: Settings, space: SearchSpace | None, plan: Plan, meta=None):
        """``space`` may be None with ``meta`` (an hpopt.snapshot.Meta): the
        space is then parsed from it when first needed (a report decides
        without it)."""
        self.settings = settings
        self._space, self._meta = space, meta
        self.plan = plan
        #: set when a suggestion found no config left to try (a discrete space)
        self.space_exhausted = False
        #: +1 when higher scores are better; every comparison is on sign * score
        self.sign = 1.0 if settings.mode == "max" else -1.0

    @property
    def space(self) -> SearchSpace:
        if self._space is None:
            self._space = self._meta.space
        return self._space

    def rng(self, trial_id: int) -> np.random.Generator:
        """A generator fixed by (seed, trial_id): a seeded run samples the same
        configs whichever process asks, and a resumed run continues the sequence."""
        if self.settings.seed is None:
            return np.random.default_rng()
        return np.random.default_rng([self.settings.seed, trial_id])

    @abc.abstractmethod
    def next_trial(self, snap: Snapshot, params: dict | None = None) -> NewTrial | None:
        """The next trial to run, from a snapshot with every trial, or None
        when there is nothing to hand out (the planned budget is; ASHA's
        backfill may add shorter trials past num_trials while others run).
        Never blocks on other trials. ``params``: a config given by hand
        (hpopt.engine.enqueue, checked against the space already), handed
        out instead of a sampled one under the same rules: the fidelity,
        bracket and budget a sampled trial would get now."""

    def report_needs(self, trial: TrialRecord, iteration: int) -> Needs:
        """What on_report reads for this report beyond ``trial`` itself (a
        report is the hot path: most decide from the trial alone)."""
        return Needs()

    @abc.abstractmethod
    def on_report(self, snap: Snapshot, trial: TrialRecord, iteration: int) -> Outcome:
        """Decides after ``trial`` (already updated with this report's score)
        reported at ``iteration``; ``snap`` holds what report_needs asked for
        (``snap.trials`` has the trials as they were before this report)."""

    #: trials wait at rungs to be promoted (ASHA with promotion="pause")
    pausing = False

    def promotion_rungs(self, open_trials) -> tuple:
        """The rungs, (bracket, milestone), ``promotion`` reads (none here)."""
        return ()

    def promotion(self, snap: Snapshot, relaxed: bool = False) -> TrialRecord | None:
        """A paused trial that waits to be promoted and is now (ASHA with
        ``promotion="pause"``), or None; the engine queues it to resume."""
        return None

    # -- what trials cost (hpopt.budget) ---------------------------------------------------
    def epoch_cost(self, trial: TrialRecord) -> float:
        """Full-epoch equivalents of one epoch of ``trial``."""
        return self.plan.epoch_cost(trial.subset_ratio)

    def certain_epochs(self, trial: TrialRecord) -> int:
        """Epochs an unfinished trial trains for sure from where it is (here:
        to its end; ASHA: to its next rung)."""
        return max(0, trial.iterations - position(trial))

    def expected_epochs_left(self, trial: TrialRecord) -> float:
        """Epochs an unfinished trial is expected to train still (here: to its end)."""
        return float(self.certain_epochs(trial))

    def stretches(self, trial: TrialRecord) -> list[tuple[int, float]]:
        """Where an unfinished trial may still stop, as (epochs from where it
        is, the chance it trains that far), nearest first (here: only its end,
        for sure)."""
        return [(self.certain_epochs(trial), 1.0)]

    def fresh_stretches(self, trial_id: int) -> list[tuple[int, float]]:
        """``stretches`` of a trial not created yet (here: the plan's full length)."""
        return [(self.plan.max_iterations, 1.0)]

    def _startup_due(self, trial: TrialRecord) -> float:
        return 0.0 if trial.state is TrialState.RUNNING else self.plan.startup_epochs

    def certain_cost(self, trial: TrialRecord) -> float:
        """Compute an unfinished trial is certain to spend still, its start-up
        included when it has still to start."""
        return self.certain_epochs(trial) * self.epoch_cost(trial) + self._startup_due(trial)

    def expected_cost_left(self, trial: TrialRecord) -> float:
        return self.expected_epochs_left(trial) * self.epoch_cost(trial) + self._startup_due(trial)

    @property
    def budgeted(self) -> bool:
        """Whether the study runs under the hard budget (hpopt.budget)."""
        return budget.applies(self.settings, self.plan)

    def promotion_reserve(self, open_trials) -> float:
        """Compute the hard budget keeps from new trials beyond what the open
        trials are certain to spend (here: none; ASHA keeps the best
        candidate's way to full length)."""
        return 0.0

    def idle_start_fits(self, spent: float, created: int) -> bool:
        """With no trial open, whether the hard budget would still start a new
        trial after refusing one (here: never; ASHA's idle rule)."""
        return False

    def budget_spent(self, snap: Snapshot) -> bool:
        """True when the time budget is spent before ``plan.num_trials`` trials
        were handed out (the engine then ends the plan at the trials it has)."""
        return False

    def config_extra(self, trial: TrialRecord) -> dict:
        """Algorithm-specific keys of the train config."""
        return {}

    def unique_sample(self, trials, rng: np.random.Generator, tries: int = 200) -> dict | None:
        """A random config not tried by ``trials``, or None when the space
        seems exhausted. Only a space of grid and choice values can repeat a
        config; with a continuous parameter a repeat has probability zero, so
        the trials are not looked at."""
        params = self.space.sample(rng)
        if not self.space.is_discrete:
            return params
        seen = {self.space.key(t.params) for t in trials}
        for _ in range(tries):
            if self.space.key(params) not in seen:
                return params
            params = self.space.sample(rng)
        return None
