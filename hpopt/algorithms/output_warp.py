"""Output warps of the scores a GP models (maximised: ``sign * score``).

The half-rank warp is the one of Vizier's GP bandit (Song et al. 2022, "The
Vizier Gaussian Process Bandit Algorithm", section on output warping): scores
at or above their median are left as they are; each distinct score below the
median is replaced by ``median + s * Phi^-1(q)``, where ``q`` is its rank
quantile among the distinct scores below the median (in (0, 0.5)) and ``s``
the root mean square distance of the distinct scores at or above the median
from the median. A heavy tail of terrible scores becomes a Gaussian half
matched to the good half's spread, while the region that decides where the
optimum lies keeps its shape and its noise. The optional log warp (Vizier's
second step, offset 1.5) then maps the scores to [-0.5, 0.5], spreading the
best ones apart and pulling the worst together. ``compress`` (not
Vizier's) moves a score up only: the half-rank warp where it shortens a bad
tail, the identity where it would spread a bad half tighter than the good
one.

The warps are monotone (strictly: distinct scores stay distinct and in order),
cheap (a sort and one vectorised inverse normal CDF) and applied afresh to
the scores at every suggestion.
"""
from __future__ import annotations

import numpy as np

#: the names BayesOpt.output_warp and GPSampler.output_warp accept (None: no warp)
WARPS = ("half_rank", "half_rank_log", "half_rank_compress")
#: the log warp's offset (Vizier's LogWarperComponent default)
LOG_OFFSET = 1.5


def half_rank(y: np.ndarray) -> np.ndarray:
    """The half-rank warp of ``y`` (maximised), a new array (see the module doc)."""
    y = np.asarray(y, dtype=float)
    out = y.copy()
    if y.size < 2:
        return out
    med = float(np.median(y))
    uniq, inv = np.unique(y, return_inverse=True)
    inv = inv.reshape(-1)
    below = int(np.searchsorted(uniq, med, side="left"))   # distinct scores below the median
    if below == 0:   # (all equal, or the median is the minimum)
        return out
    # the rank quantile's denominator: the distinct scores below the median, a half more where one equals it
    denom = below + (0.5 if uniq[below] == med else 0.0)
    good = uniq[below:]
    s = float(np.sqrt(np.mean((good - med) ** 2)))
    if not s > 0:   # one distinct score at or above the median, equal to it: the spread of all
        s = float(np.sqrt(np.mean((uniq - med) ** 2)))
    from scipy.special import ndtri

    bad = inv < below
    out[bad] = med + s * ndtri(0.5 * (inv[bad] + 0.5) / denom)
    return out


def compress(y: np.ndarray) -> np.ndarray:
    """The half-rank warp where it moves a score up only: ``max(y,
    half_rank(y))``. A bad tail longer than the Gaussian one is pulled in, a
    bad half tighter than the good half's spread is left as it is (the
    half-rank warp spreads it out). Strictly monotone as the maximum of two
    strictly monotone maps."""
    y = np.asarray(y, dtype=float)
    return np.maximum(y, half_rank(y))


def log_warp(y: np.ndarray, offset: float = LOG_OFFSET) -> np.ndarray:
    """``0.5 - log1p((max - y) / range * (offset - 1)) / log(offset)``: the
    best score at 0.5, the worst at -0.5, concave (a new array; ``y``
    returned as a copy where all are equal)."""
    y = np.asarray(y, dtype=float)
    top, span = float(y.max(initial=-np.inf)), float(np.ptp(y)) if y.size else 0.0
    if not span > 0:
        return y.copy()
    return 0.5 - np.log1p((top - y) / span * (offset - 1.0)) / np.log(offset)


def warp(y: np.ndarray, name: str | None) -> np.ndarray:
    """``y`` under the warp ``name`` (one of WARPS), or ``y`` itself for None."""
    if name is None:
        return y
    if name == "half_rank":
        return half_rank(y)
    if name == "half_rank_log":
        return log_warp(half_rank(y))
    if name == "half_rank_compress":
        return compress(y)
    raise ValueError(f"unknown output warp {name!r}; expected None or one of {WARPS}")
