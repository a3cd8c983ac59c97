"""Fitting the GP's kernel hyper-parameters for BayesOpt (hpopt.algorithms.bayes):
scikit-learn ``optimizer`` functions for its GaussianProcessRegressor, and the
schedule on which the fit is repeated. scipy is imported inside the functions,
with the rest of the GP stack (see hpopt.algorithms.bayes)."""
from __future__ import annotations

import numpy as np

#: L-BFGS-B iterations of the ARD fit (each one a likelihood with gradients)
ARD_MAXITER = 50
#: sd of the prior on each log length scale around the isotropic fit's
ARD_PRIOR_SD = 0.5
#: the length scales' fit is repeated when the observations grew by this factor (see refit_count)
REFIT_GROWTH = 1.25

#: scores beyond this magnitude are modelled at it (modelled_scores)
SCORE_LIMIT = 1e150

#: log10 length scales where fit_length_scale evaluates the likelihood first
#: (the GP works on the unit cube: 0.01 is noise-like, 100 nearly constant)
LENGTH_SCALE_GRID = np.linspace(-2.0, 2.0, 9)


def modelled_scores(y) -> np.ndarray:
    """Scores as the GPs take them: clipped to +-SCORE_LIMIT. They
    standardise the scores, and the sum or variance of scores near the
    largest float overflows (a diverged loss of 1e300 is a finite score a
    trainer may report); such a score is far beyond every sane one either way."""
    return np.clip(np.asarray(y, dtype=float), -SCORE_LIMIT, SCORE_LIMIT)


def fit_length_scale(obj_func, initial_theta, bounds):
    """A GaussianProcessRegressor ``optimizer``: bayes_opt's kernel has one
    hyper-parameter (the Matern length scale), so the negative log marginal
    likelihood is evaluated on a coarse log grid, then minimised by bounded
    Brent between the best grid point's neighbours to 1% of the length scale.
    Likelihood values only, no gradients (cheaper each), a couple of dozen of
    them, where sklearn's L-BFGS-B needs as many evaluations with gradients per
    start, and the grid
    guards against a local optimum better than random restarts do. Kernels with
    more hyper-parameters get sklearn's L-BFGS-B."""
    from scipy.optimize import minimize, minimize_scalar

    if len(initial_theta) != 1:
        res = minimize(obj_func, initial_theta, method="L-BFGS-B", jac=True, bounds=bounds)
        return res.x, res.fun
    lo, hi = (float(b) for b in np.asarray(bounds, dtype=float)[0])
    grid = np.clip(LENGTH_SCALE_GRID * np.log(10.0), lo, hi)
    values = [float(obj_func(np.array([t]), eval_gradient=False)) for t in grid]
    i = int(np.nanargmin(np.where(np.isfinite(values), values, np.nan))) if np.isfinite(values).any() else 0
    a = grid[i - 1] if i > 0 else lo
    b = grid[i + 1] if i < len(grid) - 1 else hi
    if not a < b:
        return np.array([grid[i]]), values[i]
    res = minimize_scalar(lambda t: float(obj_func(np.array([t]), eval_gradient=False)),
                          bounds=(a, b), method="bounded", options={"xatol": 0.01})
    if res.fun <= values[i]:
        return np.array([res.x]), float(res.fun)
    return np.array([grid[i]]), values[i]


def fit_ard_length_scales(obj_func, initial_theta, bounds, prior_sd=None, n_scales=None, noise_prior=None):
    """A GaussianProcessRegressor ``optimizer`` for an ARD kernel (one length
    scale per dimension), fitted in two steps:

    1. the isotropic fit of fit_length_scale (all length scales equal:
       likelihood values on a log grid, then bounded Brent);
    2. L-BFGS-B with gradients from there on the negative log marginal
       likelihood plus a Gaussian prior on each log length scale, centred on
       the isotropic one (sd ``prior_sd``, default ``ARD_PRIOR_SD``, in
       natural log units).

    With 20 trials the likelihood hardly constrains a length scale per
    dimension: an unregularised fit (type-II maximum likelihood) raised the
    median regret on hartmann6-lc severalfold in ``python -m benchmarks
    --parts quality`` (benchmarks/RESULTS.md, "Numbers behind the code's choices"). The prior keeps the isotropic answer
    until the data says otherwise.

    With ``n_scales`` the first ``n_scales`` entries of theta are the log
    length scales and the one after them a log noise variance (a
    WhiteKernel's): it starts at its initial value, stays there in step 1,
    and is fitted in step 2 with the length scales, under a Gamma
    ``noise_prior`` = (concentration, rate) on the variance, as Optuna's
    GPSampler does (its prior: (1.1, 30))."""
    from scipy.optimize import minimize

    theta0 = np.asarray(initial_theta, dtype=float)
    b = np.asarray(bounds, dtype=float)
    d = len(theta0) if n_scales is None else n_scales
    rest = theta0[d:]   # the noise's start (with n_scales)

    def with_scale(t):
        return np.concatenate([np.full(d, t), rest])

    iso, iso_v = fit_length_scale(lambda t, eval_gradient=False: obj_func(with_scale(t[0]), eval_gradient=False),
                                  theta0[:1], b[:1])
    centre = with_scale(float(iso[0]))
    if len(theta0) == 1 or not np.isfinite(iso_v):
        return centre, float(iso_v)
    w = np.zeros(len(theta0))
    w[:d] = 1.0 / (ARD_PRIOR_SD if prior_sd is None else prior_sd) ** 2
    a, rate = noise_prior if noise_prior is not None and len(rest) else (1.0, 0.0)

    def penalised(theta):
        v, g = obj_func(theta, eval_gradient=True)
        dev = theta - centre
        g = g + w * dev
        v = v + 0.5 * float(w @ (dev * dev))
        if rate:   # minus the log Gamma density of the noise variance e^theta[d]
            v += rate * np.exp(theta[d]) - (a - 1.0) * theta[d]
            g[d] += rate * np.exp(theta[d]) - (a - 1.0)
        return v, g

    res = minimize(penalised, centre, method="L-BFGS-B", jac=True, bounds=b, options={"maxiter": ARD_MAXITER})
    at_centre = penalised(centre)[0] if rate else iso_v
    if np.all(np.isfinite(res.x)) and np.isfinite(res.fun) and res.fun <= at_centre:
        return res.x, float(obj_func(res.x, eval_gradient=False))
    return centre, float(iso_v)


def refit_count(n: int) -> int:
    """The number of observations the ARD length scales are fitted on when
    ``n`` are known: the largest step of the schedule 2, 3, 4, 5, 6, 8, 10,
    13, 16, 20, 25, ... (each about REFIT_GROWTH times the last) at or below ``n``.
    Consecutive suggestions share a fit until the next step; a fit is never
    older than a fifth of the observations."""
    step = 2
    while True:
        nxt = max(step + 1, int(step * REFIT_GROWTH + 0.5))
        if nxt > n:
            return step
        step = nxt
