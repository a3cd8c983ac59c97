"""The budgeted UCB's shortcuts give bayes_opt's answers: the mean and std
computed from the fitted GP's arrays equal scikit-learn's predict, and the
grouping of equal observations keeps their first order and their mean."""
import statistics

import numpy as np
import pytest
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, Matern

from hpopt.algorithms.bayes import _rows
from hpopt.algorithms.ucb import PREDICT_BLOCK, matern52_predictor


def fitted_gp(kernel, n=40, dim=3, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.random((n, dim))
    y = np.sin(3 * x.sum(axis=1)) * 5 + 7
    return GaussianProcessRegressor(kernel=kernel, alpha=1e-2, normalize_y=True, optimizer=None).fit(x, y)


@pytest.mark.parametrize("length_scale", [0.4, [0.3, 1.0, 2.0]])
def test_the_predictor_gives_what_scikit_learn_predicts(length_scale):
    gp = fitted_gp(Matern(nu=2.5, length_scale=length_scale, length_scale_bounds="fixed"))
    x = np.random.default_rng(2).random((2 * PREDICT_BLOCK + 7, 3))   # several blocks, the last one short

    mean, std = matern52_predictor(gp)(x)

    want_mean, want_std = gp.predict(x, return_std=True)
    np.testing.assert_allclose(mean, want_mean, rtol=0, atol=1e-9)
    np.testing.assert_allclose(std, want_std, rtol=0, atol=1e-9)


@pytest.mark.parametrize("kernel", [Matern(nu=1.5, length_scale_bounds="fixed"), RBF(length_scale_bounds="fixed")])
def test_other_kernels_are_left_to_scikit_learn(kernel):
    assert matern52_predictor(fitted_gp(kernel)) is None


def dict_rows(enc, vals):
    """The grouping as a dict of row tuples (the code before vectorising)."""
    rows = {}
    for x, v in zip(map(tuple, enc.tolist()), vals.tolist()):
        rows.setdefault(x, []).append(v)
    return np.array(list(rows), dtype=float), np.array([statistics.fmean(v) for v in rows.values()])


@pytest.mark.parametrize("seed", range(5))
def test_equal_points_are_grouped_in_first_order_with_their_mean(seed):
    rng = np.random.default_rng(seed)
    grid = rng.integers(0, 3, size=(60, 2)) / 2.0   # many repeats
    vals = rng.standard_normal(60)

    xs, ys = _rows(grid, vals)

    want_xs, want_ys = dict_rows(grid, vals)
    np.testing.assert_array_equal(xs, want_xs)
    np.testing.assert_array_equal(ys, want_ys)


def test_distinct_points_are_kept_as_they_are():
    enc, vals = np.random.default_rng(0).random((20, 3)), np.arange(20.0)

    xs, ys = _rows(enc, vals)

    np.testing.assert_array_equal(xs, enc)
    np.testing.assert_array_equal(ys, vals)


def test_the_kernels_input_transform_applies_to_both_sides():
    """bayes_opt wraps its kernel so that it transforms its inputs first."""
    from bayes_opt.parameter import wrap_kernel

    def transform(x):
        return np.asarray(x, dtype=float) ** 2

    gp = fitted_gp(wrap_kernel(Matern(nu=2.5, length_scale=[0.3, 1.0, 2.0], length_scale_bounds="fixed"), transform))
    x = np.random.default_rng(3).random((50, 3))

    mean, std = matern52_predictor(gp, transform)(x)

    want_mean, want_std = gp.predict(x, return_std=True)
    np.testing.assert_allclose(mean, want_mean, rtol=0, atol=1e-9)
    np.testing.assert_allclose(std, want_std, rtol=0, atol=1e-9)


def test_with_a_snapper_the_acquisition_sees_each_candidate_as_its_trial():
    """Two candidates that decode to the same trial (the same choice band)
    get the same UCB with the snapper, and the UCB of the trial's own point;
    without it they differ (the band's other points look unexplored)."""
    from hpopt.algorithms.ucb import BudgetedUCB
    from hpopt.space import SearchSpace, search_space

    space = SearchSpace({"x": search_space("uniform", [0.0, 1.0]), "c": search_space("choice", ["a", "b", "c"])})
    rng = np.random.default_rng(4)
    trials = space.snapper()(rng.random((12, 2)))   # observed points are trials: on the grid
    gp = GaussianProcessRegressor(kernel=Matern(nu=2.5, length_scale=[0.3, 0.2], length_scale_bounds="fixed"),
                                  alpha=1e-2, normalize_y=True, optimizer=None).fit(trials, np.sin(4 * trials.sum(1)))
    band = np.array([[0.4, 0.02], [0.4, 0.2], [0.4, 1 / 6]])   # all choice "a"; the last its trial's point

    snapped = BudgetedUCB(kappa=2.5, n_random=0, n_smart=0, snap=space.snapper())._get_acq(gp)(band)
    plain = BudgetedUCB(kappa=2.5, n_random=0, n_smart=0)._get_acq(gp)(band)

    np.testing.assert_allclose(snapped, plain[2], rtol=0, atol=1e-12)
    assert abs(plain[0] - plain[1]) > 1e-3
