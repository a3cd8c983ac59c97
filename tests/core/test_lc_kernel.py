"""The GP sampler's learning-curve term (hpopt.algorithms.lc_kernel; its use: GPSampler.lc_mode,
the numbers behind it: benchmarks/RESULTS.md, "Branch lckernel")."""
import math

import numpy as np
from test_tpe import Stub, no_fallback

import hpopt
from hpopt.algorithms import gp_sampler, lc_kernel
from hpopt.algorithms.gp_sampler import GPSampler, _matern52
from hpopt.space import SearchSpace
from hpopt.status import TrialState


def test_the_term_is_freeze_thaws_exponential_decay_kernel_and_positive_definite():
    r = np.array([0.0, 0.1, 0.5, 1.0])
    k = lc_kernel.k_exp(r, r, 2.0, 0.3)
    assert math.isclose(k[1, 2], (0.3 / (0.1 + 0.5 + 0.3)) ** 2.0)
    assert np.all(np.diff(np.diag(k)) < 0), "a curve's share of the score shrinks as the resource grows"
    kx = _matern52(np.array([[0.0], [0.2], [0.2], [0.9]]), np.array([[0.0], [0.2], [0.2], [0.9]]))
    assert np.all(np.linalg.eigvalsh(lc_kernel.kernel(kx, r, r, (1.5, 2.0, 0.3))) > -1e-12)


def _curves(space, n, speed_varies: bool, seed=0):
    """Scores at resources 1/9, 3/9, 9/9 of configs x: an asymptote -(x - 0.3)^2 plus, with
    ``speed_varies``, a curve that starts far below it and decays at a rate that depends on x."""
    rng = np.random.default_rng(seed)
    xs = rng.random(n)
    rows, ys = [], []
    for x in xs:
        for t in (1, 3, 9):
            gap = 2.0 * (1 - t / 9) ** (0.5 + 3.0 * x) if speed_varies else 0.0
            rows.append([x, math.log(t) / math.log(9)])
            ys.append(-((x - 0.3) ** 2) - gap + 0.01 * rng.standard_normal())
    return np.array(rows), np.array(ys)


def test_the_fit_gives_the_curve_weight_only_where_the_scores_depend_on_the_resource():
    space = SearchSpace({"x": hpopt.search_space("uniform", [0, 1])})
    weights = {}
    for varies in (True, False):
        x, y = _curves(space, 20, varies)
        sampler = GPSampler(space, 1.0, max_iterations=9)
        sampler._top = 9
        sampler.lc_mode = "ft"
        scales, noise = sampler._hypers(x, y)
        weights[varies] = sampler._lc_params(x, y, scales, noise)[0]
    assert weights[True] > 10 * weights[False], weights


def test_with_the_option_the_joint_model_has_the_learning_curve_term(monkeypatch):
    """With enough rung scores the suggestion's GP includes the term (its parameters fitted)."""
    space = SearchSpace({"x": hpopt.search_space("uniform", [0, 1])})
    stub = Stub()
    rng = np.random.default_rng(0)
    for i in range(30):
        x = float(rng.random())
        stub.add({"x": x}, -((x - 0.3) ** 2), depth=2 if i % 3 else 4,
                 state=TrialState.STOPPED if i % 3 else TrialState.COMPLETED)
    fitted = []
    real = lc_kernel.fit
    monkeypatch.setattr(lc_kernel, "fit", lambda *a: fitted.append(1) or real(*a))
    gp_sampler._FITS.clear()
    sampler = GPSampler(space, 1.0, max_iterations=4)
    sampler.random_fraction, sampler.lc_mode, sampler.lc_target = 0.0, "ft", "full"
    params = sampler.suggest(stub.trials(), np.random.default_rng(1), no_fallback, None, None)
    assert space.contains(params) and fitted
