"""Model-based sampling for ASHA: a Parzen-estimator (TPE) sampler that learns
from stopped trials (``sampler="tpe"``; the GP sampler, the default, falls
back to it until a rung has enough scores: hpopt.algorithms.gp_sampler).

Why
---
ASHA decides *how long* each config trains; on its own it *picks* configs
uniformly at random, so a budget spent mostly on short trials still only ever
looks at random configs.  Falkner et al. ("BOHB: Robust and Efficient
Hyperparameter Optimization at Scale", ICML 2018) replace Hyperband's random
sampling by a Tree-structured Parzen Estimator (Bergstra et al., "Algorithms
for Hyper-Parameter Optimization", NeurIPS 2011), and Optuna's TPESampler
learns from pruned trials in the same spirit.  In benchmarks/RESULTS.md,
random sampling + Optuna's pruner scored like uniform ASHA, while TPE + the
same pruner was far better on the synthetic problems: the gap was the sampler.

What it models
--------------
Every trial with a recorded rung (or a completed one) is an observation:
``(depth, score)`` where depth is the deepest rung milestone it reached (a
completed trial counts at its full ``iterations``) and score its score there.
Since ASHA promotes only the top ``1/eta`` at each rung, a trial that got
deeper beat more of its peers; trials are ranked by depth, then by
``sign * score`` at that depth (Optuna's ranking of pruned trials).  The top
``gamma`` of the ranking is the "good" set, the rest the "bad" set, and two
densities are fitted on the unit-cube encoding of the search space
(``SearchSpace.encode``: log parameters in log scale):

* ``l(x)``: a product-kernel (multivariate, as in BOHB) Parzen estimator of
  the good configs, ``g(x)``: the same of the bad ones, each mixed with a
  uniform prior of weight ``prior_weight`` (so no region's density is ever 0);
* numeric dimensions use Gaussian kernels truncated to [0, 1] (quantized
  parameters are modelled as continuous and snapped by ``decode``), choice
  dimensions an Aitchison-Aitken kernel (keep the category with probability
  ``1 - eps``, else any other);
* ``n_candidates`` candidates are drawn from ``l`` with bandwidths widened by
  ``bandwidth_factor`` (BOHB's trick against over-exploitation), and the one
  with the largest ``l(x) / g(x)`` (TPE's expected-improvement surrogate) is
  returned.

Until ``n_startup`` observations exist, and for a fraction
``random_fraction`` of suggestions afterwards (chosen by the trial's seeded
generator), the config is uniformly random, as in BOHB: this keeps ASHA's
guarantee of exploring the whole space.

Settings and what they gave
---------------------------
Good share 15% and 64 candidates as in BOHB, Optuna's 10 random start-up
trials, kernel widths of Scott's rule's shape; BOHB's third of random
suggestions and bandwidth factor 3 were lowered to a tenth and 2, keeping
some uniform sampling (ASHA's guarantee of looking at the whole space) while
the model is used more: on the eight problems of ``python -m benchmarks
--parts quality`` at budgets of 8 and 30 full trainings (20 seeds) that lowered
the median regret in 9 of 16 cells and raised it in 4 (benchmarks/RESULTS.md,
"Issue 12: what was tried"); no random share at all was about as good but
gives up that guarantee. Other settings (narrower kernels, a smaller or
larger good share, half random, 20 startup trials, a heavier prior, BOHB's
single-level model, BOHB's per-dimension widths) moved single problems by
amounts within the spread between seed sets, or were worse (the numbers:
benchmarks/RESULTS.md, "Numbers behind the code's choices").

The model ranks trials by the score ASHA recorded at each rung (the score at
that epoch) and completed trials by their final score, the numbers that rank
the best config: ranking by best epochs steered it to configs that peak early
and overfit (benchmarks/RESULTS.md, "Issue 12").

Properties
----------
* Stateless: the model is rebuilt from the snapshot's trials at every call, so
  any process can suggest and a restart loses nothing. (The ranking of the
  trials is carried from one call to the next as a speed-up only, see
  :class:`Ranking`: it is the ranking a sort of the same trials gives.)
* Deterministic: every random draw comes from the generator it is handed
  (``Algorithm.rng(trial_id)``), and ties rank by trial id.
* Cheap: at most ``max_points`` observations enter each density (the good set
  is capped by ``max_good``, the bad set is a seeded subsample), so a
  suggestion costs a few milliseconds whatever the number of trials; the
  observations are encoded in vectorised form, not one ``encode`` per trial,
  and the ranking re-sorts only the trials that changed since the last call,
  named by the file storage's change log (no pass over every trial).
* In a discrete space (grids and choices only) a suggestion never repeats a
  stored config: candidates already tried are skipped, and when every
  candidate was tried the caller's uniform ``unique_sample`` takes over.
"""
from __future__ import annotations

import bisect
import math
import threading
from typing import Callable

import numpy as np

from hpopt.space import Choice, SearchSpace
from hpopt.status import TrialState
from hpopt.storage.base import TrialRecord, Trials, changed_positions

_SQRT2 = math.sqrt(2.0)
#: the ranking of the last suggestion, per sign (see Ranking)
_RANKINGS: dict[float, "Ranking"] = {}
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _erf(x: np.ndarray) -> np.ndarray:
    """Vectorised erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7): numpy has none."""
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t
               + 0.254829592) * t * np.exp(-a * a)
    return s * y


def _phi_cdf(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + _erf(z / _SQRT2))


class ParzenSampler:
    """Suggests a config from the trials' rung scores (see the module doc).

    ``sign`` is +1 when higher scores are better. The class attributes are the
    sampler's settings; they were tuned once on ``python -m benchmarks
    --parts quality`` (benchmarks/RESULTS.md) and are the same for every study.
    """

    #: observations needed before the model is used (uniform sampling before)
    n_startup = 10
    #: fraction of model-era suggestions that are uniformly random (BOHB: 1/3)
    random_fraction = 0.1
    #: share of the ranked observations in the good set ...
    gamma = 0.15
    #: ... at least this many ...
    min_good = 2
    #: ... and at most this many (Optuna caps its good set at 25)
    max_good = 25
    #: at most this many observations in the bad density (a seeded subsample)
    max_points = 200
    #: candidates drawn from the good density
    n_candidates = 64
    #: the candidates' bandwidths are this times the model's (BOHB: 3)
    bandwidth_factor = 2.0
    #: kernel width, in the unit cube, times n ** (-1 / (d + 4)) (Scott's rule shape)
    bandwidth = 0.2
    #: smallest kernel width in the unit cube
    min_bandwidth = 0.03
    #: weight of the uniform prior component, in observations
    prior_weight = 1.0

    def __init__(self, space: SearchSpace, sign: float):
        self.space = space
        self.sign = float(sign)
        self.names = space.names
        self._is_cat = np.array([isinstance(space[n], Choice) for n in self.names], dtype=bool)
        self._n_cat = np.array([len(space[n].choices) if isinstance(space[n], Choice) else 0
                                for n in self.names], dtype=float)

    # -- observations ------------------------------------------------------------------------
    @staticmethod
    def observation(t: TrialRecord) -> tuple[float, float] | None:
        """(depth, raw score) of a trial, or None when it tells nothing yet:
        a completed trial counts at its full iterations with its final score
        (the best config's rule, hpopt.best); any other with a recorded rung
        (stopped, running, paused, killed, lost) at its deepest rung, with the
        score ASHA recorded there. Failed trials are left out."""
        if t.state is TrialState.FAILED or t.best_score is None:
            return None
        if t.state is TrialState.COMPLETED:
            final = t.last_score if t.last_score is not None else t.best_score
            return float(max(t.iterations, max(t.rungs, default=0))), float(final)
        if t.rungs:
            m = max(t.rungs)
            v = t.rungs[m]
            if v is None:
                return None
            return float(m), float(v)
        return None

    def ranked(self, trials: list[TrialRecord]) -> list[TrialRecord]:
        """Trials with an observation (see ``observation``) and a finite
        score, best first: deeper first, then better score at that depth,
        then the earlier trial. Kept up to date from the last call's ranking
        (see Ranking): at thousands of trials this is most of a suggestion."""
        ranking = _RANKINGS.get(self.sign)
        if ranking is None:
            ranking = _RANKINGS[self.sign] = Ranking(self.sign)
        return ranking.of(trials)

    def encode_many(self, params: list[dict]) -> np.ndarray:
        """Rows of ``SearchSpace.encode`` (SearchSpace.encode_many: vectorised)."""
        return self.space.encode_many(params)

    # -- the densities ------------------------------------------------------------------------
    def _widths(self, points: np.ndarray) -> np.ndarray:
        """Kernel widths per dimension: one width for all, shrinking with the
        number of points as Scott's rule does. (BOHB's per-dimension widths
        from the points' spread collapsed onto a few configs in the benchmark,
        and raised the regret: benchmarks/RESULTS.md, "Numbers behind the code's choices".)"""
        n, d = points.shape
        h = max(self.min_bandwidth, self.bandwidth * n ** (-1.0 / (d + 4)))
        return np.full(d, h)

    def _log_density(self, x: np.ndarray, centers: np.ndarray, widths: np.ndarray) -> np.ndarray:
        """log of the mixture (kernels at ``centers`` + uniform prior) at each row of ``x``.

        The product kernel's log is a sum over dimensions, computed as matrix
        products: squared distances through ``|a|^2 + |b|^2 - 2 a.b`` for the
        numeric dimensions, and one-hot codes for the choices."""
        cont = ~self._is_cat
        n = len(centers)
        logk = np.zeros((len(x), n))
        if cont.any():
            h = widths[cont]
            mu = centers[:, cont] / h                  # (n, dc), in units of the width
            xs = x[:, cont] / h
            m = centers[:, cont]
            z_norm = _phi_cdf((1.0 - m) / h) - _phi_cdf(-m / h)   # each kernel's mass inside [0, 1]
            log_norm = (np.log(np.maximum(z_norm, 1e-300)) + np.log(h) + _LOG_SQRT_2PI).sum(axis=1)
            sq = (xs * xs).sum(axis=1)[:, None] + (mu * mu).sum(axis=1)[None, :] - 2.0 * xs @ mu.T
            logk += -0.5 * np.maximum(sq, 0.0) - log_norm[None, :]
        if self._is_cat.any():
            k = self._n_cat[self._is_cat]
            eps = self._cat_eps(widths[self._is_cat], k)
            log_same = np.log1p(-eps)
            log_other = np.log(np.maximum(eps, 1e-300) / np.maximum(k - 1, 1))
            hot_x = self._one_hot(x[:, self._is_cat])
            hot_c = self._one_hot(centers[:, self._is_cat]) * np.repeat(log_same - log_other, k.astype(int))
            logk += float(log_other.sum()) + hot_x @ hot_c.T
        # the uniform prior's density on the encoded space: 1 per numeric
        # dimension, 1/k per choice
        log_prior = -float(np.log(self._n_cat[self._is_cat]).sum())
        w = self.prior_weight
        if w > 0:
            logk = np.concatenate([logk, np.full((len(x), 1), log_prior + math.log(w))], axis=1)
        top = logk.max(axis=1, keepdims=True)
        return (top[:, 0] + np.log(np.exp(logk - top).sum(axis=1))) - math.log(n + w)

    def _one_hot(self, u: np.ndarray) -> np.ndarray:
        """Choice columns (unit codes) as concatenated one-hot blocks."""
        k = self._n_cat[self._is_cat].astype(int)
        idx = self._cat_index(u) + np.concatenate([[0], np.cumsum(k)[:-1]])[None, :]
        out = np.zeros((len(u), int(k.sum())))
        np.put_along_axis(out, idx, 1.0, axis=1)
        return out

    def _cat_index(self, u: np.ndarray) -> np.ndarray:
        k = self._n_cat[self._is_cat]
        return np.minimum((u * k).astype(int), (k - 1).astype(int))

    @staticmethod
    def _cat_eps(h: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Probability of leaving a category: the kernel width, scaled so that
        a width of 1 or more would be uniform."""
        return np.minimum(h, 1.0) * (k - 1) / np.maximum(k, 1)

    def _sample_good(self, good: np.ndarray, widths: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` draws from the good density with widened kernels (no prior)."""
        d = len(self.names)
        base = good[rng.integers(len(good), size=n)]
        x = base.copy()
        cont = ~self._is_cat
        if cont.any():
            h = np.minimum(widths[cont] * self.bandwidth_factor, 1.0)
            mu = base[:, cont]
            y = mu + h * rng.standard_normal(mu.shape)
            for _ in range(8):   # truncation by rejection; a few stragglers are clipped
                out = (y < 0.0) | (y > 1.0)
                if not out.any():
                    break
                y = np.where(out, mu + h * rng.standard_normal(mu.shape), y)
            x[:, cont] = np.clip(y, 0.0, 1.0)
        if self._is_cat.any():
            k = self._n_cat[self._is_cat]
            eps = self._cat_eps(np.minimum(widths[self._is_cat] * self.bandwidth_factor, 1.0), k)
            idx = self._cat_index(base[:, self._is_cat])
            move = rng.random(idx.shape) < eps
            # another category, uniformly among the k - 1 others
            shift = 1 + (rng.random(idx.shape) * np.maximum(k - 1, 1)).astype(int)
            new = np.where(move & (k > 1), (idx + shift) % k, idx)
            x[:, self._is_cat] = (new + 0.5) / k
        assert x.shape == (n, d)
        return x

    # -- the suggestion -----------------------------------------------------------------------
    def suggest(self, trials: list[TrialRecord], rng: np.random.Generator,
                fallback: Callable[[], dict | None], tried: Callable[[dict], bool] | None = None,
                checked: bool = False) -> dict | None:
        """A config for the next trial. ``fallback()`` gives a uniformly random
        one (``Algorithm.unique_sample``); it is used before the model starts,
        for ``random_fraction`` of suggestions, and when every candidate was
        ``tried`` (in a discrete space). ``checked``: the caller (another
        sampler falling back to this one) drew the start-up and random-share
        checks already."""
        start = max(self.n_startup, 2)
        if not checked and (len(trials) < start or rng.random() < self.random_fraction):
            return fallback()
        ranked = self.ranked(trials)
        if len(ranked) < start:
            return fallback()
        n_good = min(self.max_good, max(self.min_good, math.ceil(self.gamma * len(ranked))))
        n_good = min(n_good, len(ranked) - 1)
        good_t, n_bad = ranked[:n_good], len(ranked) - n_good
        if n_bad > self.max_points:
            # (indexes into the ranking: no copy of its thousands of entries)
            keep = np.sort(rng.choice(n_bad, size=self.max_points, replace=False))
            bad_t = [ranked[n_good + i] for i in keep]
        else:
            bad_t = ranked[n_good:]
        good = self.encode_many([t.params for t in good_t])
        bad = self.encode_many([t.params for t in bad_t])
        wg, wb = self._widths(good), self._widths(bad)
        cand = self._sample_good(good, wg, self.n_candidates, rng)
        score = self._log_density(cand, good, wg) - self._log_density(cand, bad, wb)
        order = np.argsort(-score, kind="stable")
        for i in order:
            params = self.space.decode(cand[i])
            if tried is None or not tried(params):
                return params
        return fallback()


class Ranking:
    """ParzenSampler.ranked, kept from one call to the next.

    A stored record is never changed in place (a change makes a new record:
    TrialRecord.replace). Only the positions that changed since the last call
    (a few per suggestion: the trials that reported since) are taken out of
    the sorted order and put back at their new place. The file storage's
    snapshot names them (hpopt.storage.base.Trials: the journal logs every
    record it replaces or adds), so a hand-out costs the same at 10 trials
    and at 10,000. Without that log (a list built by hand, the dashboard's
    database, another study's trials in between), the records at the
    positions where the new list holds the same objects as the last one keep
    their place, found by an identity test over every record
    (``map(operator.is_not, ...)``, in C); a storage that makes new records at
    every read (the database) changes every position, and the ranking is then
    sorted anew, as it always was.

    The order is the sort key ``(-depth, -sign * score, trial_id)``, the one
    ``np.lexsort`` used before: the same ranking for the same trials."""

    #: more changed positions than this: sort anew
    max_changes = 256

    def __init__(self, sign: float):
        self.sign = sign
        self.last: list = []
        self.keys: list[tuple] = []      # sorted
        self.records: list = []          # in the order of keys
        self.key_at: dict[int, tuple] = {}   # position in the list -> its key (ranked ones only)
        self._lock = threading.Lock()

    def of(self, trials) -> list[TrialRecord]:
        """The ranking of ``trials``. Read it before the next call: a call on
        the same change log (below) updates the list it returned in place."""
        with self._lock:   # threads of a web server may suggest at once
            return self._of(trials)

    def _of(self, trials) -> list[TrialRecord]:
        # the storage's change log (hpopt.storage.base.Trials) names the
        # positions changed since the last call: no pass over every record
        trials, changed = changed_positions(trials, self.last)
        if changed is None or len(changed) > self.max_changes:
            return self._result(self._rebuild(trials))
        for i in changed:
            old = self.key_at.pop(i, None)
            if old is not None:
                at = bisect.bisect_left(self.keys, old)
                del self.keys[at], self.records[at]
            key = self._key(trials[i], i)
            if key is not None:
                at = bisect.bisect_left(self.keys, key)
                self.keys.insert(at, key)
                self.records.insert(at, trials[i])
                self.key_at[i] = key
        self.last = trials
        return self._result(self.records)

    def _result(self, records: list) -> list:
        """The ranking itself on the log's path (read under the storage's lock
        before the next call of the same study can change it), a copy
        otherwise (the database storage's reads share no lock)."""
        return records if isinstance(self.last, Trials) and self.last.log is not None else list(records)

    def _rebuild(self, trials: list) -> list[TrialRecord]:
        keyed = sorted((key, i) for i, t in enumerate(trials) if (key := self._key(t, i)) is not None)
        self.keys = [k for k, _ in keyed]
        self.records = [trials[i] for _, i in keyed]
        self.key_at = {i: k for k, i in keyed}
        self.last = trials
        return self.records

    def _key(self, t: TrialRecord, position: int) -> tuple | None:
        seen = ParzenSampler.observation(t)
        if seen is None or not math.isfinite(seen[1]):
            return None
        # the position makes keys unique (a snapshot built by hand may repeat a trial id)
        return (-seen[0], -self.sign * seen[1], t.trial_id, position)


def suggest(algorithm, trials, rng: np.random.Generator) -> dict | None:
    """The config of ASHA's next trial: :class:`ParzenSampler` on ``trials``
    (a snapshot's), with ``algorithm.unique_sample`` as the uniform fallback
    (so a discrete space never repeats a config, and None still means exhausted)."""
    space = algorithm.space
    tried = None
    if space.is_discrete:
        seen = {space.key(t.params) for t in trials}
        tried = lambda params: space.key(params) in seen  # noqa: E731
    sampler = ParzenSampler(space, algorithm.sign)
    return sampler.suggest(trials, rng, lambda: algorithm.unique_sample(trials, rng), tried)
