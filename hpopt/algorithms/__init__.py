"""Search algorithms. ``build(meta)`` picks one by the plan's name."""
from hpopt.algorithms.asha import ASHA
from hpopt.algorithms.base import Algorithm, NewTrial, Outcome
from hpopt.algorithms.bayes import BayesOpt

ALGORITHM_CLASSES = {"bayes_opt": BayesOpt, "asha": ASHA}


def build(meta) -> Algorithm:
    """The algorithm of a study (an hpopt.snapshot.Meta)."""
    return ALGORITHM_CLASSES[meta.plan.search_alg](meta.settings, None, meta.plan, meta=meta)


__all__ = ["Algorithm", "NewTrial", "Outcome", "ASHA", "BayesOpt", "build", "ALGORITHM_CLASSES"]
