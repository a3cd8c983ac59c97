"""Search algorithms. ``build(meta)`` picks one by the plan's name."""
import importlib

from hpopt.algorithms.asha import ASHA
from hpopt.algorithms.base import Algorithm, NewTrial, Outcome
from hpopt.algorithms.bayes import BayesOpt

ALGORITHM_CLASSES = {"bayes_opt": BayesOpt, "asha": ASHA}

#: what the GP samplers (bayes_opt's, and ASHA's default) import when they first fit a GP: left out of
#: ``import hpopt`` (about 2 s), and imported on purpose by ``load_gp_stack``
GP_STACK = ("scipy.linalg", "scipy.optimize", "threadpoolctl", "sklearn.gaussian_process",
            "sklearn.gaussian_process.kernels", "bayes_opt", "hpopt.algorithms.ucb")


def load_gp_stack() -> None:
    """Imports GP_STACK now. A process that forks a child per trial (the
    dashboard's RQ worker) calls it once, before it forks: otherwise every
    child that hands out a trial imports the stack again, about 2 s under
    the study's lock (benchmarks/RESULTS.md, "Lead, 2026-12-01 (sixth
    session)")."""
    for name in GP_STACK:
        importlib.import_module(name)


def build(meta) -> Algorithm:
    """The algorithm of a study (an hpopt.snapshot.Meta)."""
    return ALGORITHM_CLASSES[meta.plan.search_alg](meta.settings, None, meta.plan, meta=meta)


__all__ = ["Algorithm", "NewTrial", "Outcome", "ASHA", "BayesOpt", "build", "ALGORITHM_CLASSES", "load_gp_stack"]
