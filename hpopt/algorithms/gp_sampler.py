"""ASHA's default sampler, a Gaussian process (``sampler="gp"``; ``sampler="tpe"`` keeps the TPE).

MOBSTER (Klein et al., "Model-based Asynchronous Hyperparameter and Neural
Architecture Search", 2020) and Hyper-Tune (Li et al., VLDB 2022) put a GP
behind ASHA where BOHB puts a TPE. This sampler fits a Matern 5/2 GP (one
length scale per input and a noise variance, fitted by
hpopt.algorithms.gp_fit as bayes_opt's are) on every score recorded at a rung
(and every completed trial's final score), with the resource as one more
input (log epochs over log max_iterations: MOBSTER's joint model), and
returns the candidate with the largest expected improvement at the model's
rung:

* the model's rung is the deepest milestone (a completed trial counts at its
  ``iterations``) where at least ``3 d + 2`` trials have a score (d parameters),
  never the lowest one; until a rung qualifies, the TPE sampler
  (hpopt.algorithms.tpe) suggests. With fewer points, or at the first rung
  (the noisiest ranking), the GP lost to the TPE at 8 full trainings in the
  benchmark (benchmarks/RESULTS.md, "Branch gpasha");
* EI improves on the best of the GP's mean at the rung's configs (robust to
  noisy scores); the scores are ``sign * score``, standardised; at most
  ``max_points`` observations (the rung's best half first, then a seeded draw)
  enter the GP;
* the length scales and the noise are fitted on the first observations in
  trial order on bayes_opt's schedule (gp_fit.refit_count) and memoised, so
  most suggestions cost one Cholesky factorisation and one prediction of the
  candidates;
* candidates: ``n_random`` uniform points of the unit cube and ``n_local``
  perturbations of the rung's best ``n_centers`` configs, then a round of
  small steps around the best five, each evaluated at the trial it decodes to
  (SearchSpace.snapper: quantized and choice values on their grid);
* the start-up trials and the share of uniformly random suggestions are the
  TPE sampler's (ASHA's guarantee of looking at the whole space); in a
  discrete space a tried config is never suggested again.

Deterministic like the TPE sampler: a suggestion is a function of the
trials (the rows kept from the last call, Observations, are those collected
anew; the memoised fit is a function of the points it was fitted on), and
every draw comes from the trial's generator.
"""
from __future__ import annotations

import functools
import math
import threading
import warnings
from typing import Callable

import numpy as np

from hpopt.algorithms.bayes import _blas_threads
from hpopt.algorithms.gp_fit import fit_ard_length_scales, modelled_scores, refit_count
from hpopt.algorithms.tpe import ParzenSampler, _phi_cdf
from hpopt.status import TrialState
from hpopt.storage.base import TrialRecord, changed_positions

#: standard deviations (unit cube) of the local candidates, cycled; and of the refinement round
LOCAL_SCALES = (0.02, 0.07, 0.2)
REFINE_SCALES = (0.005, 0.02)
#: memo of fitted (length scales, noise) by their inputs
_FITS: dict[tuple, tuple[np.ndarray, float]] = {}
FIT_MEMO = 64
#: the observations kept per space (see Observations)
_OBSERVED: dict[str, "Observations"] = {}
_OBSERVED_LOCK = threading.Lock()
OBSERVED_MEMO = 8
#: rows of the kernel computed at once (three such blocks stay in the CPU's cache)
KERNEL_ROWS = 128


def trial_rows(t: TrialRecord) -> list[tuple[int, float]]:
    """(level in epochs, raw score there) of one trial: every recorded rung
    score, and a completed trial's final score at its iterations (the TPE
    sampler's rule). None for a failed trial."""
    if t.state is TrialState.FAILED:
        return []
    out = [(int(m), float(v)) for m, v in t.rungs.items() if v is not None and math.isfinite(v)]
    if t.state is TrialState.COMPLETED and t.best_score is not None:
        final = t.last_score if t.last_score is not None else t.best_score
        level = int(max(t.iterations, max(t.rungs, default=0)))
        if math.isfinite(final) and level not in t.rungs:
            out.append((level, float(final)))
    return out


def rung_observations(trials) -> dict[int, list[tuple[TrialRecord, float]]]:
    """level (epochs) -> [(trial, raw score there)], in trial order (trial_rows' rule)."""
    out: dict[int, list] = {}
    for t in trials:
        for m, v in trial_rows(t):
            out.setdefault(m, []).append((t, v))
    return out


class Observations:
    """Every trial's trial_rows as arrays, kept from one call to the next:
    rows ``[unit-cube config, trial id, level, raw score]`` in trial order.

    Collecting them from every trial in Python was a fifth of a suggestion
    at 1,000 trials. As tpe.Ranking does, only the positions that changed
    since the last call (the storage's change log, or an identity test over
    every record, in C) are collected and encoded again; a storage that
    makes new records at every read (the database) changes every position,
    and every row is collected anew. A stored record is never changed in
    place (TrialRecord.replace), and ``last`` holds the records compared, so
    an identity is never reused while it is kept."""

    def __init__(self, space):
        self.space = space
        self.last: tuple | list = ()
        self.pos = np.zeros(0, dtype=np.int64)          # each row's position in the trials
        self.rows = np.zeros((0, len(space) + 3))
        self.counts: dict[int, int] = {}                # level -> rows there
        self._lock = threading.Lock()   # threads of a web server may suggest at once

    def of(self, trials) -> tuple[np.ndarray, dict[int, int]]:
        """The rows of ``trials`` (read-only: they are handed out again) and
        the number of rows at each level (a trial has one row per level)."""
        with self._lock:
            trials, changed = changed_positions(trials, self.last)
            if changed is None:
                self.pos, self.rows, self.counts, changed = self.pos[:0], self.rows[:0], {}, range(len(trials))
            self._update(trials, changed)
            self.last = trials
            return self.rows, dict(self.counts)

    def _update(self, trials, changed) -> None:
        if not changed:
            return
        pos, ids, levels, scores, params = [], [], [], [], []
        for i in changed:
            t = trials[i]
            for m, v in trial_rows(t):
                pos.append(i), ids.append(t.trial_id), levels.append(m), scores.append(v), params.append(t.params)
        gone = np.isin(self.pos, changed)
        for m in self.rows[gone, -2].astype(np.int64).tolist():
            self.counts[m] -= 1
        for m in levels:
            self.counts[m] = self.counts.get(m, 0) + 1
        self.counts = {m: n for m, n in self.counts.items() if n}
        # encode_many per row, as when every row was collected anew: the same floats
        new = np.column_stack([self.space.encode_many(params).reshape(len(params), len(self.space)),
                               np.array(ids, dtype=float), np.array(levels, dtype=float), np.array(scores)])
        kept_pos, kept = self.pos[~gone], self.rows[~gone]
        # in position order (a trial's rows in trial_rows' order): after the kept rows before them
        at = np.searchsorted(kept_pos, pos, side="right")
        self.pos = np.insert(kept_pos, at, np.array(pos, dtype=np.int64))
        self.rows = np.insert(kept, at, new, axis=0)
        self.rows.flags.writeable = False


def observations(space, trials) -> tuple[np.ndarray, dict[int, int]]:
    """Observations(space).of(trials), one kept per space (its encoding)."""
    key = repr(space)
    with _OBSERVED_LOCK:
        kept = _OBSERVED.pop(key, None) or Observations(space)
        _OBSERVED[key] = kept                # the most recent last
        while len(_OBSERVED) > OBSERVED_MEMO:
            _OBSERVED.pop(next(iter(_OBSERVED)))
    return kept.of(trials)


def _matern52(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Matern 5/2 between rows already divided by their length scales.

    Over a quarter of a suggestion was this kernel of ~1,150 candidates,
    mostly a dozen passes over a megabyte-sized array: the element-wise
    passes run in place, on blocks of KERNEL_ROWS rows that stay in the
    CPU's cache. The operations and their order are those of
    ``r = sqrt(5 * max(|a|^2 + |b|^2 - 2 a.b, 0))``, ``(1 + r + r * r / 3) * exp(-r)``."""
    cross = 2.0 * a @ b.T
    aa, bb = (a * a).sum(1)[:, None], (b * b).sum(1)[None, :]
    out = np.empty_like(cross)
    e, r2 = np.empty((min(len(a), KERNEL_ROWS), len(b))), np.empty((min(len(a), KERNEL_ROWS), len(b)))
    for lo in range(0, len(a), KERNEL_ROWS):
        r = out[lo: lo + KERNEL_ROWS]
        n = len(r)
        np.add(aa[lo: lo + n], bb, out=r)
        r -= cross[lo: lo + n]
        np.maximum(r, 0.0, out=r)
        r *= 5.0
        np.sqrt(r, out=r)
        np.negative(r, out=e[:n])
        np.exp(e[:n], out=e[:n])
        np.multiply(r, r, out=r2[:n])
        r2[:n] /= 3.0
        r += 1.0
        r += r2[:n]
        r *= e[:n]
    return out


class GPSampler:
    """Suggests a config by expected improvement at one rung (see the module doc)."""

    #: the TPE's start-up trials and share of uniformly random suggestions
    n_startup = ParzenSampler.n_startup
    random_fraction = ParzenSampler.random_fraction
    #: "joint": one GP on every rung's scores with the resource (log epochs,
    #: scaled to [0, 1]) as an input, EI at the model's rung (MOBSTER's joint
    #: model); "rung": a GP on the model's rung's scores only
    level_rule = "joint"
    #: trials a rung needs to be the model's: this many per parameter, plus 2 ...
    points_per_dim = 3.0
    #: ... or exactly this many (None: by points_per_dim)
    min_points: int | None = None
    #: the lowest rung is never the model's (the TPE suggests until a deeper one has enough)
    skip_first_rung = True
    #: EI improves on "mean": the best of the GP's mean at the rung's points
    #: (robust to noisy scores), or "observed": the best score there
    incumbent = "mean"
    #: at most this many observations in the GP (the rung's best half first)
    max_points = 128
    #: the length scales are fitted on at most this many (a seeded subsample)
    fit_points = 60
    #: uniform candidates, local ones around the rung's best n_centers points
    n_random = 512
    n_local = 512
    n_centers = 5
    length_scale_bounds = (1e-2, 1e2)
    #: the noise variance's bounds and Gamma prior (bayes_opt's: BayesOpt.noise_*)
    noise_bounds = (1e-6, 1.0)
    noise_prior = (1.1, 30.0)

    def __init__(self, space, sign: float, max_iterations: int | None = None):
        self.max_iterations = max_iterations
        self.space = space
        self.sign = float(sign)
        self.dim = len(space)
        self.snap = space.snapper()

    def _data(self, trials):
        """(points, sign * scores, the joint model's resource coordinate for
        candidates or None, which rows are at the model's rung), or None
        while no rung has enough points (the TPE suggests then)."""
        rows, counts = observations(self.space, trials)
        x, ids, at, raw = rows[:, : self.dim], rows[:, self.dim], rows[:, self.dim + 1], rows[:, self.dim + 2]
        level = self.model_level(counts)
        if level is None:
            return None
        if self.level_rule == "joint":
            found = sorted(counts)
            top = self.max_iterations or max(found)
            # the resource of each level, by math.log as it always was (numpy's log may differ in the last bit)
            res = np.array([math.log(m) / math.log(top) if top > 1 else 1.0 for m in found])
            res = res[np.searchsorted(np.array(found, dtype=float), at)]
            # by (trial id, level), stable as sorted() was; trials in id order with rungs in
            # epoch order (as a study records them) are in that order already: no sort of every row
            step, rise = np.diff(ids), np.diff(at)
            if not np.all((step > 0) | ((step == 0) & (rise >= 0))):
                order = np.lexsort((at, ids))
                x, at, raw, res = x[order], at[order], raw[order], res[order]
            return (np.hstack([x, res[:, None]]), modelled_scores(self.sign * raw),
                    float(math.log(level) / math.log(top)) if top > 1 else 1.0, at == level)
        here = at == level
        gx, y = _distinct(x[here], modelled_scores(self.sign * raw[here]))
        return gx, y, None, np.ones(len(y), dtype=bool)

    def _need(self) -> int:
        """Trials a rung needs before the GP models it."""
        if self.min_points is not None:
            return self.min_points
        return math.ceil(self.points_per_dim * self.dim) + 2

    def model_level(self, counts: dict[int, int]) -> int | None:
        """The model's rung, from the number of trials with a score at each
        level (a trial has one row per level: trial_rows)."""
        need = self._need()
        ok = [m for m, n in counts.items() if n >= max(need, 2)
              and not (self.skip_first_rung and m == min(counts))]
        return max(ok) if ok else None

    def suggest(self, trials, rng: np.random.Generator, fallback: Callable[[], dict | None],
                tried: Callable[[dict], bool] | None, tpe: ParzenSampler) -> dict | None:
        start = max(self.n_startup, 2)
        if len(trials) < start or rng.random() < self.random_fraction:
            return fallback()
        data = self._data(trials)
        if data is None:
            return tpe.suggest(trials, rng, fallback, tried, checked=True)
        x, y, extra, at_level = data
        if len(y) < 2 or np.ptp(y) == 0:
            return tpe.suggest(trials, rng, fallback, tried, checked=True)
        scales, noise = self._hypers(x, y)
        order = np.lexsort((-y, ~at_level))   # the model's rung first, best first
        if len(y) > self.max_points:
            keep = self.max_points // 2
            rest = rng.choice(order[keep:], size=self.max_points - keep, replace=False)
            order = np.concatenate([order[:keep], rest])
        gx, gy, gat = x[order], y[order], at_level[order]
        mu_y, sd_y = gy.mean(), gy.std()
        if sd_y == 0:   # the points drawn all have one score (scores that saturate): nothing to model
            return tpe.suggest(trials, rng, fallback, tried, checked=True)
        z = (gy - mu_y) / sd_y
        xs = gx / scales
        k = _matern52(xs, xs)
        k[np.diag_indices_from(k)] += noise
        # (the core imports scipy only where a GP is used)
        from scipy.linalg import solve_triangular

        try:
            chol = np.linalg.cholesky(k)
        except np.linalg.LinAlgError:   # (equal rows of the joint model, a flat fit): no GP this time
            return tpe.suggest(trials, rng, fallback, tried, checked=True)
        inv_l = solve_triangular(chol, np.eye(len(z)), lower=True, check_finite=False)
        alpha = inv_l.T @ (inv_l @ z)
        if self.incumbent == "mean":   # the GP's mean at the rung's points: noise-robust
            best = float((_matern52(xs[gat], xs) @ alpha).max())
        else:
            best = float(z[gat].max())

        def ei(c: np.ndarray) -> np.ndarray:
            if extra is not None:   # the joint model: candidates at the model's resource
                c = np.hstack([c, np.full((len(c), 1), extra)])
            kc = _matern52(c / scales, xs)
            mean = kc @ alpha
            v = kc @ inv_l.T
            v *= v
            sd = np.sqrt(np.maximum(1.0 - v.sum(1), 1e-12))
            u = (mean - best) / sd
            return sd * (u * _phi_cdf(u) + np.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi))

        cand = [rng.random((self.n_random, self.dim))]
        if self.n_local:
            centers = gx[gat][: self.n_centers, : self.dim]
            cand.append(self._perturb(centers, self.n_local, LOCAL_SCALES, rng))
        cand = self._snapped(np.vstack(cand))
        acq = ei(cand)
        if self.n_local:
            top = cand[np.argsort(-acq, kind="stable")[:5]]
            fine = self._snapped(self._perturb(top, self.n_local // 4, REFINE_SCALES, rng))
            cand, acq = np.vstack([cand, fine]), np.concatenate([acq, ei(fine)])
        for i in np.argsort(-acq, kind="stable")[:64]:
            params = self.space.decode(cand[i])
            if tried is None or not tried(params):
                return params
        return fallback()

    def _snapped(self, c: np.ndarray) -> np.ndarray:
        return c if self.snap is None else self.snap(c)

    def _perturb(self, centers: np.ndarray, n: int, scales, rng: np.random.Generator) -> np.ndarray:
        base = np.repeat(centers, -(-n // len(centers)), axis=0)[:n]
        step = np.resize(np.asarray(scales, float), n)[:, None]
        moved = rng.random(base.shape) < 0.5
        moved[np.arange(n), rng.integers(base.shape[1], size=n)] = True
        return np.clip(base + moved * step * rng.standard_normal(base.shape), 0.0, 1.0)

    def _hypers(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
        """Length scales and noise variance (in units of the scores' variance),
        fitted on the first refit_count(n) points in trial order, at most
        ``fit_points`` of them (a subsample seeded by their number), and
        memoised by those points: consecutive suggestions share a fit until
        the next step. (Keyed by the subsample, not every point: at 10,000
        trials the key of every point cost a quarter of a millisecond.)"""
        upto = refit_count(len(y))
        fx, fy = x[:upto], y[:upto]
        if np.ptp(fy) == 0:
            fx, fy = x, y
        if len(fy) > self.fit_points:
            pick = _fit_subsample(len(fy), self.fit_points)
            fx, fy = fx[pick], fy[pick]
        key = (fx.tobytes(), fy.tobytes(), self.length_scale_bounds, self.noise_bounds, self.noise_prior)
        hit = _FITS.get(key)
        if hit is None:
            hit = self._fit(fx, fy)
            while len(_FITS) >= FIT_MEMO:
                _FITS.pop(next(iter(_FITS)))
            _FITS[key] = hit
        return hit

    def _fit(self, fx: np.ndarray, fy: np.ndarray) -> tuple[np.ndarray, float]:
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import Matern, WhiteKernel

        dim = fx.shape[1]
        kernel = (Matern(nu=2.5, length_scale=np.ones(dim), length_scale_bounds=self.length_scale_bounds)
                  + WhiteKernel(noise_level=1e-2, noise_level_bounds=self.noise_bounds))
        opt = functools.partial(fit_ard_length_scales, n_scales=dim, noise_prior=self.noise_prior)
        gp = GaussianProcessRegressor(kernel=kernel, alpha=1e-6, normalize_y=True, optimizer=opt)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gp.fit(fx, fy)
        return (np.array(gp.kernel_.k1.length_scale, dtype=float).reshape(dim),
                float(gp.kernel_.k2.noise_level) + 1e-6)


@functools.lru_cache(maxsize=64)
def _fit_subsample(n: int, size: int) -> np.ndarray:
    """The ``size`` of ``n`` points the length scales are fitted on (seeded by ``n``), in order."""
    pick = np.sort(np.random.default_rng(n).choice(n, size=size, replace=False))
    pick.flags.writeable = False
    return pick


def _distinct(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One row per distinct point (first appearance order), equal points' scores averaged."""
    uniq, first, inverse = np.unique(x, axis=0, return_index=True, return_inverse=True)
    if len(uniq) == len(x):
        return x, y
    inverse = inverse.reshape(-1)
    sums = np.bincount(inverse, weights=y, minlength=len(uniq))
    counts = np.bincount(inverse, minlength=len(uniq))
    perm = np.argsort(first, kind="stable")
    return uniq[perm], (sums / counts)[perm]


def suggest(algorithm, trials, rng: np.random.Generator) -> dict | None:
    """The config of ASHA's next trial from :class:`GPSampler` (tpe.suggest's contract)."""
    space = algorithm.space
    tried = None
    if space.is_discrete:
        seen = {space.key(t.params) for t in trials}
        tried = lambda params: space.key(params) in seen  # noqa: E731
    plan = getattr(algorithm, "plan", None)
    sampler = GPSampler(space, algorithm.sign, getattr(plan, "max_iterations", None))
    tpe = ParzenSampler(space, algorithm.sign)
    # one BLAS thread: the matrices are a few hundred wide at most (see bayes_opt's suggestion)
    with _blas_threads().limit(limits=1, user_api="blas"):
        return sampler.suggest(trials, rng, lambda: algorithm.unique_sample(trials, rng), tried, tpe)
