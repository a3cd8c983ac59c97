"""UCB with a smaller, fixed acquisition-search budget (imports bayes_opt)."""
from bayes_opt import acquisition


class BudgetedUCB(acquisition.UpperConfidenceBound):
    """bayes_opt's UCB, but its acquisition search uses ``n_random`` random
    candidates and ``n_smart`` local optimisations instead of 10_000 and 10."""

    def __init__(self, kappa: float, n_random: int, n_smart: int, random_state=None):
        super().__init__(kappa=kappa, random_state=random_state)
        self._n_random, self._n_smart = n_random, n_smart

    def suggest(self, gp, target_space, n_random=None, n_smart=None, fit_gp=True, random_state=None):
        return super().suggest(
            gp, target_space, n_random=self._n_random, n_smart=self._n_smart,
            fit_gp=fit_gp, random_state=random_state,
        )
