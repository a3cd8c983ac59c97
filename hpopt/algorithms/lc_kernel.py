"""A learning-curve term for the GP sampler's joint model (hpopt.algorithms.gp_sampler).

The joint model's Matern kernel over (config, log resource) has one length
scale for the resource, the same for every config: how fast a curve rises
cannot depend on where the config is. Freeze-thaw (Swersky et al. 2014) and
MOBSTER's exponential-decay kernel (Klein et al. 2020) model a score at
resource r as an asymptote plus a curve that decays with r, the curve's
covariance

    k_x(x, x') * k_exp(r, r'),   k_exp(r, r') = (beta / (r + r' + beta)) ** alpha

(r the resource as a fraction of the full length: an infinite mixture of
exponential decays exp(-lambda r) with a Gamma(alpha, beta) rate). Configs
near each other have curves alike; a curve's share of a score shrinks as r
grows, so early scores say less about the asymptote the more curve there is.

``kernel`` adds ``w`` times that term to a base kernel matrix; ``fit`` fits
(w, alpha, beta) by the marginal likelihood with the base kernel's length
scales and noise held (they are fitted as before, the term's three
parameters on top: a few dozen likelihoods of at most 60 points).
"""
from __future__ import annotations

import math

import numpy as np

#: log-space bounds of (w, alpha, beta) and the prior's centre and sd (natural log units)
BOUNDS = ((math.log(1e-3), math.log(100.0)), (math.log(0.1), math.log(10.0)), (math.log(1e-2), math.log(10.0)))
PRIOR_CENTRE = np.array([math.log(0.5), math.log(1.0), math.log(0.5)])
PRIOR_SD = 1.5


def k_exp(r: np.ndarray, r2: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """(beta / (r_i + r2_j + beta)) ** alpha."""
    s = r[:, None] + r2[None, :]
    s += beta
    np.divide(beta, s, out=s)
    np.power(s, alpha, out=s)
    return s


def kernel(kx: np.ndarray, r: np.ndarray, r2: np.ndarray, params) -> np.ndarray:
    """The learning-curve term ``w * kx * k_exp(r, r2)`` (kx the configs' kernel)."""
    w, alpha, beta = params
    out = k_exp(r, r2, alpha, beta)
    out *= kx
    out *= w
    return out


def fit(base: np.ndarray, kx: np.ndarray, r: np.ndarray, z: np.ndarray) -> tuple[float, float, float]:
    """(w, alpha, beta) maximising the marginal likelihood of the standardised
    scores ``z`` under ``base + kernel(kx, r, r)`` (``base`` holds the noise),
    with a log-normal prior around PRIOR_CENTRE: few points hardly constrain
    three more parameters."""
    from scipy.optimize import minimize

    n = len(z)

    def nll(theta):
        k = base + kernel(kx, r, r, np.exp(theta))
        try:
            chol = np.linalg.cholesky(k)
        except np.linalg.LinAlgError:
            return 1e10
        a = np.linalg.solve(chol, z)
        dev = (theta - PRIOR_CENTRE) / PRIOR_SD
        return 0.5 * float(a @ a) + float(np.log(np.diag(chol)).sum()) + 0.5 * n * math.log(2 * math.pi) \
            + 0.5 * float(dev @ dev)

    best = PRIOR_CENTRE.copy()
    best_v = nll(best)
    for start in (PRIOR_CENTRE, np.array([math.log(2.0), math.log(1.0), math.log(0.1)])):
        res = minimize(nll, start, method="L-BFGS-B", bounds=BOUNDS, options={"maxiter": 40})
        if np.all(np.isfinite(res.x)) and res.fun < best_v:
            best, best_v = res.x, float(res.fun)
    w, alpha, beta = np.exp(best)
    return float(w), float(alpha), float(beta)
