"""Parameter importance without scikit-learn: a first-order (main-effect)
variance decomposition, the first term of functional ANOVA, estimated from
binned parameters.

For each parameter the trials are put in bins of its value: one bin per
category for a choice, one per value for a parameter with few distinct
values, else equal-count bins of the value (of log10 of it for a log
parameter): 3 to 10 of them, about 6 trials or more each. The share of the score's variance that the bins' means explain
is the parameter's main effect; with k bins and n trials, noise alone
explains about (k - 1) / (n - 1) of it, so the estimate is adjusted as
epsilon squared, (SS_between - (k - 1) * MS_within) / SS_total, and floored
at 0. The score enters as its ranks (0 to 1), so one diverged trial (a loss
of 1e9) cannot outweigh the others.

What it does not see: interactions (two parameters that matter only
together) and confounding (a sampler that moved two parameters together
credits both); the page says how many trials it used.
"""
from __future__ import annotations

import math

import numpy as np

METHOD = ("main-effect variance share (first-order functional ANOVA over binned parameters, on score ranks, "
          "epsilon-squared adjusted)")
METHOD_SHORT = "fANOVA main effects over binned parameters"
MAX_BINS = 10


def is_log(spec: dict) -> bool:
    return spec["type"] in ("loguniform", "qloguniform")


def encode(spec: dict, values: list) -> np.ndarray:
    """Values of one parameter as floats: log10 for a log parameter, the
    index among its choices for a choice (NaN where a value is missing or
    not one of them)."""
    if spec["type"] == "choice":
        index = {_key(v): i for i, v in enumerate(spec["range"])}
        return np.array([index.get(_key(v), math.nan) for v in values], dtype=float)
    if set(map(type, values)) <= {int, float}:   # the usual case: one conversion in C
        out = np.array(values, dtype=float)
    else:
        out = np.array([v if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan
                        for v in values], dtype=float)
    if is_log(spec):
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(out > 0, np.log10(np.where(out > 0, out, 1.0)), math.nan)
    return out


def _key(value):
    """A choice's identity: True and 1 are different choices."""
    return (type(value).__name__, value) if isinstance(value, bool) else ("v", value)


def bins(encoded: np.ndarray, categorical: bool, max_bins: int) -> np.ndarray:
    """An integer bin per value (values must be finite)."""
    if categorical:
        return encoded.astype(int)
    ordered = np.sort(encoded)
    distinct = ordered[np.concatenate(([True], np.diff(ordered) > 0))] if len(ordered) else ordered
    if len(distinct) <= max_bins:
        return np.searchsorted(distinct, encoded)
    cuts = ordered[(np.arange(1, max_bins) * len(ordered)) // max_bins]
    return np.searchsorted(np.unique(cuts), encoded, side="right")


def ranks(y: np.ndarray) -> np.ndarray:
    """Ranks from 0 to 1, ties sharing their mean rank."""
    order = np.argsort(y, kind="stable")
    r = np.empty(len(y))
    r[order] = np.arange(len(y))
    _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=r)
    r = sums[inverse] / counts[inverse]
    return r / max(1, len(y) - 1)


def explained(groups: np.ndarray, y: np.ndarray) -> float:
    """Epsilon squared of y grouped by ``groups`` (small non-negative
    integers; 0 when nothing is explained)."""
    n = len(y)
    if n == 0:
        return 0.0
    counts = np.bincount(groups)
    sums = np.bincount(groups, weights=y)
    used = counts > 0
    k = int(used.sum())
    total = float(((y - y.mean()) ** 2).sum())
    if k < 2 or n <= k or total <= 0:
        return 0.0
    between = float((counts[used] * (sums[used] / counts[used] - y.mean()) ** 2).sum())
    within = total - between
    return max(0.0, (between - (k - 1) * within / (n - k)) / total)


def importance(space: dict, params: list[dict], scores) -> list[dict]:
    """[{"name", "explained", "share"}] best first: ``explained`` is the
    fraction of the score-rank variance the parameter's main effect
    explains, ``share`` its part of the parameters' total (0 to 1)."""
    y_all = np.asarray(scores, dtype=float)
    n_bins = min(MAX_BINS, max(3, len(y_all) // 6))     # about 6 trials or more per bin
    scored = np.isfinite(y_all)
    all_ranks = ranks(y_all[scored])
    rows = []
    for name, spec in space.items():
        x = encode(spec, [p.get(name) for p in params])
        keep = np.isfinite(x) & scored
        if keep.sum() < 3:
            rows.append({"name": name, "explained": 0.0})
            continue
        # ranks among the trials that have this parameter (all of them, but for a changed space)
        y = all_ranks if keep.sum() == scored.sum() else ranks(y_all[keep])
        groups = bins(x[keep], spec["type"] == "choice", n_bins)
        rows.append({"name": name, "explained": explained(groups, y)})
    total = sum(r["explained"] for r in rows)
    for r in rows:
        r["share"] = r["explained"] / total if total > 0 else 0.0
    return sorted(rows, key=lambda r: (-r["explained"], r["name"]))
