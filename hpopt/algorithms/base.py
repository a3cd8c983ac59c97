"""The algorithm seam: suggest the next trial, decide on each report.

An algorithm holds no state of its own between calls: every method reads what
it needs from the storage it is handed (inside the storage's lock), so any
process can take the next decision and a restart loses nothing.  Decisions are
returned as :class:`hpopt.status.Decision` values, never acted on here.
"""
from __future__ import annotations

import abc
import dataclasses

import numpy as np

from hpopt.plan import Plan
from hpopt.settings import Settings
from hpopt.space import SearchSpace
from hpopt.status import Decision
from hpopt.storage.base import Storage, TrialRecord


@dataclasses.dataclass
class NewTrial:
    """What an algorithm proposes; the engine turns it into a stored trial."""

    params: dict
    iterations: int
    subset_ratio: float
    bracket: int | None = None


class Algorithm(abc.ABC):
    def __init__(self, settings: Settings, space: SearchSpace, plan: Plan):
        self.settings = settings
        self.space = space
        self.plan = plan
        #: +1 when higher scores are better; every comparison is on sign * score
        self.sign = 1.0 if settings.mode == "max" else -1.0

    def rng(self, trial_id: int) -> np.random.Generator:
        """A generator fixed by (seed, trial_id): a seeded run samples the same
        configs whichever process asks, and a resumed run continues the sequence."""
        if self.settings.seed is None:
            return np.random.default_rng()
        return np.random.default_rng([self.settings.seed, trial_id])

    @abc.abstractmethod
    def next_trial(self, storage: Storage) -> NewTrial | None:
        """The next trial to run, or None when there is nothing to hand out
        (the planned budget is; ASHA's backfill may add shorter trials past
        num_trials while others run). Never blocks on other trials."""

    @abc.abstractmethod
    def on_report(self, storage: Storage, trial: TrialRecord, iteration: int) -> Decision:
        """Decides after ``trial`` (already updated with this report) reported
        at ``iteration``. May update ``trial`` (e.g. its rungs); the caller saves it."""

    def budget_spent(self, storage: Storage) -> bool:
        """True when the time budget is spent before ``plan.num_trials`` trials
        were handed out (the engine then ends the plan at the trials it has)."""
        return False

    def config_extra(self, trial: TrialRecord) -> dict:
        """Algorithm-specific keys of the train config."""
        return {}

    def unique_sample(self, storage: Storage, rng: np.random.Generator, tries: int = 200) -> dict | None:
        """A random config not tried before, or None when the space seems exhausted.

        Only a space of grid and choice values can repeat a config; with a
        continuous parameter a repeat has probability zero, so the stored
        configs are not read (at 10,000 trials that read dominated a suggestion)."""
        params = self.space.sample(rng)
        if not self.space.is_discrete:
            return params
        seen = {self.space.key(p) for p in storage.all_params()}
        for _ in range(tries):
            if self.space.key(params) not in seen:
                return params
            params = self.space.sample(rng)
        return None
