"""Scores near the largest float (a diverged loss of 1e300 is a finite score a
trainer may report): the GPs and median stopping model them clipped
(gp_fit.modelled_scores), so a study goes on suggesting, without numpy's
overflow warnings, and the best config is still the best score's. Found by
tests/core/test_fuzz.py: two trials at one point with scores of 1e308 made
bayes_opt's average of equal points overflow (OverflowError in a suggestion)."""
import warnings

import numpy as np
import pytest
from conftest import create, small_space

import hpopt
from hpopt.algorithms import gp_sampler

HUGE = 1.7e308


def run(hpo, score_of, trials: int) -> dict:
    """The guide's loop with RuntimeWarnings (numpy's overflows) as errors;
    ``score_of(trial_id, epoch)``. Returns trial id -> params."""
    params = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        while len(params) < trials and (config := hpo.get_next_sample()) is not None:
            params[config["trial_id"]] = config["params"]
            for epoch in range(1, config["iterations"] + 1):
                if hpopt.report(config, score_of(config["trial_id"], epoch)) == hpopt.Status.STOP:
                    break
        hpo.get_next_sample()   # the last trial ends
    return params


def test_bayes_opt_suggests_after_equal_points_scored_near_the_largest_float(save_path):
    """The fuzz test's example: a range narrower than a float's step makes
    every trial the same point, and its scores (1e308, 1e308, 0) are averaged."""
    space = {"x": hpopt.search_space("uniform", [4503599627370496.0, 4503599627370497.0])}
    hpo = create(save_path, search_space=space, search_alg="baye_opt", mode="max", num_trials=4,
                 max_iterations=2, num_init_trial=1, seed=0)

    params = run(hpo, lambda tid, epoch: [1e308, 1e308, 0.0, 1.0][tid] * (1 if epoch == 1 else 0.5), 4)

    assert len(params) == 4
    assert hpo.get_best_config() == params[0]


@pytest.mark.parametrize("sign", [1, -1], ids=["huge", "huge negative"])
def test_median_stopping_averages_huge_scores(sign, save_path):
    hpo = create(save_path, search_space=small_space(), search_alg="baye_opt", mode="max", num_trials=10,
                 max_iterations=6, num_init_trial=3, seed=0, early_stop="median_stop")
    # trial 0 diverges upwards (or downwards) from its 3rd epoch; the others score normally
    params = run(hpo, lambda tid, epoch: sign * HUGE if tid % 3 == 0 and epoch >= 3 else tid / 10 + epoch / 100, 10)

    assert len(params) == 10
    best = hpo.get_best_config()
    assert (best == params[0]) == (sign == 1)


@pytest.mark.parametrize("sign", [1, -1], ids=["huge", "huge negative"])
def test_asha_gp_sampler_models_huge_scores(sign, save_path, monkeypatch):
    fits = []
    hypers = gp_sampler.GPSampler._hypers
    monkeypatch.setattr(gp_sampler.GPSampler, "_hypers", lambda self, x, y: fits.append(len(y)) or hypers(self, x, y))
    hpo = create(save_path, search_space=small_space(), search_alg="asha", mode="max", expected_time_ratio=40,
                 seed=0)
    rng = np.random.default_rng(0)
    diverged = set(rng.choice(200, size=60, replace=False).tolist())

    params = run(hpo, lambda tid, epoch: sign * HUGE if tid in diverged else float(rng.normal()), 60)

    assert fits, "the GP never suggested: the test did not reach the model"
    assert len(params) == 60
    if sign == 1:
        assert hpo.get_best_config() in [params[t] for t in diverged if t in params]
