"""The output warps of hpopt.algorithms.output_warp (Vizier's half-rank warp
and log warp) and BayesOpt.output_warp: monotone, the good half untouched, a
heavy bad tail compressed, ties and two scores handled, and the GP given the
warped scores (the constant liar at the warped minimum)."""
import math
import time

import numpy as np
import pytest
from conftest import create, run_loop, stored, train
from scipy.stats import norm
from test_bayes import bowl, complete, one_dim_space, registered  # noqa: F401

import hpopt
from hpopt.algorithms import bayes
from hpopt.algorithms.bayes import BayesOpt
from hpopt.algorithms.output_warp import WARPS, compress, half_rank, log_warp, warp


def scores(n=41, seed=0):
    """Maximised scores with a heavy bad tail (branin-lc's shape): most near
    the best, a few terrible."""
    rng = np.random.default_rng(seed)
    return -np.concatenate([rng.exponential(2.0, n - 5), rng.uniform(150, 310, 5)])


@pytest.mark.parametrize("name", WARPS)
def test_the_warps_are_strictly_monotone(name):
    rng = np.random.default_rng(1)
    for y in (scores(), rng.normal(size=30), rng.integers(0, 5, 25).astype(float), -rng.lognormal(0, 3, 60)):
        w = warp(y, name)
        order = np.argsort(y, kind="stable")
        assert np.all(np.diff(w[order]) >= 0)
        # distinct scores stay distinct, equal ones equal
        assert len(np.unique(w)) == len(np.unique(y))
        assert np.all(np.isfinite(w))


def test_half_rank_leaves_the_good_half_untouched():
    y = scores()
    w = half_rank(y)
    med = np.median(y)
    good = y >= med
    assert good.sum() >= len(y) // 2
    assert np.array_equal(w[good], y[good])
    assert np.all(w[~good] < med)


def test_half_rank_compresses_a_heavy_bad_tail_to_the_good_half_s_spread():
    y = scores()
    w = half_rank(y)
    med = np.median(y)
    s = np.sqrt(np.mean((np.unique(y[y >= med]) - med) ** 2))
    assert y.min() < med - 50 * s                  # the tail: far beyond the good half's spread
    assert w.min() > med - 4 * s                   # warped: a Gaussian tail of that spread
    assert np.ptp(w) < np.ptp(y) / 10
    # the worst of k distinct bad scores sits at the quantile 0.5 * 0.5 / (k + 0.5): 41 scores, one at the median
    k = np.sum(np.unique(y) < med)
    assert k == 20 and med in y
    assert w.min() == pytest.approx(med + s * norm.ppf(0.25 / (k + 0.5)))


def test_half_rank_with_ties_gives_equal_scores_equal_values_and_counts_a_score_at_the_median():
    y = np.array([5.0, 3.0, 3.0, 1.0, 1.0, 1.0, -100.0, 3.0, 0.0])
    w = half_rank(y)
    med = np.median(y)   # 1.0, three times: the good half has the distinct values 1, 3, 5
    assert med == 1.0
    assert np.array_equal(w[y >= med], y[y >= med])
    s = np.sqrt(np.mean((np.array([1.0, 3.0, 5.0]) - 1.0) ** 2))
    # two distinct values below, one at the median: the denominator is 2.5
    assert w[y == 0.0] == pytest.approx(1.0 + s * norm.ppf(0.5 * 1.5 / 2.5))
    assert w[y == -100.0] == pytest.approx(1.0 + s * norm.ppf(0.5 * 0.5 / 2.5))


def test_half_rank_of_two_scores_one_score_and_equal_scores():
    w = half_rank(np.array([-10.0, 0.0]))
    # median -5, the good half {0} at 5 from it; the bad one at the quantile 0.25
    assert w[1] == 0.0 and w[0] == pytest.approx(-5.0 + 5.0 * norm.ppf(0.25))
    assert np.array_equal(half_rank(np.array([2.0])), [2.0])
    assert np.array_equal(half_rank(np.array([2.0, 2.0, 2.0])), [2.0, 2.0, 2.0])
    # one distinct value at or above the median (it equals the median): the spread of all distinct values
    w = half_rank(np.array([0.0, 1.0, 1.0]))
    assert w[1] == w[2] == 1.0 and w[0] < 1.0 and np.isfinite(w[0])
    y = np.array([3.0, 1.0])
    half_rank(y)
    assert np.array_equal(y, [3.0, 1.0])   # not changed in place


def test_compress_pulls_in_a_long_bad_tail_and_leaves_a_tight_bad_half_alone():
    y = scores()
    assert np.array_equal(compress(y), np.maximum(y, half_rank(y)))
    assert compress(y).min() == half_rank(y).min()      # branin-lc's shape: the tail pulled in
    # hartmann's shape (maximised): a tight bad half near 0, a long good tail; the half-rank warp spreads it
    tight = np.array([0.0, 0.01, 0.02, 0.03, 0.05, 0.5, 1.0, 2.0, 3.0, 3.8])
    assert half_rank(tight).min() < -0.5
    assert np.array_equal(compress(tight), tight)


def test_log_warp_maps_the_best_to_a_half_and_the_worst_to_minus_a_half_and_spreads_the_best():
    y = np.array([0.0, 0.5, 0.9, 1.0])
    w = log_warp(y)
    assert w[-1] == pytest.approx(0.5) and w[0] == pytest.approx(-0.5)
    assert (w[-1] - w[-2]) > (y[-1] - y[-2])    # near the best: stretched
    assert np.array_equal(log_warp(np.array([4.0, 4.0])), [4.0, 4.0])


def test_unknown_warp_is_an_error_and_none_is_the_identity():
    y = scores()
    assert warp(y, None) is y
    with pytest.raises(ValueError, match="unknown output warp"):
        warp(y, "yeo_johnson")


def test_the_warp_is_cheap():
    y = scores(200)
    warp(y, "half_rank_log")
    t = time.perf_counter()
    for _ in range(50):
        warp(y, "half_rank_log")
    assert (time.perf_counter() - t) / 50 < 1e-3


@pytest.mark.parametrize("name", ["half_rank", "half_rank_log"])
def test_bayes_opt_fits_its_gp_on_the_warped_scores_with_the_liar_at_their_minimum(
        save_path, registered, monkeypatch, name):  # noqa: F811
    monkeypatch.setattr(BayesOpt, "output_warp", name)
    fits = []
    real_fit = BayesOpt._fit_length_scales
    monkeypatch.setattr(BayesOpt, "_fit_length_scales",
                        lambda self, fx, fy: fits.append(np.array(fy)) or real_fit(self, fx, fy))
    bayes._LENGTH_SCALES.clear()
    a = create(save_path, search_alg="baye_opt", search_space=one_dim_space(), num_trials=12,
               num_init_trial=5, max_iterations=1, seed=3)
    for i in range(5):
        config = a.get_next_sample()
        # one terrible score among the first five
        complete(config, -1000.0 if i == 2 else -bowl(config["params"], 1))
    pending = a.get_next_sample()
    b = create(save_path, search_alg="baye_opt", search_space=one_dim_space(), resume=True)
    registered["targets"].clear()
    registered["points"].clear()

    other = b.get_next_sample()

    assert other["params"] != pending["params"]
    observed = np.array([t.best_score for t in stored(save_path)[0][:5]])
    expected = warp(observed, name)
    assert sorted(registered["targets"]) == pytest.approx(sorted([*expected, expected.min()]))
    at_pending = [y for p, y in zip(registered["points"], registered["targets"])
                  if np.allclose(p, [pending["params"]["x"]])]
    assert at_pending == pytest.approx([expected.min()])
    # the length scales were fitted on warped scores too
    assert fits and any(np.allclose(sorted(f), sorted(expected)) for f in fits)


def test_the_memoised_length_scales_are_keyed_by_the_warp(tmp_path, monkeypatch):
    fits = []
    real_fit = BayesOpt._fit_length_scales
    monkeypatch.setattr(BayesOpt, "_fit_length_scales",
                        lambda self, fx, fy: fits.append(len(fy)) or real_fit(self, fx, fy))
    space = {"x": hpopt.search_space("uniform", [0.0, 1.0])}

    def run(name, warp_name):
        monkeypatch.setattr(BayesOpt, "output_warp", warp_name)
        hpo = create(tmp_path / name, search_space=space, search_alg="bayes_opt", num_trials=8, num_init_trial=3,
                     seed=4, max_iterations=1)
        run_loop(hpo, trainer=lambda c: train(c, lambda p, e: (p["x"] - 0.3) ** 2 + 100 * (p["x"] > 0.8)))
        return len(fits)

    bayes._LENGTH_SCALES.clear()
    plain = run("a", None)
    assert plain > 0
    warped = run("b", "half_rank")
    assert warped > plain                      # not the plain fits from the memo
    assert run("c", "half_rank") == warped     # the warped fits memoised ...
    assert run("d", None) == warped            # ... and the plain ones still


@pytest.mark.parametrize("name", ["half_rank", "half_rank_log"])
def test_the_gp_sampler_fits_and_models_the_warped_scores(monkeypatch, name):
    """GPSampler.output_warp: its length scales are fitted on the fit
    subsample's scores warped among themselves (and memoised apart from the
    plain fit's), and its suggestions still find the optimum of a function
    with a heavy bad tail."""
    from test_gp_sampler import NoTPE, model_only
    from test_tpe import Stub, no_fallback

    from hpopt.algorithms import gp_sampler
    from hpopt.space import SearchSpace

    space = SearchSpace({"x": hpopt.search_space("uniform", [0, 1]), "y": hpopt.search_space("uniform", [0, 1])})

    def score(p):   # maximised; a cliff of terrible scores at x < 0.15
        return -((p["x"] - 0.7) ** 2 + (p["y"] - 0.3) ** 2) - 300.0 * (p["x"] < 0.15)

    fits = []
    real_fit = gp_sampler.GPSampler._fit
    monkeypatch.setattr(gp_sampler.GPSampler, "_fit", lambda self, fx, fy: fits.append(np.array(fy)) or real_fit(
        self, fx, fy))
    gp_sampler._FITS.clear()
    stub, rng = Stub(), np.random.default_rng(5)
    for _ in range(10):
        p = space.sample(rng)
        stub.add(p, score(p))
    late = []
    for i in range(12):
        sampler = model_only(space)
        sampler.output_warp = name
        p = sampler.suggest(stub.trials(), np.random.default_rng([5, i]), no_fallback, None, NoTPE(space, 1.0))
        stub.add(p, score(p))
        late.append(math.hypot(p["x"] - 0.7, p["y"] - 0.3))
    assert np.median(late) < 0.15, late
    assert fits and all(np.ptp(f) < 300 for f in fits)   # the cliff compressed in every fit
    warped = len(fits)
    plain = model_only(space)
    plain.suggest(stub.trials(), np.random.default_rng([5, 0]), no_fallback, None, NoTPE(space, 1.0))
    assert len(fits) == warped + 1 and np.ptp(fits[-1]) > 250   # not the warped fit from the memo
