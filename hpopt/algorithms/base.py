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
        """The next trial to run, or None once the planned budget is handed out.
        Never blocks on other trials."""

    @abc.abstractmethod
    def on_report(self, storage: Storage, trial: TrialRecord, iteration: int) -> Decision:
        """Decides after ``trial`` (already updated with this report) reported
        at ``iteration``. May update ``trial`` (e.g. its rungs); the caller saves it."""

    def config_extra(self, trial: TrialRecord) -> dict:
        """Algorithm-specific keys of the train config."""
        return {}

    def unique_sample(self, storage: Storage, rng: np.random.Generator, tries: int = 200) -> dict | None:
        """A random config not tried before, or None when the space seems exhausted."""
        seen = {self.space.key(t.params) for t in storage.trials()}
        for _ in range(tries):
            params = self.space.sample(rng)
            if self.space.key(params) not in seen:
                return params
        return None
