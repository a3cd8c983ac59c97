"""Part 1: the benchmark problems, each a family of learning curves.

Every problem has a mixed search space (a log-scale float, a log- or linear
integer, a categorical...), written once and turned into both an hpopt
search space and Optuna ``suggest_*`` calls, and gives for a config:

* ``curve(params, rng)``: what a trainer observes, epoch 1..N;
* ``truth(params)``: the noise-free value at full fidelity (epoch N); a
  method is judged by the truth of the config it *returns*;
* ``regret(params) = better * (optimum - truth)``, with ``optimum`` the best
  truth over the space (computed numerically, cached);
* ``target``: a regret that only the top 2% of uniformly random configs reach
  (time-to-target is measured against it);
* ``epoch_seconds(params)``: simulated duration of one epoch (part 4).

Synthetic curves (``branin-lc``, ``hartmann6-lc``) rise from a common floor
towards an asymptote given by Branin / Hartmann-6 of the unit-encoded params:
``y(t) = A - (A - F) * exp(-t / tau)``. ``tau`` grows with the batch size and
shrinks with the learning rate, and larger batches earn a small bonus in the
asymptote: the best configs at full fidelity are slow starters (late
bloomers), so early rankings are not final. Observations add a per-trial
offset (a training seed) and per-epoch noise.

Tabular problems (``digits-mlp``, ``wine-mlp``, ``breast_cancer-mlp``) replay
curves of a real scikit-learn MLPClassifier trained epoch by epoch with
``partial_fit`` on data bundled with scikit-learn, over a grid of configs;
the table is computed once and kept under ``benchmarks/tables/`` (in git).
A proposed config is snapped to the nearest grid point (in log scale).

Three more, of other shapes (categorical and conditional, noisy, late
bloomers): :mod:`benchmarks.problems_shapes`. The interface and the cache:
:mod:`benchmarks.problem_base`.
"""
from __future__ import annotations

import hashlib
import json
import math
import time

import numpy as np

from benchmarks.bayes_speed import branin, hartmann6
from benchmarks.common import pool_map, quiet
from benchmarks.problem_base import CACHE, CACHE_VERSION, TABLES, P, Problem, TableProblem, _cached_json
from benchmarks.problems_shapes import load_shapes

# -- synthetic learning curves -------------------------------------------------------------
BATCHES = (16, 32, 64, 128, 256)


class Synthetic(Problem):
    """``y(t) = A - (A - F) exp(-t / tau)`` plus noise; see the module doc."""

    mode = "max"
    max_epochs = 27
    #: asymptote bonus for the largest batch (late bloomers win at full fidelity)
    bonus = 0.0
    floor = 0.0
    noise_epoch = 0.0
    noise_trial = 0.0

    def __init__(self):
        self.by_name = {p.name: p for p in self.params}
        ext = _cached_json(f"{self.name}-v{CACHE_VERSION}", self._extremes)
        self.optimum, self.target = ext["optimum"], ext["target"]

    def asymptote_units(self, u: np.ndarray, batch) -> np.ndarray:
        """A from the unit-encoded params (without the batch)."""
        raise NotImplementedError

    def units(self, params: dict) -> np.ndarray:
        return np.array([float(self.by_name[n].unit(params[n])) for n in self.unit_names])

    def _tau(self, u_lr, batch):
        # faster with larger learning rates, slower with larger batches;
        # the slowest config is still ~99% converged at epoch N
        return self.max_epochs / 20 * np.exp(1.5 * (0.5 - u_lr)) * np.sqrt(np.asarray(batch, float) / 64)

    def _value(self, u: np.ndarray, batch, t) -> np.ndarray:
        a = self.asymptote_units(u, batch) + self.bonus * np.log2(np.asarray(batch, float) / 16) / 4
        return a - (a - self.floor) * np.exp(-np.asarray(t, float) / self._tau(u[..., 0], batch))

    def truth(self, params: dict) -> float:
        return float(self._value(self.units(params), params["batch"], self.max_epochs))

    def curve(self, params: dict, rng: np.random.Generator, epochs: int | None = None) -> np.ndarray:
        """Observed values at epochs 1..N (or 1..epochs: the same curve, cut or extended)."""
        t = np.arange(1, (epochs or self.max_epochs) + 1)
        clean = self._value(self.units(params), params["batch"], t)
        return clean + self.noise_trial * rng.standard_normal() + self.noise_epoch * rng.standard_normal(t.size)

    def sample_truths(self, n: int, seed: int = 0) -> np.ndarray:
        rng = np.random.default_rng(seed)
        cols = {p.name: p.sample(rng, n) for p in self.params}
        u = np.stack([self.by_name[k].unit(cols[k]) for k in self.unit_names], axis=-1)
        return self._value(u, cols["batch"], self.max_epochs)

    def epoch_seconds(self, params: dict) -> float:
        # wider nets take longer per epoch, larger batches run faster: 1.6 to 30 s
        return 10.0 * math.sqrt(params["width"] / 128) * (64 / params["batch"]) ** 0.3

    def _extremes(self) -> dict:
        """Best truth over the space: random candidates, then L-BFGS-B on the
        continuous coordinates from the best ones (integers and choices fixed)."""
        from scipy.optimize import minimize

        rng = np.random.default_rng(0)
        cols = {p.name: p.sample(rng, 200_000) for p in self.params}
        u = np.stack([self.by_name[k].unit(cols[k]) for k in self.unit_names], axis=-1)
        vals = self._value(u, cols["batch"], self.max_epochs)
        starts = [(u[i], cols["batch"][i]) for i in np.argsort(-vals)[:40]]
        starts += [(self.snap_units(self.known_best.copy()), b) for b in BATCHES]
        cont = [i for i, k in enumerate(self.unit_names) if self.by_name[k].kind in ("log", "float")]
        best = float(vals.max())
        for u0, b in starts:
            def neg(x, u0=u0, b=b):
                z = u0.copy()
                z[cont] = x
                return -float(self._value(z, b, self.max_epochs))
            res = minimize(neg, u0[cont], bounds=[(0, 1)] * len(cont), method="L-BFGS-B")
            best = max(best, -float(res.fun))
        self.optimum = best
        self._set_target()
        return {"optimum": self.optimum, "target": self.target}

    def snap_units(self, u: np.ndarray) -> np.ndarray:
        """Unit coordinates moved onto the integer grids (for the optimum's starts)."""
        u = u.copy()
        for i, k in enumerate(self.unit_names):
            p = self.by_name[k]
            if p.kind == "int":
                steps = round(u[i] * (p.hi - p.lo) / p.step)
                u[i] = steps * p.step / (p.hi - p.lo)
        return u


class BraninLC(Synthetic):
    name = "branin-lc"
    params = (
        P("lr", "log", 1e-4, 1.0),                 # Branin x1 (log scale)
        P("width", "int", 8, 512, step=8),         # Branin x2 (integer)
        P("batch", "choice", choices=BATCHES),     # speed and a small bonus only
    )
    unit_names = ("lr", "width")
    bonus, floor, noise_epoch, noise_trial = 0.5, -320.0, 0.5, 0.25
    known_best = np.array([(math.pi + 5) / 15, 2.275 / 15])

    def asymptote_units(self, u, batch):
        return -branin(-5 + 15 * u[..., 0], 15 * u[..., 1])


class Hartmann6LC(Synthetic):
    name = "hartmann6-lc"
    params = (
        P("lr", "log", 1e-4, 1.0),
        P("width", "int", 8, 512, step=8),
        P("dropout", "float", 0.0, 0.5),
        P("momentum", "float", 0.5, 0.99),
        P("weight_decay", "log", 1e-6, 1e-2),
        P("warmup", "int", 0, 20, step=1),
        P("batch", "choice", choices=BATCHES),
    )
    unit_names = ("lr", "width", "dropout", "momentum", "weight_decay", "warmup")
    bonus, floor, noise_epoch, noise_trial = 0.05, -0.3, 0.03, 0.02
    known_best = np.array([0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573])

    def asymptote_units(self, u, batch):
        return hartmann6(u)


# -- tabular: a real MLP, epoch by epoch --------------------------------------------------------
TAB_EPOCHS = 20
FULL_GRID = {"lr": (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1), "width": (16, 32, 64, 128),
             "alpha": (1e-5, 1e-3, 1e-1), "batch": (32, 128)}
QUICK_GRID = {"lr": (1e-4, 1e-3, 1e-2, 1e-1), "width": (16, 128), "alpha": (1e-5, 1e-1), "batch": (32, 128)}
DATASETS = {  # name: (loader name, metric, mode)
    "digits-mlp": ("load_digits", "accuracy", "max"),
    "wine-mlp": ("load_wine", "log_loss", "min"),
    "breast_cancer-mlp": ("load_breast_cancer", "log_loss", "min"),
}


def _train_one(job) -> tuple[list[float], float]:
    """Trains one config for TAB_EPOCHS epochs; (validation metric per epoch, s/epoch)."""
    import warnings

    import sklearn.datasets
    from sklearn.metrics import log_loss
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    loader, metric, lr, width, alpha, batch = job
    x, y = getattr(sklearn.datasets, loader)(return_X_y=True)
    xtr, xva, ytr, yva = train_test_split(x, y, test_size=0.4, random_state=0, stratify=y)
    scaler = StandardScaler().fit(xtr)
    xtr, xva = scaler.transform(xtr), scaler.transform(xva)
    classes = np.unique(y)
    model = MLPClassifier(hidden_layer_sizes=(width,), learning_rate_init=lr, alpha=alpha,
                          batch_size=batch, random_state=0)
    values, t0 = [], time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(TAB_EPOCHS):
            model.partial_fit(xtr, ytr, classes=classes)
            if metric == "accuracy":
                values.append(float(model.score(xva, yva)))
            else:
                values.append(float(log_loss(yva, model.predict_proba(xva), labels=classes)))
    return values, (time.perf_counter() - t0) / TAB_EPOCHS


class Tabular(TableProblem):
    max_epochs = TAB_EPOCHS

    def __init__(self, name: str, quick: bool = False):
        self.name = name
        loader, self.metric, self.mode = DATASETS[name]
        self.grid = QUICK_GRID if quick else FULL_GRID
        g = self.grid
        self.params = (
            P("lr", "log", g["lr"][0], g["lr"][-1]),
            P("width", "intlog", g["width"][0], g["width"][-1]),
            P("alpha", "log", g["alpha"][0], g["alpha"][-1]),
            P("batch", "choice", choices=g["batch"]),
        )
        self.axes = [np.log(np.array(g[k], float)) for k in ("lr", "width", "alpha")]
        self.shape = tuple(len(g[k]) for k in ("lr", "width", "alpha", "batch"))
        self.curves, self.seconds = self._table(loader)
        finals = self.curves[..., -1]
        self.optimum = float(finals.max() if self.mode == "max" else finals.min())
        self._set_target()

    def _table(self, loader: str):
        g = self.grid
        payload = json.dumps([CACHE_VERSION, TAB_EPOCHS, self.name, g], sort_keys=True).encode()
        key = hashlib.sha1(payload).hexdigest()[:10]
        path = (TABLES if self.grid is FULL_GRID else CACHE) / f"{self.name}-{key}.npz"
        if path.exists():
            data = np.load(path)
            return data["curves"], data["seconds"]
        jobs = [(loader, self.metric, lr, w, a, b) for lr in g["lr"] for w in g["width"]
                for a in g["alpha"] for b in g["batch"]]
        out = pool_map(_train_one, jobs)
        curves = np.array([c for c, _ in out]).reshape(self.shape + (TAB_EPOCHS,))
        seconds = np.array([s for _, s in out]).reshape(self.shape)
        path.parent.mkdir(exist_ok=True)
        np.savez(path, curves=curves, seconds=seconds)
        return curves, seconds

    def index(self, params: dict) -> tuple:
        idx = tuple(int(np.argmin(np.abs(ax - math.log(params[k]))))
                    for ax, k in zip(self.axes, ("lr", "width", "alpha")))
        return idx + (self.grid["batch"].index(params["batch"]),)

    def sample_truths(self, n: int, seed: int = 0) -> np.ndarray:
        rng = np.random.default_rng(seed)
        idx = []
        for ax, p in zip(self.axes, self.params):
            v = np.log(p.sample(rng, n).astype(float))
            idx.append(np.argmin(np.abs(v[:, None] - ax[None, :]), axis=1))
        idx.append(rng.integers(len(self.grid["batch"]), size=n))
        return self.curves[..., -1][tuple(idx)]


def load_all(quick: bool = False) -> dict[str, Problem]:
    """Every problem by name (builds the tabular caches on first use: the MLP
    tables ~1 min on 2 cores, sgd-digits' 3-5 min)."""
    with quiet():
        out = {p.name: p for p in (BraninLC(), Hartmann6LC())}
        for name in DATASETS:
            out[name] = Tabular(name, quick=quick)
        out.update({p.name: p for p in load_shapes(quick)})
    return out


def describe(problems: dict) -> list[dict]:
    rows = []
    for p in problems.values():
        rows.append({
            "problem": p.name, "mode": p.mode, "epochs": p.max_epochs,
            "params": ", ".join(f"{q.name} ({q.kind})" for q in p.params),
            "optimum": p.optimum, "target_regret": p.target,
            "configs": int(np.prod(p.shape)) if isinstance(p, TableProblem) else None,
        })
    return rows


if __name__ == "__main__":
    import sys

    t0 = time.perf_counter()
    for row in describe(load_all(quick="--quick" in sys.argv)):
        print(row)
    print(f"{time.perf_counter() - t0:.1f} s")
