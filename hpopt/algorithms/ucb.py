"""UCB with a budgeted acquisition search (imports bayes_opt).

The GP and the UCB formula are bayes_opt's; only where the acquisition is
evaluated changes.  bayes_opt samples 10_000 uniform candidates, then runs 10
L-BFGS-B polishes from the best.  BudgetedUCB evaluates, in one GP prediction,
``n_random`` uniform candidates plus ``n_local`` perturbations of the best
observed points, then, in a second prediction, small steps around the best
five candidates; ``n_smart`` L-BFGS-B polishes may follow.  The local
candidates suit hpopt's encoded space, where quantized and choice parameters
are bands of [0, 1]: points near the incumbents find the acquisition's peak
more reliably than many uniform ones, and a batched refinement costs one
prediction where a polish with numeric gradients costs dozens.

Two shortcuts keep a suggestion's cost nearly flat in the number of trials
(issue 13.1): the GP is fitted on the ``observations`` handed to BudgetedUCB
in one call (bayes_opt's TargetSpace copies its arrays and its cache at every
registered point, quadratic in the points), and the UCB is computed from the
fitted GP's own arrays (its Cholesky factor, ``alpha_`` and length scales)
by matern52_predictor, which gives what ``gp.predict(x, return_std=True)``
gives for bayes_opt's Matern 2.5 kernel without scikit-learn's per-call
validation and with the distances from one matrix product.
"""
from __future__ import annotations

import warnings

import numpy as np
from bayes_opt import acquisition
from scipy.linalg import solve_triangular
from sklearn.gaussian_process.kernels import Matern

#: standard deviations (in the unit cube) of the local perturbations, cycled
LOCAL_SCALES = (0.02, 0.07, 0.2)
#: the refinement round: scales, and how many of the best candidates it starts from
REFINE_SCALES = (0.003, 0.01, 0.03)
REFINE_CENTERS = 5
#: candidates per block of matern52_predictor (its temporaries: this many x the GP's points)
PREDICT_BLOCK = 256


class BudgetedUCB(acquisition.UpperConfidenceBound):
    """bayes_opt's UCB with a budgeted acquisition search (see the module doc).

    ``centers`` are unit-cube points (the best observed ones) around which
    ``n_local`` candidates are drawn; with no centers only uniform candidates
    are used.

    ``snap`` (SearchSpace.snapper): the acquisition is evaluated at each
    candidate's trial, the grid point of its quantized and choice
    coordinates, i.e. with the rounding inside the GP's kernel (Garrido-Merchan
    and Hernandez-Lobato 2020). The GP's points are trials, on the grid
    already; so the band of [0, 1] that decodes to a tried value has the
    trial's small std throughout, where without it the band's other points
    looked unexplored to the UCB and a near-repeat of the trial could win on
    its std.
    """

    def __init__(self, kappa: float, n_random: int, n_smart: int, n_local: int = 0, centers=None,
                 observations=None, snap=None):
        # no random_state here: bayes_opt deprecates it on acquisitions and uses
        # the optimizer's, handed to suggest()
        super().__init__(kappa=kappa)
        self._n_random, self._n_smart, self._n_local = n_random, n_smart, n_local
        self._centers = None if centers is None or len(centers) == 0 else np.atleast_2d(np.asarray(centers, float))
        #: (points in the target space's column order, targets) the GP is
        #: fitted on; None: the target space's registered points, as in bayes_opt
        self.observations = observations
        self._transform = None
        #: None, or a function moving candidates (rows) to the points of the
        #: trials they decode to (see the class doc)
        self._snap = snap

    def suggest(self, gp, target_space, n_random=None, n_smart=None, fit_gp=True, random_state=None):
        self._transform = target_space.kernel_transform
        return super().suggest(
            gp, target_space, n_random=self._n_random, n_smart=self._n_smart,
            fit_gp=fit_gp, random_state=random_state,
        )

    def _fit_gp(self, gp, target_space) -> None:
        if self.observations is None:
            super()._fit_gp(gp, target_space)
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gp.fit(*self.observations)

    def _get_acq(self, gp, constraint=None):
        """bayes_opt's acquisition (``-base_acq(mean, std)``, to be minimised),
        the mean and std from matern52_predictor where the kernel allows."""
        predict = matern52_predictor(gp, self._transform) if constraint is None else None
        snap = self._snap
        if predict is None:
            acq = super()._get_acq(gp, constraint)
            return acq if snap is None else (lambda x: acq(snap(np.atleast_2d(x))))
        dim = gp.X_train_.shape[1]

        def acq(x):
            x = x.reshape(-1, dim)
            mean, std = predict(x if snap is None else snap(x))
            return -1 * self.base_acq(mean, std)

        return acq

    def _random_sample_minimize(self, acq, space, random_state, n_random, n_x_seeds=0):
        """bayes_opt's random stage (same signature and result: best point, its
        value, the ``n_x_seeds`` best points as L-BFGS-B starts) over uniform
        plus local candidates."""
        parts = []
        if n_random:
            parts.append(space.random_sample(n_random, random_state=random_state))
        if self._centers is not None and self._n_local:
            parts.append(self._perturb(self._centers, self._n_local, LOCAL_SCALES, space.bounds, random_state))
        if not parts:
            return None, np.inf, space.random_sample(n_x_seeds, random_state=random_state)
        x_tries = np.vstack(parts)
        ys = acq(x_tries)
        if self._n_local:
            # one round of small steps around the best candidates: a batched,
            # gradient-free polish (one GP prediction for all of them)
            top = x_tries[np.argsort(ys)[:REFINE_CENTERS]]
            fine = self._perturb(top, self._n_local // 2, REFINE_SCALES, space.bounds, random_state)
            x_tries, ys = np.vstack([x_tries, fine]), np.concatenate([ys, acq(fine)])
        best = int(np.argmin(ys))
        seeds = x_tries[np.argsort(ys)[:n_x_seeds]] if n_x_seeds else []
        return x_tries[best], ys[best], seeds

    @staticmethod
    def _perturb(centers, n, scales, bounds, random_state) -> np.ndarray:
        """``n`` points around ``centers`` (in turn): each moves a random subset
        of its coordinates (at least one) by a normal step of a scale from
        ``scales`` (in turn), clipped to the bounds."""
        base = np.repeat(centers, -(-n // len(centers)), axis=0)[:n]
        step = np.resize(np.asarray(scales, float), n)[:, None]
        moved = random_state.random_sample(base.shape) < 0.5
        moved[np.arange(n), random_state.randint(base.shape[1], size=n)] = True
        x = base + moved * step * random_state.standard_normal(base.shape)
        return np.clip(x, bounds[:, 0], bounds[:, 1])


def matern52_predictor(gp, transform=None):
    """A function ``x -> (mean, std)`` equal (to rounding) to
    ``gp.predict(x, return_std=True)`` for a fitted scikit-learn
    GaussianProcessRegressor whose fitted kernel is a Matern with nu 2.5 (one
    length scale, or one per dimension) and whose targets are one column;
    None for any other GP. ``transform``: what the kernel applies to its
    inputs first (bayes_opt wraps its kernels with the target space's
    ``kernel_transform``, the identity for float parameters).

    The variance uses the inverse of the Cholesky factor, computed once: a
    matrix product per candidate block instead of a triangular solve (the
    same O(points^2) work, several times faster in BLAS), and the
    candidates go in blocks of PREDICT_BLOCK, so the kernel's temporaries
    stay in the CPU's cache."""
    kernel = gp.kernel_
    if not isinstance(kernel, Matern) or kernel.nu != 2.5 or np.ndim(gp.alpha_) != 1:
        return None
    # points scaled so that their distance is sqrt(5) r: the kernel's argument
    scale = np.asarray(kernel.length_scale, dtype=float) / np.sqrt(5.0)
    transform = transform or (lambda x: x)
    train = transform(gp.X_train_) / scale
    train_sq = np.einsum("ij,ij->i", train, train)
    train_m2 = -2.0 * train.T
    alpha = gp.alpha_
    inv_chol_t = solve_triangular(gp.L_, np.eye(len(train)), lower=True, check_finite=False).T
    # scikit-learn keeps the normalisation of the targets (normalize_y) in these two
    y_mean, y_std = float(np.squeeze(gp._y_train_mean)), float(np.squeeze(gp._y_train_std))

    def predict(x):
        x = transform(np.asarray(x, dtype=float)) / scale
        x_sq = np.einsum("ij,ij->i", x, x)
        mean, var = np.empty(len(x)), np.empty(len(x))
        for lo in range(0, len(x), PREDICT_BLOCK):
            block = slice(lo, lo + PREDICT_BLOCK)
            r = x[block] @ train_m2   # becomes sqrt(5) * the scaled distance
            r += train_sq
            r += x_sq[block, None]
            np.maximum(r, 0.0, out=r)
            np.sqrt(r, out=r)
            k = r * (1.0 / 3.0)      # Matern 2.5: (1 + r + r^2 / 3) exp(-r)
            k += 1.0
            k *= r
            k += 1.0
            np.negative(r, out=r)
            np.exp(r, out=r)
            k *= r
            mean[block] = k @ alpha
            v = k @ inv_chol_t
            var[block] = 1.0 - np.einsum("ij,ij->i", v, v)   # the kernel's diagonal is 1
        return mean * y_std + y_mean, np.sqrt(np.maximum(var, 0.0)) * y_std

    return predict
