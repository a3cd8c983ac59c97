"""GPSampler's ``lc_mode = "select"`` (branch lcselect, a measurement; hpopt.algorithms.gp_sampler):
per suggestion, the model of the higher evidence, today's joint Matern over (config, log resource)
with EI at the model's rung, or freeze-thaw's ("ft": a Matern over the config plus
hpopt.algorithms.lc_kernel's term) with EI at full length.

Both on the length scales' fit subsample (GPSampler._hypers' rule), the scores standardised: the
log marginal likelihood at each model's fitted hyperparameters (ft's config length scales and noise
are the joint fit's, held; its (w, alpha, beta) lc_kernel.fit's). Without the priors by default;
with ``select_priors`` plus the log prior densities of the parameters the models do not share: the
joint's resource length scale (gp_fit's Gaussian on its log, centred on the isotropic fit's) and
ft's (w, alpha, beta) (lc_kernel's log-normal prior). The shared ones' priors cancel."""
from __future__ import annotations

import math

import numpy as np

from hpopt.algorithms import gp_fit, lc_kernel
from hpopt.algorithms import gp_sampler as g   # (a cycle: used at call time only)

#: the choices made: (model, log marginal likelihood joint, ft, log prior joint, ft) (a diagnostic)
SELECTIONS: list[tuple] = []


def lml(k: np.ndarray, noise: float, z: np.ndarray) -> float:
    """log N(z; 0, k + noise I) (-inf where that is not positive definite)."""
    k = k.copy()
    k[np.diag_indices_from(k)] += noise
    try:
        chol = np.linalg.cholesky(k)
    except np.linalg.LinAlgError:
        return -math.inf
    a = np.linalg.solve(chol, z)
    return -0.5 * float(a @ a) - float(np.log(np.diag(chol)).sum()) - 0.5 * len(z) * math.log(2 * math.pi)


def select(sampler, x, y, scales, noise) -> tuple:
    """(lc_mode, lc_target) for this suggestion: (None, "rung") or ("ft", "full")."""
    upto = gp_fit.refit_count(len(y))
    fx, fy = x[:upto], y[:upto]
    if np.ptp(fy) == 0:
        fx, fy = x, y
    if len(fy) > sampler.fit_points:
        pick = g._fit_subsample(len(fy), sampler.fit_points)
        fx, fy = fx[pick], fy[pick]
    key = ("select", getattr(sampler, "_top", 1), fx.tobytes(), fy.tobytes(), scales.tobytes(), noise)
    hit = g._FITS.get(key)
    if hit is None:
        dim = sampler.dim
        sd = fy.std()
        z = (fy - fy.mean()) / (sd if sd > 0 else 1.0)
        xs = fx / scales
        sampler.lc_mode = "ft"
        lcp = sampler._lc_params(x, y, scales, noise)
        kxx = g._matern52(xs[:, :dim], xs[:, :dim])
        rl = sampler._r_lin(fx[:, dim])
        both = [lml(k, noise, z) for k in (g._matern52(xs, xs), kxx + lc_kernel.kernel(kxx, rl, rl, lcp))]
        dev_r = (math.log(scales[dim]) - sampler._centre) / gp_fit.ARD_PRIOR_SD
        dev = (np.log(lcp) - lc_kernel.PRIOR_CENTRE) / lc_kernel.PRIOR_SD
        log_norm = 0.5 * math.log(2 * math.pi)
        hit = (both[0], both[1], -0.5 * dev_r * dev_r - math.log(gp_fit.ARD_PRIOR_SD) - log_norm,
               float(-0.5 * dev @ dev) - 3 * (math.log(lc_kernel.PRIOR_SD) + log_norm))
        while len(g._FITS) >= g.FIT_MEMO:
            g._FITS.pop(next(iter(g._FITS)))
        g._FITS[key] = hit
    ft = hit[1] + hit[3] > hit[0] + hit[2] if sampler.select_priors else hit[1] > hit[0]
    SELECTIONS.append(("ft" if ft else "joint", *hit))
    return ("ft", "full") if ft else (None, "rung")
