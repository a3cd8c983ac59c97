"""Bayesian optimization (SMBO) on bayes_opt's Gaussian process with UCB.

Brochu et al. 2010 (arXiv 1012.2599); the GP and the UCB acquisition are the
``bayesian-optimization`` package's (Matern 2.5 kernel).  The optimizer is
rebuilt from the stored trials at every suggestion, so its state is never
pickled and any process can suggest:

* every parameter is encoded to [0, 1] by the search space (log parameters in
  log scale, choices by index band), so string and numeric choices work alike
  and a decoded suggestion is always a valid, quantized value;
* each finished trial is registered with its best score times ``sign``
  (mode 'min' is maximised as -score), so the sign cannot be lost;
* trials still running are registered with a pessimistic "constant liar"
  value, so workers asking at once get different points;
* ``kappa`` decays by ``kappa_decay`` per registration after
  ``kappa_decay_delay`` registrations, computed from the count, not a counter;
* the acquisition search is budgeted (``n_random``/``n_smart``/GP restarts
  below) so a suggestion stays under ~100 ms at 200 trials; see
  benchmarks/bayes_speed.py for the measurements and the regret check.
"""
from __future__ import annotations

import statistics
import warnings

import numpy as np

from hpopt.algorithms.base import Algorithm, NewTrial
from hpopt.status import SCORED_STATES, Decision, TrialState
from hpopt.storage.base import Storage, TrialRecord

#: fewer trials than this at a step and median stopping abstains
MEDIAN_STOP_MIN_PEERS = 3


class BayesOpt(Algorithm):
    # Budget of one suggestion. bayes_opt's defaults (10_000, 10, 5) take
    # about 1 s at 100 observations on a 2-core machine.
    n_random = 2_000
    n_smart = 2
    n_restarts = 1

    def kappa_at(self, registered: int) -> float:
        s = self.settings
        return s.kappa * s.kappa_decay ** max(0, registered - s.kappa_decay_delay)

    def next_trial(self, storage: Storage) -> NewTrial | None:
        trials = storage.trials()
        trial_id = len(trials)
        if trial_id >= self.plan.num_trials:
            return None
        rng = self.rng(trial_id)
        observed = [t for t in trials if t.state in SCORED_STATES and t.best_score is not None]
        params = None
        if trial_id >= self.settings.num_init_trial and len(observed) >= 2:
            params = self._suggest(trials, observed, rng)
        if params is None or self.space.key(params) in {self.space.key(t.params) for t in trials}:
            params = self.unique_sample(storage, rng)
        if params is None:
            return None
        return NewTrial(params=params, iterations=self.plan.max_iterations, subset_ratio=self.plan.subset_ratio)

    def _suggest(self, trials: list[TrialRecord], observed: list[TrialRecord], rng) -> dict:
        # bayes_opt pulls in scikit-learn and scipy: import it only when a GP is needed
        from bayes_opt import BayesianOptimization

        from hpopt.algorithms.ucb import BudgetedUCB

        names = self.space.names
        pbounds = {f"x{i}": (0.0, 1.0) for i in range(len(names))}
        seed = int(rng.integers(2**31 - 1))
        ucb = BudgetedUCB(
            kappa=self.kappa_at(len(observed)), n_random=self.n_random, n_smart=self.n_smart, random_state=seed
        )
        opt = BayesianOptimization(
            f=None, pbounds=pbounds, acquisition_function=ucb, random_state=seed,
            verbose=0, allow_duplicate_points=True,
        )
        opt.set_gp_params(n_restarts_optimizer=self.n_restarts)
        ys = [self.sign * t.best_score for t in observed]
        for t, y in zip(observed, ys):
            opt.register(self._point(t.params), y)
        liar = min(ys)
        for t in trials:
            if t.state in (TrialState.RUNNING, TrialState.QUEUED, TrialState.PAUSED):
                opt.register(self._point(t.params), liar)
        with warnings.catch_warnings():
            # the GP's hyper-parameter fit warns on flat data; the suggestion is still valid
            warnings.simplefilter("ignore")
            x = opt.suggest()
        return self.space.decode(np.array([x[f"x{i}"] for i in range(len(names))]))

    def _point(self, params: dict) -> dict:
        return {f"x{i}": float(u) for i, u in enumerate(self.space.encode(params))}

    def on_report(self, storage: Storage, trial: TrialRecord, iteration: int) -> Decision:
        if iteration >= trial.iterations:
            return Decision.COMPLETE
        if self.settings.early_stop == "median_stop" and self._below_median(storage, trial, iteration):
            return Decision.STOP
        return Decision.CONTINUE

    def _below_median(self, storage: Storage, trial: TrialRecord, iteration: int) -> bool:
        """Median stopping rule (Golovin et al., Vizier 2017): stop when the
        trial's best is worse than the median of the other trials' running
        averages at the same step."""
        averages = []
        for other_id, scores in storage.all_scores().items():
            if other_id == trial.trial_id:
                continue
            upto = [self.sign * v for i, v in scores if i <= iteration]
            if upto and scores[-1][0] >= iteration:
                averages.append(statistics.fmean(upto))
        if len(averages) < MEDIAN_STOP_MIN_PEERS:
            return False
        return self.sign * trial.best_score < statistics.median(averages)

    def config_extra(self, trial: TrialRecord) -> dict:
        return {"early_stop": self.settings.early_stop}
