"""Search algorithms. ``build(settings, space, plan)`` picks one by name."""
from hpopt.algorithms.asha import ASHA
from hpopt.algorithms.base import Algorithm, NewTrial
from hpopt.algorithms.bayes import BayesOpt

ALGORITHM_CLASSES = {"bayes_opt": BayesOpt, "asha": ASHA}


def build(settings, space, plan) -> Algorithm:
    return ALGORITHM_CLASSES[plan.search_alg](settings, space, plan)


__all__ = ["Algorithm", "NewTrial", "ASHA", "BayesOpt", "build", "ALGORITHM_CLASSES"]
