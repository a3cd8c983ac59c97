"""Transforms for BayesOpt's GP (hpopt.algorithms.bayes): a warp of the scores
before the GP sees them, and GP-UCB's exploration schedule. scipy is imported
inside the functions, with the rest of the GP stack."""
from __future__ import annotations

import math

import numpy as np

#: bounds of the Yeo-Johnson exponent fitted in warp_scores
WARP_LAMBDA_BOUNDS = (1.0, 3.0)


def warp_scores(ys: np.ndarray, bounds=WARP_LAMBDA_BOUNDS) -> np.ndarray:
    """The scores (to be maximised) through a Yeo-Johnson power transform
    whose exponent is fitted within ``bounds`` by maximum likelihood of a
    normal model, as HEBO (Cowen-Rivers et al. 2022) warps its outputs. The
    scores are first shifted so that the best is 0 and scaled by their sd, so
    the transform acts on the distance below the best: with exponents >= 1
    a long tail of bad scores (a diverged learning rate, Branin's rim) is
    compressed and the GP's normalised scale keeps resolution among the good
    ones, where the UCB ranks candidates; at 1 it is the identity (up to the
    shift and scale). Monotone: the order of the scores is kept. The scores
    as they are where there is nothing to fit."""
    from scipy.optimize import minimize_scalar

    y = np.asarray(ys, dtype=float)
    sd = float(y.std()) if len(y) else 0.0
    if len(y) < 3 or not sd > 0 or not math.isfinite(sd):
        return y
    # u = log(1 - z) >= 0 for z = (y - max) / sd <= 0: Yeo-Johnson's branch
    # for negative values is -expm1((2 - lam) u) / (2 - lam) (-u at lam = 2)
    u = np.log1p((y.max() - y) / sd)

    def transform(lam: float) -> np.ndarray:
        p = 2.0 - lam
        return -u if abs(p) < 1e-9 else -np.expm1(p * u) / p

    def neg_log_likelihood(lam: float) -> float:
        # the profile likelihood of a normal model of the transformed scores,
        # with the transform's log Jacobian, (lam - 1) * sum(sign(z) log(1 + |z|))
        var = float(transform(lam).var())
        if not var > 0 or not math.isfinite(var):
            return math.inf
        return 0.5 * len(u) * math.log(var) + (lam - 1.0) * float(u.sum())

    lo, hi = float(bounds[0]), float(bounds[1])
    lam = lo if hi <= lo else float(minimize_scalar(neg_log_likelihood, bounds=(lo, hi), method="bounded",
                                                    options={"xatol": 1e-3}).x)
    out = transform(lam)
    if not np.isfinite(out).all() or not float(out.std()) > 1e-12:
        return y
    return out


def ucb_kappa(t: int, dim: int, delta: float = 0.1, scale: float = 1.0) -> float:
    """GP-UCB's exploration weight at iteration ``t`` in ``dim`` dimensions
    (Srinivas et al. 2010, in the form of Brochu et al. 2010's tutorial):
    ``sqrt(scale * 2 log(t^(d/2 + 2) pi^2 / (3 delta)))``; it grows with the
    log of t and with the dimension. Srinivas et al. scaled beta down (by 5)
    in their experiments: ``scale``."""
    t = max(int(t), 1)
    beta = 2.0 * ((dim / 2.0 + 2.0) * math.log(t) + math.log(math.pi ** 2 / (3.0 * delta)))
    return math.sqrt(scale * beta)
