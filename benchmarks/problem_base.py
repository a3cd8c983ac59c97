"""The benchmark problems' common parts: a parameter written once for both
libraries (:class:`P`), the :class:`Problem` interface, the tables' folder.
The problems themselves: :mod:`benchmarks.problems` (the first five) and
:mod:`benchmarks.problems_shapes` (other shapes)."""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np

import hpopt

#: runs kept between benchmark invocations (peers' and hpopt's results; not in git)
CACHE = Path(__file__).resolve().parent / ".cache"
#: the problems' tables (learning curves of real trainings, each synthetic
#: problem's optimum and target), in git: they are computed once, and a table
#: trained on another machine (another CPU, another BLAS kernel) can differ in
#: the last digits and so move a search, which would make numbers in
#: RESULTS.md unrepeatable. Deleting a file recomputes it. The quick grids'
#: tables (``--quick``, a smoke run) are kept with the runs instead
TABLES = Path(__file__).resolve().parent / "tables"
CACHE_VERSION = 1
TARGET_TOP = 0.02  # time-to-target: reach the truth of the top 2% of random configs


# -- search spaces written once, for both libraries -------------------------------------
@dataclasses.dataclass(frozen=True)
class P:
    """One parameter. kind: 'log' (float, log scale), 'float', 'int' (step),
    'intlog' (integer, log scale), 'choice'."""

    name: str
    kind: str
    lo: float = 0.0
    hi: float = 1.0
    step: int = 1
    choices: tuple = ()

    def hpopt(self):
        if self.kind == "log":
            return hpopt.search_space("loguniform", [self.lo, self.hi])
        if self.kind == "float":
            return hpopt.search_space("uniform", [self.lo, self.hi])
        if self.kind == "int":
            return hpopt.search_space("quniform", [self.lo, self.hi, self.step])
        if self.kind == "intlog":
            return hpopt.search_space("qloguniform", [self.lo, self.hi, 1])
        return hpopt.search_space("choice", list(self.choices))

    def suggest(self, trial):
        if self.kind in ("log", "float"):
            return trial.suggest_float(self.name, self.lo, self.hi, log=self.kind == "log")
        if self.kind in ("int", "intlog"):
            return trial.suggest_int(self.name, self.lo, self.hi, step=self.step, log=self.kind == "intlog")
        return trial.suggest_categorical(self.name, list(self.choices))

    def unit(self, v):
        """Position in [0, 1] (log scale for log kinds; choice i of n -> i / (n - 1)).
        Accepts a value or a numpy array of values."""
        if self.kind == "choice":
            idx = np.searchsorted(np.array(self.choices), v) if isinstance(v, np.ndarray) else self.choices.index(v)
            return idx / max(1, len(self.choices) - 1)
        if self.kind in ("log", "intlog"):
            return (np.log(v) - math.log(self.lo)) / (math.log(self.hi) - math.log(self.lo))
        return (v - self.lo) / (self.hi - self.lo)

    def sample(self, rng, n: int) -> np.ndarray:
        """n uniform draws in the sampling measure, as values."""
        u = rng.random(n)
        if self.kind == "choice":
            return np.array(self.choices)[rng.integers(len(self.choices), size=n)]
        if self.kind in ("log", "intlog"):
            v = np.exp(np.log(self.lo) + u * (np.log(self.hi) - np.log(self.lo)))
        else:
            v = self.lo + u * (self.hi - self.lo)
        if self.kind in ("int", "intlog"):
            v = self.lo + np.round((v - self.lo) / self.step) * self.step
        return v


class Problem:
    name: str
    mode: str
    max_epochs: int
    params: tuple[P, ...]
    optimum: float
    target: float

    @property
    def better(self) -> float:
        return 1.0 if self.mode == "max" else -1.0

    def space(self) -> dict:
        return {p.name: p.hpopt() for p in self.params}

    def suggest(self, trial) -> dict:
        return {p.name: p.suggest(trial) for p in self.params}

    def regret(self, params: dict) -> float:
        return self.better * (self.optimum - self.truth(params))

    def truth(self, params: dict) -> float:
        raise NotImplementedError

    def curve(self, params: dict, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def epoch_seconds(self, params: dict) -> float:
        raise NotImplementedError

    def sample_truths(self, n: int, seed: int = 0) -> np.ndarray:
        """Truths of n uniformly random configs (for the target), vectorised."""
        raise NotImplementedError

    def target_regret(self, top: float = TARGET_TOP, n: int = 20_000) -> float:
        """The regret that only the best ``top`` fraction of uniformly random configs reach."""
        q = np.quantile(self.better * self.sample_truths(n), 1 - top)
        return float(self.better * self.optimum - q)

    def _set_target(self) -> None:
        self.target = self.target_regret()


class TableProblem(Problem):
    """A problem replayed from a table of real trainings: ``curves[index(params)]``
    (the epochs on the last axis) and ``seconds[index(params)]`` (per epoch)."""

    curves: np.ndarray
    seconds: np.ndarray

    def index(self, params: dict) -> tuple:
        """The table cell of the grid point nearest to ``params``."""
        raise NotImplementedError

    def truth(self, params: dict) -> float:
        return float(self.curves[self.index(params)][-1])

    def curve(self, params: dict, rng=None) -> np.ndarray:
        return self.curves[self.index(params)]

    def epoch_seconds(self, params: dict) -> float:
        return float(self.seconds[self.index(params)])


def _cached_json(key: str, compute) -> dict:
    TABLES.mkdir(exist_ok=True)
    path = TABLES / f"{key}.json"
    if path.exists():
        return json.loads(path.read_text())
    value = compute()
    path.write_text(json.dumps(value))
    return value
