"""What the Analysis section draws, from a study's sample (data.Dataset):
the importance bars, the axes and lines of the parallel coordinates, a
slice per parameter (the mean score per bin of its values) and a contour
of two parameters (the mean score per cell of a grid). Bins of a numeric
parameter split its search range evenly (in log10 for a log parameter); a
choice has one bin per value. Everything here is bounded by the sample's
size (data.SAMPLE), never by the study's.
"""
from __future__ import annotations

import math

import numpy as np

from studies.analysis import importance
from studies.analysis.data import Dataset, need

LINES = 1000
#: values in all the lines together: a study of 100 parameters gets 300 lines
LINE_VALUES = 30_000
SLICE_BINS = 12
CONTOUR_BINS = 10
MAX_CONTOUR_BINS = 30


def label(value) -> str:
    return value if isinstance(value, str) else "None" if value is None else str(value).lower() \
        if isinstance(value, bool) else str(value)


def axis(name: str, spec: dict) -> dict:
    """How one parameter's axis is drawn: log, linear or categories."""
    if spec["type"] == "choice":
        return {"name": name, "type": "choice", "scale": "category", "categories": [label(v) for v in spec["range"]],
                "values": list(spec["range"]),
                "numeric": all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in spec["range"])}
    low, high = float(spec["range"][0]), float(spec["range"][1])
    return {"name": name, "type": spec["type"], "scale": "log" if importance.is_log(spec) else "linear",
            "range": [low, high], "numeric": True}


class Binning:
    """Bins of one parameter: ``index(values)`` gives each value's bin (-1
    where it has none), ``labels`` and ``edges`` (in the parameter's units)."""

    def __init__(self, spec: dict, n: int):
        self.spec = spec
        if spec["type"] == "choice":
            self.n, self.edges = len(spec["range"]), None
            self.labels = [label(v) for v in spec["range"]]
            return
        log = importance.is_log(spec)
        low, high = (float(v) for v in spec["range"][:2])
        lo, hi = (math.log10(low), math.log10(high)) if log else (low, high)
        enc = np.linspace(lo, hi, n + 1)
        self.n, self.lo, self.hi = n, lo, hi
        self.edges = [float(10 ** e) if log else float(e) for e in enc]
        centres = (enc[:-1] + enc[1:]) / 2
        self.labels = [_short(10 ** c if log else c) for c in centres]

    def index(self, values: list) -> np.ndarray:
        x = importance.encode(self.spec, values)
        ok = np.isfinite(x)
        if self.edges is None:
            return np.where(ok, np.nan_to_num(x, nan=-1), -1).astype(int)
        width = (self.hi - self.lo) or 1.0
        i = np.floor((np.nan_to_num(x, nan=self.lo) - self.lo) / width * self.n)
        return np.where(ok, np.clip(i, 0, self.n - 1), -1).astype(int)


def _short(v: float) -> str:
    return f"{v:.3g}"


def _means(index: np.ndarray, y: np.ndarray, n: int):
    """(trials per bin, mean score per bin) of the rows whose index is >= 0.
    Each score is divided by its bin's count before the sum: a sum of two
    scores near the largest float (diverged losses are finite scores) was
    infinite, and the API's JSON said ``Infinity``, which no browser parses."""
    ok = index >= 0
    kept = index[ok]
    counts = np.bincount(kept, minlength=n)
    means = np.bincount(kept, weights=y[ok] / counts[kept], minlength=n)
    return counts, means


def slices(ds: Dataset, bins: int = SLICE_BINS) -> dict:
    """{name: {"labels", "edges", "bins": [[bin, mean score, trials], ...]}} (bins with trials only)."""
    y = np.asarray(ds.scores, dtype=float)
    out = {}
    for name, spec in ds.space.items():
        b = Binning(spec, bins)
        counts, means = _means(b.index([p.get(name) for p in ds.params]), y, b.n)
        out[name] = {"labels": b.labels, "edges": b.edges,
                     "bins": [[i, float(means[i]), int(c)] for i, c in enumerate(counts) if c]}
    return out


def contour(ds: Dataset, x: str, y: str, bins: int = CONTOUR_BINS) -> dict:
    """The mean score per cell of a grid over parameters x and y:
    {"x": {name, labels, edges}, "y": ..., "cells": [[i, j, mean, trials], ...]}."""
    bx, by = Binning(ds.space[x], bins), Binning(ds.space[y], bins)
    ix = bx.index([p.get(x) for p in ds.params])
    iy = by.index([p.get(y) for p in ds.params])
    score = np.asarray(ds.scores, dtype=float)
    cell = np.where((ix >= 0) & (iy >= 0), ix * by.n + iy, -1)
    counts, means = _means(cell, score, bx.n * by.n)
    cells = [[int(k // by.n), int(k % by.n), float(means[k]), int(counts[k])] for k in np.flatnonzero(counts)]
    return {"x": {"name": x, "labels": bx.labels, "edges": bx.edges},
            "y": {"name": y, "labels": by.labels, "edges": by.edges}, "cells": cells,
            "fidelity": fidelity(ds)}


def lines(ds: Dataset, limit: int = LINES) -> list:
    """[[number, score, [value per parameter, in the axes' order]], ...],
    evenly spread over the sample; a choice's value is its index among the
    axis' categories (null when it is none of them)."""
    limit = max(1, min(limit, LINE_VALUES // max(1, len(ds.space))))
    n = len(ds.numbers)
    count = min(n, limit)
    picked = [k * n // count for k in range(count)]
    columns = []
    for name, spec in ds.space.items():
        values = [ds.params[i].get(name) for i in picked]
        if spec["type"] == "choice":
            values = [None if math.isnan(v) else int(v) for v in importance.encode(spec, values)]
        columns.append(values)
    return [[ds.numbers[i], ds.scores[i], [c[k] for c in columns]] for k, i in enumerate(picked)]


def fidelity(ds: Dataset) -> dict:
    f = ds.fidelity
    return {"kind": f.kind, "iteration": f.iteration, "label": f.label, "trials": ds.trials,
            "used": len(ds.numbers), "sampled": ds.sampled}


def analysis(ds: Dataset, mode: str) -> dict:
    """The Analysis section's body (GET /api/studies/<id>/analysis)."""
    enough = len(ds.numbers) >= need(ds.space)
    return {
        "mode": mode,
        "fidelity": fidelity(ds),
        "importance": {
            "method": importance.METHOD, "method_short": importance.METHOD_SHORT,
            "params": importance.importance(ds.space, ds.params, ds.scores) if enough else [],
            "note": "" if enough else f"needs at least {need(ds.space)} trials at one fidelity "
                                      f"(twice the parameters, at least 8); {len(ds.numbers)} so far",
        },
        "axes": [axis(n, s) for n, s in ds.space.items()],
        "lines": lines(ds),
        "slices": slices(ds),
    }
