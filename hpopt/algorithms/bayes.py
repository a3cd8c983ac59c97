"""Bayesian optimization (SMBO) on bayes_opt's Gaussian process with UCB.

Brochu et al. 2010 (arXiv 1012.2599); the GP and the UCB acquisition are the
``bayesian-optimization`` package's (Matern 2.5 kernel).  The optimizer is
rebuilt from the stored trials at every suggestion, so its state is never
pickled and any process can suggest:

* every parameter is encoded to [0, 1] by the search space (log parameters in
  log scale, choices by index band), so string and numeric choices work alike
  and a decoded suggestion is always a valid, quantized value;
* each finished trial is registered with its best score times ``sign``
  (mode 'min' is maximised as -score), so the sign cannot be lost;
* the acquisition is evaluated at the trial a candidate decodes to (its
  quantized and choice coordinates snapped to their grid, ``snap_discrete``),
  as if the rounding were inside the kernel;
* trials still running are registered with a pessimistic "constant liar"
  value, so workers asking at once get different points;
* ``kappa`` decays by ``kappa_decay`` per registration after
  ``kappa_decay_delay`` registrations, computed from the count, not a counter;
* the GP allows for noise in the scores: its variance is fitted by marginal
  likelihood with the length scales (``noise_bounds``, ``noise_prior``;
  ``gp_alpha`` where it is not fitted; bayes_opt's 1e-6 treats them as exact);
* its Matern 2.5 kernel has one length scale per dimension (ARD), where
  bayes_opt's has one for all: a log learning rate and a choice that hardly
  matters need different ones. The length scales are fitted with a prior
  around the isotropic fit (fit_ard_length_scales), and beyond
  ``ard_fit_points`` GP points on a subsample (``kernel="isotropic"`` gives
  bayes_opt's kernel back);
* the suggestion is budgeted: a smaller acquisition search (``n_random``,
  ``n_smart``) helped by candidates around the best points (``n_local``, see
  hpopt.algorithms.ucb), a cheaper GP hyper-parameter fit (``gp_optimizer``),
  at most ``max_gp_points`` trials in the GP, one BLAS thread, no
  per-point logging, the GP fitted on all its points in one call and the UCB
  computed from the fitted GP's arrays (hpopt.algorithms.ucb), and the
  trials' encoding kept from the last suggestion; its cost hardly grows with
  the trials, with regret no worse than bayes_opt's defaults:
  benchmarks/bayes_speed.py and benchmarks/storage_speed.py measure it
  (numbers in benchmarks/RESULTS.md).
"""
from __future__ import annotations

import functools
import math
import statistics
import warnings

import numpy as np

from hpopt import budget
from hpopt.algorithms.base import Algorithm, NewTrial, Outcome
from hpopt.algorithms.gp_fit import (
    ARD_PRIOR_SD,
    fit_ard_length_scales,
    fit_length_scale,
    modelled_scores,
    refit_count,
)
from hpopt.snapshot import Needs, Snapshot
from hpopt.status import SCORED_STATES, Decision, TrialState
from hpopt.storage.base import TrialRecord

#: fewer trials than this at a step and median stopping abstains
MEDIAN_STOP_MIN_PEERS = 3
#: median stopping abstains at a trial's first this many iterations (its grace period)
MEDIAN_STOP_GRACE = 2
#: trials the GP counts at the "constant liar" value
PENDING_STATES = frozenset({TrialState.RUNNING, TrialState.QUEUED, TrialState.PAUSED})


def _rows(enc: np.ndarray, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One row per distinct point, in the order of first appearance, the
    scores of equal points averaged (vectorised: a dict of row tuples was
    ~2 ms of every suggestion at 500 trials)."""
    # distinct projections on a fixed direction prove distinct points (the
    # common case: one sort of floats); equal ones are grouped below
    if (np.diff(np.sort(enc @ np.random.default_rng(0).uniform(1.0, 2.0, enc.shape[1]))) != 0).all():
        return enc.copy(), vals.astype(float)
    uniq, first, inverse, counts = np.unique(enc, axis=0, return_index=True, return_inverse=True,
                                             return_counts=True)
    ys = vals[first].astype(float)
    groups = np.split(vals[np.argsort(inverse.reshape(-1), kind="stable")], np.cumsum(counts)[:-1])
    for g in np.flatnonzero(counts > 1):
        ys[g] = statistics.fmean(groups[g].tolist())
    perm = np.argsort(first, kind="stable")
    return uniq[perm], ys[perm]


def _average(values: list[float]) -> float:
    """statistics.fmean, which sums first, so that the scores of a diverged
    trial near the largest float overflowed (OverflowError); those are
    averaged as a sum of fractions. (Not clipped first, as the GPs'
    modelled_scores does: a clip per score is most of a median-stopping
    report's time with many trials, and this costs nothing until a sum
    overflows; benchmarks/RESULTS.md, "Lead, 2026-12-02".)"""
    try:
        return statistics.fmean(values)
    except OverflowError:
        return math.fsum(v / len(values) for v in values)


@functools.lru_cache(maxsize=1)
def _blas_threads():
    """threadpoolctl's view of the loaded BLAS libraries, found once (finding
    them took ~2 ms of every suggestion). A library is found only once it is
    loaded: scipy's own OpenBLAS is loaded first, or a GP sampler that made
    this view before its first scipy import ran scipy's triangular solves on
    every core (40x slower on a busy 2-core machine)."""
    import scipy.linalg  # noqa: F401
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


#: fitted length scales by their inputs (a memo: see BayesOpt._scheduled_kernel)
_LENGTH_SCALES: dict[tuple, np.ndarray] = {}
LENGTH_SCALE_MEMO = 32
#: [repr of the space, {id(params): (params, in the space, unit-cube point)}] (see BayesOpt._in_space)
_IN_SPACE: list = [None, {}]
IN_SPACE_MEMO = 20_000
#: [repr of the space, (params dicts, their ids, in-space mask, points)] of the last BayesOpt._encoded
_ENCODED: list = [None, None]
#: the GP's alpha on top of a fitted noise variance: a jitter for the factorisation
NOISE_JITTER = 1e-6


class BayesOpt(Algorithm):
    # Budget of one suggestion; benchmarks/bayes_speed.py measures it against
    # bayes_opt's defaults (n_random=10_000, n_smart=10, n_local=0,
    # gp_optimizer="fmin_l_bfgs_b", n_restarts=5, gp_alpha=1e-6).
    #: uniform acquisition candidates
    n_random = 400
    #: L-BFGS-B polishes of the acquisition from its best candidates. None:
    #: BudgetedUCB's batched refinement round replaces them (with one or two
    #: polishes, regret was no better in the benchmark, at a cost of several
    #: GP predictions each)
    n_smart = 0
    #: how the GP's kernel hyper-parameters are fitted: "grid" (see
    #: fit_length_scale) or sklearn's "fmin_l_bfgs_b" (bayes_opt's default) ...
    gp_optimizer = "grid"
    #: ... plus this many restarts from random hyper-parameters (bayes_opt: 5;
    #: useless after "grid", which ignores its start)
    n_restarts = 0
    #: acquisition candidates drawn around the best observed points ...
    n_local = 400
    #: ... around this many of them
    n_centers = 5
    #: the GP is fitted on at most this many observed trials (its fit is cubic
    #: in the count, the acquisition quadratic): the best half and a seeded
    #: random draw of the rest; running trials come on top. At 200 trials
    #: regret with 128 was no worse than with 200 points, with 100 it was
    #: (benchmarks/RESULTS.md, branch bo)
    max_gp_points = 128
    #: the GP's ``alpha``, added to its kernel's diagonal: the noise variance
    #: in units of the score variance (bayes_opt normalises the scores), i.e.
    #: a noise sd of ~10% of the scores' spread; validation scores are noisy.
    #: bayes_opt's default 1e-6 treats scores as exact; in the benchmark it
    #: had a worse tail on the noisy function and was slightly better on
    #: noiseless ones (benchmarks/RESULTS.md). Where the noise is fitted
    #: (``noise_bounds``, the default "ard" kernel) the fit starts here
    gp_alpha = 1e-2
    #: "ard": a Matern 2.5 kernel with one length scale per dimension, fitted
    #: by fit_ard_length_scales; "isotropic": bayes_opt's kernel (one length
    #: scale for every dimension) fitted by ``gp_optimizer``. The encoded
    #: dimensions differ in how fast the score varies along them (a log
    #: learning rate against a choice that hardly matters), which one
    #: common length scale cannot express
    kernel = "ard"
    #: bounds of the fitted length scales, in the unit cube
    length_scale_bounds = (1e-2, 1e2)
    #: beyond this many GP points the ARD length scales are fitted on a
    #: subsample of this size (see _ard_kernel)
    ard_fit_points = 60
    #: sd of the prior on the log length scales around the isotropic fit (see
    #: fit_ard_length_scales)
    ard_prior_sd = ARD_PRIOR_SD
    #: the noise variance of the scores (in units of their variance) is
    #: fitted by marginal likelihood with the length scales, within these
    #: bounds (None: it is ``gp_alpha``): how noisy the scores are differs
    #: by problem, where one fixed value was a compromise (RESULTS.md,
    #: branch bo2)
    noise_bounds = (1e-6, 1.0)
    #: (concentration, rate) of a Gamma prior on the fitted noise variance,
    #: Optuna's GPSampler's (its mode 0.0033): on a few points the
    #: likelihood alone often sends the noise to a bound
    noise_prior = (1.1, 30.0)
    #: the acquisition sees a candidate as the trial it decodes to (its
    #: quantized and choice values on their grid: see BudgetedUCB); False:
    #: at its own point of the unit cube, as bayes_opt does
    snap_discrete = True

    def kappa_at(self, registered: int) -> float:
        s = self.settings
        return s.kappa * s.kappa_decay ** max(0, registered - s.kappa_decay_delay)

    def next_trial(self, snap: Snapshot, params: dict | None = None) -> NewTrial | None:
        trials = snap.trials
        trial_id = len(trials)
        if trial_id >= self.plan.num_trials and not (self.budgeted and "num_trials" in self.plan.auto):
            return None  # under the hard budget, trials stopped early leave room for more
        cost = self.plan.startup_epochs + self.plan.max_iterations * self.plan.epoch_cost()
        if self.budgeted and not budget.ledger(self, snap.spent, snap.open).fits(cost):
            return None  # the hard budget cannot pay for another full trial
        if params is not None:   # given by hand: the GP learns from its score like any other trial's
            return NewTrial(params=params, iterations=self.plan.max_iterations, subset_ratio=self.plan.subset_ratio)
        rng = self.rng(trial_id)
        observed = [t for t in trials if t.state in SCORED_STATES and t.best_score is not None]
        params = None
        if trial_id >= self.settings.num_init_trial and len(observed) >= 2:
            try:
                params = self._suggest(trials, observed, rng)
            except np.linalg.LinAlgError:
                # a GP that cannot be fitted (a singular kernel matrix) must
                # not stop the study: fall back to a random config
                params = None
        if params is None or self._tried(trials, params):
            params = self.unique_sample(trials, rng)
        if params is None:
            self.space_exhausted = True
            return None
        return NewTrial(params=params, iterations=self.plan.max_iterations, subset_ratio=self.plan.subset_ratio)

    def _tried(self, trials, params: dict) -> bool:
        """Whether a trial has these params (equal ``SearchSpace.key``). Equal
        keys need equal values of a continuous parameter, so only the trials
        with the same value of one are keyed (a key per trial was a few ms
        of every suggestion at 500 trials)."""
        key = self.space.key(params)
        name = next((n for n in self.space.names if self.space[n].type in ("uniform", "loguniform")), None)
        if name is not None:
            value = params[name]
            trials = [t for t in trials if t.params.get(name) == value]
        return any(self.space.key(t.params) == key for t in trials)

    def _suggest(self, trials: list[TrialRecord], observed: list[TrialRecord], rng) -> dict | None:
        # bayes_opt pulls in scikit-learn and scipy: import it only when a GP is needed
        from bayes_opt import BayesianOptimization

        from hpopt.algorithms.ucb import BudgetedUCB

        enc, vals, kept = self._encoded(observed)
        xs, ys = _rows(enc, vals)
        if len(ys) < 2:
            return None
        order = np.argsort(-ys, kind="stable")
        if len(ys) > self.max_gp_points:
            keep = self.max_gp_points // 2
            rest = rng.choice(order[keep:], size=self.max_gp_points - keep, replace=False)
            order = np.concatenate([order[:keep], rest])
        gp_x, gp_y = xs[order], ys[order]
        # trials still running get a pessimistic "constant liar" value, so
        # workers asking at once get different points
        liar = float(ys.min())
        running = [t for t in trials if t.state in PENDING_STATES and self.space.contains(t.params)]
        seen = {tuple(x) for x in xs} if running else set()
        pending = []
        for t in running:
            x = self.space.encode(t.params)
            if tuple(x) not in seen:
                seen.add(tuple(x))
                pending.append(x)
        if pending:
            gp_x = np.vstack([gp_x, pending])
            gp_y = np.concatenate([gp_y, np.full(len(pending), liar)])

        dim = len(self.space)
        pbounds = {f"x{i}": (0.0, 1.0) for i in range(dim)}
        seed = int(rng.integers(2**31 - 1))
        ucb = BudgetedUCB(
            kappa=self.kappa_at(len(observed)), n_random=self.n_random, n_smart=self.n_smart,
            n_local=self.n_local, centers=xs[order[: self.n_centers]],
            snap=self.space.snapper() if self.snap_discrete else None,
        )
        opt = BayesianOptimization(
            f=None, pbounds=pbounds, acquisition_function=ucb, random_state=seed,
            verbose=0, allow_duplicate_points=True,
        )
        if self.kernel == "ard" and self.gp_optimizer == "grid":
            # length scales fitted on the observations known at the schedule's
            # last step (memoised), then fixed: the GP's fit is one factorisation
            kernel, alpha = self._scheduled_kernel(enc, vals, kept, xs, ys)
            opt.set_gp_params(kernel=kernel, n_restarts_optimizer=0, alpha=alpha, optimizer=None)
        elif self.kernel == "ard":
            opt.set_gp_params(kernel=self._ard_kernel(gp_x, gp_y, rng), n_restarts_optimizer=self.n_restarts,
                              alpha=self.gp_alpha, optimizer=self._ard_optimizer() if self.gp_optimizer == "grid"
                              else self.gp_optimizer)
            if len(gp_y) > self.ard_fit_points:
                # length scales fitted on a subsample (below): the fit on
                # every point is a single Cholesky factorisation
                opt.set_gp_params(optimizer=None)
        else:
            opt.set_gp_params(
                n_restarts_optimizer=self.n_restarts, alpha=self.gp_alpha,
                optimizer=fit_length_scale if self.gp_optimizer == "grid" else self.gp_optimizer,
            )
        # the GP is fitted on every point in one call (BudgetedUCB's
        # observations); the target space holds the best one only, which
        # bayes_opt's suggest needs to be non-empty: registering each point
        # copies the space's arrays and cache (quadratic in the points)
        cols = [int(k[1:]) for k in opt.space.keys]  # the space's column order
        ucb.observations = (gp_x[:, cols], gp_y)
        opt.space.register(gp_x[0, cols], float(gp_y[0]))
        with warnings.catch_warnings(), _blas_threads().limit(limits=1, user_api="blas"):
            # the GP's hyper-parameter fit warns on flat data; the suggestion is
            # still valid. The matrices are a few hundred wide at most, where a
            # single BLAS thread is faster than several (on a 2-core machine
            # OpenBLAS's 2 threads made the fit several times slower).
            warnings.simplefilter("ignore")
            x = opt.suggest()
        return self.space.decode(np.array([x[f"x{i}"] for i in range(dim)]))

    def _ard_optimizer(self):
        return functools.partial(fit_ard_length_scales, prior_sd=self.ard_prior_sd)

    def _ard_kernel(self, gp_x: np.ndarray, gp_y: np.ndarray, rng):
        """bayes_opt's Matern 2.5 with one length scale per dimension. Up to
        ``ard_fit_points`` GP points, its length scales are left to the GP's
        fit; beyond, they are fitted here on a seeded subsample of that many
        points and fixed: the likelihood's gradient costs O(n^2 * dim) memory
        and time per step, and a few dozen points pin the length scales down."""
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import Matern

        dim = gp_x.shape[1]
        kernel = Matern(nu=2.5, length_scale=np.ones(dim), length_scale_bounds=self.length_scale_bounds)
        if len(gp_y) <= self.ard_fit_points:
            return kernel
        pick = np.sort(rng.choice(len(gp_y), size=self.ard_fit_points, replace=False))
        gp = GaussianProcessRegressor(kernel=kernel, alpha=self.gp_alpha, normalize_y=True,
                                      optimizer=self._ard_optimizer())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gp.fit(gp_x[pick], gp_y[pick])
        return Matern(nu=2.5, length_scale=gp.kernel_.length_scale, length_scale_bounds="fixed")

    def _scheduled_kernel(self, enc: np.ndarray, vals: np.ndarray, kept: np.ndarray, xs, ys):
        """The ARD kernel with its length scales fixed at their fit on the
        first ``refit_count(n_observed)`` observed trials (in trial order; all
        observations when those are fewer than two distinct points). Between
        two steps of the schedule every suggestion reuses one fit (memoised by
        its inputs, so any process finds the same length scales), where a fit
        per suggestion was most of its time (benchmarks/RESULTS.md, 13.1)."""
        from sklearn.gaussian_process.kernels import Matern

        # (``kept`` marks the observed trials that are modelled: see _encoded)
        upto = int(np.count_nonzero(kept[:refit_count(len(kept))]))
        # the memo's key is the raw observations (no grouping on a hit)
        first = (enc[:upto], vals[:upto]) if upto and (enc[:upto] != enc[0]).any() else None
        key = (*(a.tobytes() for a in (first or (xs, ys))), first is None, enc.shape[1], self.gp_alpha,
               self.length_scale_bounds, self.ard_prior_sd, self.ard_fit_points, self.noise_bounds,
               self.noise_prior)
        fit = _LENGTH_SCALES.get(key)
        if fit is None:
            fit = self._fit_length_scales(*(_rows(*first) if first else (xs, ys)))
            while len(_LENGTH_SCALES) >= LENGTH_SCALE_MEMO:
                _LENGTH_SCALES.pop(next(iter(_LENGTH_SCALES)), None)
            _LENGTH_SCALES[key] = fit
        scales, alpha = fit
        return Matern(nu=2.5, length_scale=scales.copy(), length_scale_bounds="fixed"), alpha

    def _fit_length_scales(self, fx: np.ndarray, fy: np.ndarray) -> tuple[np.ndarray, float]:
        """fit_ard_length_scales on these points (beyond ``ard_fit_points``, on a
        subsample seeded by their count: the same points give the same fit):
        (the length scales, the GP's alpha). The alpha is the fitted noise
        variance (within ``noise_bounds``, plus NOISE_JITTER), or ``gp_alpha``
        when ``noise_bounds`` is None."""
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import Matern, WhiteKernel

        if len(fy) > self.ard_fit_points:
            pick = np.sort(np.random.default_rng(len(fy)).choice(len(fy), size=self.ard_fit_points, replace=False))
            fx, fy = fx[pick], fy[pick]
        dim = fx.shape[1]
        kernel = Matern(nu=2.5, length_scale=np.ones(dim), length_scale_bounds=self.length_scale_bounds)
        alpha, optimizer = self.gp_alpha, self._ard_optimizer()
        if self.noise_bounds is not None:
            # the noise variance a hyper-parameter of the fit (it starts at
            # gp_alpha); the GP's own alpha a jitter
            kernel = kernel + WhiteKernel(noise_level=self.gp_alpha, noise_level_bounds=self.noise_bounds)
            alpha = NOISE_JITTER
            optimizer = functools.partial(fit_ard_length_scales, prior_sd=self.ard_prior_sd, n_scales=dim,
                                          noise_prior=self.noise_prior)
        gp = GaussianProcessRegressor(kernel=kernel, alpha=alpha, normalize_y=True, optimizer=optimizer)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gp.fit(fx, fy)
        if self.noise_bounds is None:
            return np.array(gp.kernel_.length_scale, dtype=float).reshape(dim), self.gp_alpha
        return (np.array(gp.kernel_.k1.length_scale, dtype=float).reshape(dim),
                float(gp.kernel_.k2.noise_level) + NOISE_JITTER)

    def _encoded(self, observed: list[TrialRecord]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Unit-cube points and sign * best_score of the observed trials whose
        params are in the space, in trial order. Trials whose params left the
        space (a batch-size range shrunk after an out-of-memory error) are not
        modelled; the third array marks, per observed trial, those that are.

        The last call's arrays are reused for the trials it saw, when they
        begin this list (the guide's loop: the same params dicts, one more
        trial each time), so only the new trials are looked at."""
        dim, spec = len(self.space), repr(self.space)
        ids = [id(t.params) for t in observed]
        last = _ENCODED[1] if _ENCODED[0] == spec else None
        # the kept params dicts hold their ids: equal ids are the same dicts
        head = len(last[1]) if last is not None and ids[:len(last[1])] == last[1] else 0
        checked = self._in_space(observed[head:])
        mask = np.fromiter((c[1] for c in checked), dtype=bool, count=len(checked))
        rows = [c[2] for c in checked if c[1]]
        enc = np.array(rows, dtype=float).reshape(len(rows), dim)
        if head:
            mask, enc = np.concatenate([last[2], mask]), np.vstack([last[3], enc])
        # (arrays the caller may not change: they are handed out again)
        mask.flags.writeable = enc.flags.writeable = False
        _ENCODED[:] = [spec, ([t.params for t in observed], ids, mask, enc)]
        vals = modelled_scores([self.sign * t.best_score for t, k in zip(observed, mask) if k])
        return enc, vals, mask

    def _in_space(self, observed: list[TrialRecord]) -> list[tuple]:
        """Per trial (params, SearchSpace.contains, its unit-cube point or
        None), memoised by the params dict (the file storage hands out the same
        ones until a trial changes; the memo holds them, so an id is not reused
        while it is kept) and the space: at 500 trials the checks were a third
        of a suggestion, and encoding every trial again another tenth."""
        spec = repr(self.space)
        if _IN_SPACE[0] != spec or len(_IN_SPACE[1]) > IN_SPACE_MEMO:
            _IN_SPACE[:] = [spec, {}]
        memo = _IN_SPACE[1]
        new = [t.params for t in observed
               if (hit := memo.get(id(t.params))) is None or hit[0] is not t.params]
        inside = [p for p in new if self.space.contains(p)]
        # encode_many, as for every trial before the memo: the same floats
        points = dict(zip(map(id, inside), self.space.encode_many(inside))) if inside else {}
        for p in new:
            memo[id(p)] = (p, id(p) in points, points.get(id(p)))
        return [memo[id(t.params)] for t in observed]

    def _median_stop(self, trial: TrialRecord, iteration: int) -> bool:
        return self.settings.early_stop == "median_stop" and iteration < trial.iterations

    def report_needs(self, trial: TrialRecord, iteration: int) -> Needs:
        return Needs(scores=self._median_stop(trial, iteration))

    def on_report(self, snap: Snapshot, trial: TrialRecord, iteration: int) -> Outcome:
        if iteration >= trial.iterations:
            return Outcome(Decision.COMPLETE)
        if self._median_stop(trial, iteration) and self._below_median(snap.scores, trial, iteration):
            return Outcome(Decision.STOP, reason=f"median stop at iteration {iteration}")
        return Outcome(Decision.CONTINUE)

    def _below_median(self, all_scores, trial: TrialRecord, iteration: int) -> bool:
        """Median stopping rule (Golovin et al., Vizier 2017): stop when the
        trial's best is worse than the median of the other trials' running
        averages at the same step. ``all_scores``: trial id -> [(iteration, value)].

        Not within the first ``MEDIAN_STOP_GRACE`` iterations (as Ray Tune's
        MedianStoppingRule has a grace period): one or two epochs rank configs
        poorly where the learning rate or batch size sets how fast they learn.
        Measured (benchmarks/RESULTS.md, "Branch medstop"): at 20 full trainings
        of epochs a grace of 2 was at or below TPE + MedianPruner's median regret
        on 6 of 8 problems on seeds 0-9 and 10-29 (3 and 5 without a grace);
        late bloomers (park1-late) gained most. Optuna-style rules (values at the
        step, completed peers only, 5 peers) were not better."""
        if iteration <= MEDIAN_STOP_GRACE:
            return False
        averages = []
        for other_id, scores in all_scores.items():
            if other_id == trial.trial_id:
                continue
            upto = [self.sign * v for i, v in scores if i <= iteration]
            if upto and scores[-1][0] >= iteration:
                averages.append(_average(upto))
        if len(averages) < MEDIAN_STOP_MIN_PEERS:
            return False
        median = statistics.median(averages)
        # a mean of equal floats can exceed them by an ulp (fmean([0.8]*3) > 0.8):
        # a trial that scores what its peers score must not be stopped for it
        return self.sign * trial.best_score < median - 1e-9 * max(1.0, abs(median))

    def config_extra(self, trial: TrialRecord) -> dict:
        return {"early_stop": self.settings.early_stop}
