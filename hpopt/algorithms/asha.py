"""Asynchronous successive halving (ASHA), stop-based.

Li et al., "A System for Massively Parallel Hyperparameter Tuning", MLSys 2020
(arXiv 1810.05934).  As in the original hpopt, Ray Tune's ASHAScheduler and
Optuna's SuccessiveHalvingPruner, trials train continuously and are told to
stop: when a trial reaches a rung milestone its best score so far is recorded
there, and it continues only if it ranks in the top ``1/eta`` of the scores
recorded at that rung so far (at least the best one always continues, so the
first trial to arrive never waits for company).  Nothing ever waits for other
trials.  Brackets stagger the first rung (bracket b starts at
``min_iterations * eta**b``) so that late bloomers get a longer look; trials
are spread over brackets round-robin.
"""
from __future__ import annotations

from hpopt.algorithms.base import Algorithm, NewTrial
from hpopt.status import Decision
from hpopt.storage.base import Storage, TrialRecord


def rung_quota(recorded: int, eta: int) -> int:
    """How many of ``recorded`` scores at a rung may continue: the top 1/eta, at least one."""
    return max(1, recorded // eta)


def continues(signed_score: float, others_signed: list[float], eta: int) -> bool:
    """True when ``signed_score`` ranks inside the rung's quota (higher is better).
    Ties rank in the trial's favour."""
    rank = 1 + sum(1 for s in others_signed if s > signed_score)
    return rank <= rung_quota(len(others_signed) + 1, eta)


class ASHA(Algorithm):
    def next_trial(self, storage: Storage) -> NewTrial | None:
        trial_id = storage.count_trials()
        if trial_id >= self.plan.num_trials:
            return None
        params = self.unique_sample(storage, self.rng(trial_id))
        if params is None:
            return None
        return NewTrial(
            params=params,
            iterations=self.plan.max_iterations,
            subset_ratio=self.plan.subset_ratio,
            bracket=trial_id % self.plan.num_brackets,
        )

    def milestones(self, trial: TrialRecord) -> list[int]:
        return list(self.plan.brackets[trial.bracket or 0])

    def on_report(self, storage: Storage, trial: TrialRecord, iteration: int) -> Decision:
        if iteration >= trial.iterations:
            return Decision.COMPLETE
        for milestone in self.milestones(trial):
            if milestone > iteration:
                break
            if milestone in trial.rungs:
                continue  # decided before (a re-run passes its rungs again)
            trial.rungs[milestone] = trial.best_score
            others = storage.rung_scores(trial.bracket, milestone, exclude=trial.trial_id)
            if not continues(
                self.sign * trial.best_score, [self.sign * s for s in others], self.plan.reduction_factor
            ):
                return Decision.STOP
        return Decision.CONTINUE

    def config_extra(self, trial: TrialRecord) -> dict:
        return {"bracket": trial.bracket, "rungs": self.milestones(trial)}
