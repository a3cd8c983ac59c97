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
"""
from __future__ import annotations

import numpy as np
from bayes_opt import acquisition

#: standard deviations (in the unit cube) of the local perturbations, cycled
LOCAL_SCALES = (0.02, 0.07, 0.2)
#: the refinement round: scales, and how many of the best candidates it starts from
REFINE_SCALES = (0.003, 0.01, 0.03)
REFINE_CENTERS = 5


class BudgetedUCB(acquisition.UpperConfidenceBound):
    """bayes_opt's UCB with a budgeted acquisition search (see the module doc).

    ``centers`` are unit-cube points (the best observed ones) around which
    ``n_local`` candidates are drawn; with no centers only uniform candidates
    are used.
    """

    def __init__(self, kappa: float, n_random: int, n_smart: int, n_local: int = 0, centers=None):
        # no random_state here: bayes_opt deprecates it on acquisitions and uses
        # the optimizer's, handed to suggest()
        super().__init__(kappa=kappa)
        self._n_random, self._n_smart, self._n_local = n_random, n_smart, n_local
        self._centers = None if centers is None or len(centers) == 0 else np.atleast_2d(np.asarray(centers, float))

    def suggest(self, gp, target_space, n_random=None, n_smart=None, fit_gp=True, random_state=None):
        return super().suggest(
            gp, target_space, n_random=self._n_random, n_smart=self._n_smart,
            fit_gp=fit_gp, random_state=random_state,
        )

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
