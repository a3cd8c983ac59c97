"""Suggestion latency and search quality of hpopt's Bayesian optimization.

    python -m benchmarks.bayes_speed            # full run, ~3 min on 2 cores
    python -m benchmarks.bayes_speed --quick    # smoke version, ~30-50 s

Two parts, both printed as Markdown tables:

1. **Latency** of one suggestion: ``BayesOpt.next_trial`` on a snapshot
   (``hpopt.snapshot.load``) of a FileStorage holding the first N trials
   (completed) of a 200-trial BayesOpt study of the Branin function below,
   in a 5-parameter mixed space, at N = 10, 100, 200; the snapshot's load
   and the suggestion timed together with ``time.perf_counter`` (wall) and
   ``time.process_time`` (CPU, so contention from other processes shows as
   wall >> CPU) inside one ``storage.locked()`` block, so no file I/O is
   timed; p50 and p99 over repeats, each repeat a different seed; hpopt's
   budgeted settings and bayes_opt's defaults take turns in the same process.
2. **Regret** at equal trials: full optimisation runs of (a) the budgeted
   BayesOpt; (a') the same with bayes_opt's GP ``alpha`` 1e-6, to separate
   the noise setting from the budget; (b) BayesOpt with everything at
   bayes_opt's defaults: 10_000 uniform candidates and 10 L-BFGS-B polishes,
   no local candidates, sklearn's L-BFGS-B fit with 5 restarts, alpha 1e-6;
   (c) random search (the same class with ``num_init_trial`` above the
   budget, i.e. its seeded random sampler). Functions: a Branin-based one
   (noiseless, mode='min') and a Hartmann-6-based one (noisy, mode='max')
   over the mixed space, each with a known optimum. Seeds are shared, so the
   first 5 trials of a seed are identical for every method. The runs use 2
   processes.

Regret of a run after t trials = |f(x*) - f(incumbent)|, where the incumbent
is the trial with the best *observed* score; on the noisy function the
regret is measured on the noiseless value, as a user picking the best trial
would get it. Every suggestion is also checked: valid params, no duplicates.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings

import bayes_opt  # imported here, so no timed call pays for the import
import numpy as np
import sklearn

import hpopt
from hpopt import algorithms, snapshot
from hpopt.algorithms.bayes import BayesOpt
from hpopt.snapshot import Meta
from hpopt.status import TrialState
from hpopt.storage.base import TrialRecord
from hpopt.storage.file import FileStorage

SPACE = {
    "lr": hpopt.search_space("loguniform", [1e-5, 1e-1]),
    "dropout": hpopt.search_space("uniform", [0.0, 0.5]),
    "batch_size": hpopt.search_space("qloguniform", [16, 512, 16]),
    "layers": hpopt.search_space("quniform", [1, 8, 1]),
    "activation": hpopt.search_space("choice", ["relu", "gelu", "tanh"]),
}

#: BayesOpt's knobs (class attributes); a variant overrides some of them
KNOBS = ("n_random", "n_smart", "n_local", "n_centers", "gp_optimizer", "n_restarts",
         "max_gp_points", "gp_alpha", "kernel")
#: bayes_opt's own defaults: AcquisitionFunction.suggest's search, the GP
#: BayesianOptimization builds (5 restarts, alpha 1e-6), no local candidates, no cap
DEFAULTS = dict(n_random=10_000, n_smart=10, n_local=0, gp_optimizer="fmin_l_bfgs_b", n_restarts=5,
                max_gp_points=10**9, gp_alpha=1e-6, kernel="isotropic")
VARIANTS = {
    "budgeted": {},
    "budgeted, gp_alpha 1e-6": dict(gp_alpha=1e-6),
    "budgeted, isotropic kernel": dict(kernel="isotropic"),
    "bayes_opt defaults": DEFAULTS,
    "random search": None,
}
LATENCY_VARIANTS = ("budgeted", "bayes_opt defaults")


# -- objectives -------------------------------------------------------------------
def _unit_lr(lr: float) -> float:
    return (math.log(lr) - math.log(1e-5)) / (math.log(1e-1) - math.log(1e-5))


def branin(x1, x2):
    a, b, c, r, s, t = 1.0, 5.1 / (4 * np.pi**2), 5 / np.pi, 6.0, 10.0, 1 / (8 * np.pi)
    return a * (x2 - b * x1**2 + c * x1 - r) ** 2 + s * (1 - t) * np.cos(x1) + s


BRANIN_MIN = 0.397887357729738
BRANIN_ACT = {"relu": 1.0, "gelu": 0.0, "tanh": 3.0}


def branin_mixed(p: dict) -> float:
    """Branin on (lr, dropout) plus penalties on the discrete params; min 0.397887
    at batch_size 128, layers 3, 'gelu' and Branin's three minimisers."""
    x1 = -5 + 15 * _unit_lr(p["lr"])
    x2 = 15 * p["dropout"] / 0.5
    return float(branin(x1, x2) + (math.log2(p["batch_size"]) - 7) ** 2
                 + 0.5 * (p["layers"] - 3) ** 2 + BRANIN_ACT[p["activation"]])


_H6_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
                  [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
_H6_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                         [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])
_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
HARTMANN_ACT = {"relu": 0.3, "gelu": 0.65, "tanh": 0.0}
HARTMANN_NOISE = 0.05


def hartmann6(z: np.ndarray) -> np.ndarray:
    """-H6 (so higher is better; max 3.32237 at the usual minimiser), z of shape (..., 6)."""
    inner = np.sum(_H6_A * (z[..., None, :] - _H6_P) ** 2, axis=-1)
    return np.sum(_H6_ALPHA * np.exp(-inner), axis=-1)


def _hartmann_z(p: dict) -> np.ndarray:
    return np.array([_unit_lr(p["lr"]), p["dropout"] / 0.5,
                     math.log(p["batch_size"] / 16) / math.log(32), (p["layers"] - 1) / 7,
                     HARTMANN_ACT[p["activation"]], 0.6573])


def hartmann_mixed(p: dict) -> float:
    """-Hartmann-6 (maximised) with lr and dropout as two coordinates, batch
    size, layers and the activation as three more, the sixth fixed."""
    return float(hartmann6(_hartmann_z(p)))


def hartmann_optimum() -> float:
    """Max of hartmann_mixed over the space: every discrete combination on a
    dense (lr, dropout) grid, then L-BFGS-B from the best few."""
    from scipy.optimize import minimize

    space = hpopt.SearchSpace(SPACE)
    g = np.linspace(0, 1, 81)
    u1, u2 = np.meshgrid(g, g, indexing="ij")
    best = []
    for bs in space["batch_size"].grid():
        for layers in space["layers"].grid():
            for act in space["activation"].choices:
                z = _hartmann_z({"lr": 1e-3, "dropout": 0.0, "batch_size": bs, "layers": layers, "activation": act})
                zz = np.broadcast_to(z, u1.shape + (6,)).copy()
                zz[..., 0], zz[..., 1] = u1, u2
                v = hartmann6(zz)
                i = np.unravel_index(np.argmax(v), v.shape)
                best.append((float(v[i]), z, (g[i[0]], g[i[1]])))
    best.sort(key=lambda b: -b[0])
    top = best[0][0]
    for _, z, start in best[:8]:
        def neg(u, z=z):
            zz = z.copy()
            zz[0], zz[1] = u
            return -hartmann6(zz)
        res = minimize(neg, np.array(start), bounds=[(0, 1), (0, 1)], method="L-BFGS-B")
        top = max(top, float(-res.fun))
    return top


FUNCTIONS = {
    # name: (objective, mode, noise sd, optimum or None to compute)
    "branin": (branin_mixed, "min", 0.0, BRANIN_MIN),
    "hartmann6": (hartmann_mixed, "max", HARTMANN_NOISE, None),
}


def describe(fname: str) -> str:
    _, mode, noise, _ = FUNCTIONS[fname]
    return f"{fname} ({mode}, {'noise sd %g' % noise if noise else 'noiseless'})"


# -- driving BayesOpt without the trainer loop --------------------------------------------
@contextlib.contextmanager
def study(mode: str, num_trials: int, seed: int, num_init_trial: int = 5):
    """A stored study (created through hpopt.create) and its algorithm; yields
    (storage, algorithm, meta) inside storage.locked(), so the loop does no
    file I/O."""
    with tempfile.TemporaryDirectory(prefix="hpopt-bench-") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Auto Config's budget notes are beside the point here
        hpopt.create(search_space=SPACE, full_dataset_size=10_000, num_full_iterations=1,
                     search_alg="bayes_opt", mode=mode, num_trials=num_trials, max_iterations=1,
                     subset_ratio=1.0, expected_time_ratio=num_trials + 1, seed=seed,
                     num_init_trial=num_init_trial, save_path=tmp)
        storage = FileStorage(tmp)
        with storage.locked() as raw:
            meta = Meta.from_dict(raw)
            yield storage, algorithms.build(meta), meta


def configure(alg: BayesOpt, overrides: dict | None) -> BayesOpt:
    """Class defaults, then ``overrides``, as instance attributes."""
    unknown = set(overrides or ()) - set(KNOBS)
    if unknown:
        raise AttributeError(f"not a BayesOpt knob: {sorted(unknown)}")
    for name in KNOBS:
        setattr(alg, name, (overrides or {}).get(name, getattr(BayesOpt, name)))
    return alg


def suggest(storage, alg: BayesOpt, meta: Meta):
    """The algorithm's next trial, from the stored trials (what the engine's
    propose does inside the lock)."""
    return alg.next_trial(snapshot.load(storage, meta))


def add_completed(storage, params: dict, score: float) -> None:
    storage.add_trial(TrialRecord(trial_id=-1, params=params, iterations=1, subset_ratio=1.0,
                                  state=TrialState.COMPLETED, last_iteration=1, best_score=score))


# -- part 1: latency ----------------------------------------------------------------------
def history(n: int) -> list[dict]:
    """Params of an n-trial budgeted BayesOpt run on the Branin function
    (seed 0): the clustered points of a real study, on which the GP fit and the
    acquisition search work harder than on uniform random points."""
    with study("min", num_trials=n, seed=0) as (storage, alg, meta):
        configure(alg, {})
        for _ in range(n):
            new = suggest(storage, alg, meta)
            add_completed(storage, new.params, branin_mixed(new.params))
        return [t.params for t in storage.trials()]


def latency(counts: list[int], repeats: dict[str, int], max_default: int = 200) -> dict:
    """{(variant, n): [(wall s, cpu s)]}: BayesOpt.next_trial with the first n
    trials of ``history`` completed, one seed per repeat; the variants take
    turns on the same storage. bayes_opt's defaults only up to ``max_default``."""
    hist = history(max(counts))
    out = {}
    for n in counts:
        with study("min", num_trials=n + 1, seed=0) as (storage, alg, meta):
            for p in hist[:n]:
                add_completed(storage, p, branin_mixed(p))
            base = alg.settings
            for variant in LATENCY_VARIANTS:
                if variant != "budgeted" and n > max_default:
                    continue
                configure(alg, VARIANTS[variant])
                times = []
                for r in range(repeats[variant] + 1):
                    alg.settings = dataclasses.replace(base, seed=r)
                    w0, c0 = time.perf_counter(), time.process_time()
                    new = suggest(storage, alg, meta)
                    w1, c1 = time.perf_counter(), time.process_time()
                    assert new is not None and alg.space.contains(new.params)
                    if r:  # the first call also warms caches
                        times.append((w1 - w0, c1 - c0))
                out[variant, n] = times
    return out


# -- part 2: regret ----------------------------------------------------------------------------
def run_search(job: tuple) -> tuple:
    """One optimisation run; returns (job, regret after each trial, suggestion seconds)."""
    fname, variant, seed, trials = job
    f, mode, noise, optimum = FUNCTIONS[fname]
    better = 1.0 if mode == "max" else -1.0
    noise_rng = np.random.default_rng([seed, 99])
    init = trials + 1 if VARIANTS[variant] is None else 5
    regrets, spent = [], 0.0
    with study(mode, num_trials=trials, seed=seed, num_init_trial=init) as (storage, alg, meta):
        configure(alg, VARIANTS[variant])
        best_obs, best_true, keys = -math.inf, None, set()
        for _ in range(trials):
            t0 = time.perf_counter()
            new = suggest(storage, alg, meta)
            spent += time.perf_counter() - t0
            assert new is not None and alg.space.contains(new.params), new
            key = alg.space.key(new.params)
            assert key not in keys, "duplicate suggestion"
            keys.add(key)
            true = f(new.params)
            score = true + noise * float(noise_rng.standard_normal())
            add_completed(storage, new.params, score)
            if better * score > best_obs:
                best_obs, best_true = better * score, true
            regrets.append(better * (optimum - best_true))
    return job, regrets, spent


def _init_worker(optima: dict) -> None:
    for name, value in optima.items():
        f, mode, noise, _ = FUNCTIONS[name]
        FUNCTIONS[name] = (f, mode, noise, value)


def regret(seeds: int, trials: int, procs: int) -> dict:
    optima = {name: (spec[3] if spec[3] is not None else hartmann_optimum()) for name, spec in FUNCTIONS.items()}
    _init_worker(optima)
    jobs = [(fname, variant, seed, trials) for fname in FUNCTIONS for variant in VARIANTS for seed in range(seeds)]
    # slow jobs first, so the two processes finish together
    jobs.sort(key=lambda j: VARIANTS[j[1]] is not DEFAULTS)
    if procs > 1:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(procs, initializer=_init_worker, initargs=(optima,)) as pool:
            results = pool.map(run_search, jobs, chunksize=1)
    else:
        results = [run_search(j) for j in jobs]
    out = {}
    for (fname, variant, seed, _), regrets, spent in results:
        out.setdefault((fname, variant), []).append((seed, regrets, spent))
    return out, optima


# -- reporting ------------------------------------------------------------------------------
def ms(x: float) -> str:
    return f"{1000 * x:.0f}" if x >= 0.0995 else f"{1000 * x:.1f}"


def pct(values, q) -> float:
    return float(np.percentile(np.asarray(values), q))


def latency_table(lat: dict, counts: list[int]) -> str:
    """Wall-clock p50 and p99 first (benchmarks/__main__.py reads the 200 row's)."""
    rows = ["| observed trials | budgeted p50 ms | budgeted p99 ms | budgeted CPU p50 / p99 ms "
            "| defaults p50 ms | defaults p99 ms | defaults CPU p50 / p99 ms | p50 ratio | repeats |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]

    def cells(times):
        wall, cpu = [w for w, _ in times], [c for _, c in times]
        return f"{ms(pct(wall, 50))} | {ms(pct(wall, 99))} | {ms(pct(cpu, 50))} / {ms(pct(cpu, 99))}"

    for n in counts:
        b, d = lat["budgeted", n], lat.get(("bayes_opt defaults", n))
        if d:
            ratio = pct([w for w, _ in d], 50) / pct([w for w, _ in b], 50)
            rest = f"{cells(d)} | {ratio:.1f}x | {len(b)} / {len(d)}"
        else:
            rest = f"- | - | - | - | {len(b)} / -"
        rows.append(f"| {n} | {cells(b)} | {rest} |")
    return "\n".join(rows)


def regret_table(res: dict, trials: int, checkpoints: list[int]) -> str:
    head = " | ".join(f"median [IQR] @{t}" for t in checkpoints)
    rows = [f"| function | method | {head} | mean s/run in suggest | seeds |",
            "|---|---|" + "---:|" * len(checkpoints) + "---:|---:|"]
    for fname in FUNCTIONS:
        for variant in VARIANTS:
            runs = sorted(res[fname, variant])
            cells = []
            for t in checkpoints:
                v = [r[t - 1] for _, r, _ in runs]
                cells.append(f"{pct(v, 50):.3g} [{pct(v, 25):.3g}, {pct(v, 75):.3g}]")
            spent = statistics.fmean(s for _, _, s in runs)
            rows.append(f"| {describe(fname)} | {variant} | {' | '.join(cells)} | {spent:.2f} | {len(runs)} |")
    return "\n".join(rows)


def paired_table(res: dict, trials: int) -> str:
    """Per seed, budgeted vs each other method at the last trial: wins/ties/losses."""
    rows = ["| function | budgeted vs | wins / ties / losses (lower final regret) |", "|---|---|---|"]
    for fname in FUNCTIONS:
        a = {s: r[-1] for s, r, _ in res[fname, "budgeted"]}
        for other in [v for v in VARIANTS if v != "budgeted"]:
            b = {s: r[-1] for s, r, _ in res[fname, other]}
            w = sum(a[s] < b[s] - 1e-12 for s in a)
            lost = sum(a[s] > b[s] + 1e-12 for s in a)
            rows.append(f"| {describe(fname)} | {other} | {w} / {len(a) - w - lost} / {lost} |")
    return "\n".join(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="~30 s version: fewer repeats, seeds and trials")
    ap.add_argument("--seeds", type=int, help="regret seeds (default 10, quick 3)")
    ap.add_argument("--trials", type=int, help="trials per regret run (default 40, quick 25)")
    ap.add_argument("--counts", help="observed-trial counts for the latency table (default 10,100,200; "
                                     "bayes_opt's defaults are timed up to 200 only)")
    ap.add_argument("--procs", type=int, default=min(2, os.cpu_count() or 1), help="processes for the regret runs")
    args = ap.parse_args(argv)
    counts = [int(c) for c in args.counts.split(",")] if args.counts else [10, 100, 200]
    repeats = {"budgeted": 10, "bayes_opt defaults": 3} if args.quick else {"budgeted": 40, "bayes_opt defaults": 8}
    seeds = args.seeds or (3 if args.quick else 10)
    trials = args.trials or (25 if args.quick else 40)
    checkpoints = sorted({min(20, trials), trials})

    t_start = time.perf_counter()
    load = " / ".join(f"{v:.1f}" for v in os.getloadavg())
    knobs = ", ".join(f"{k}={getattr(BayesOpt, k)}" for k in KNOBS)
    print("# hpopt BayesOpt: suggestion speed and regret\n")
    print(f"`python -m benchmarks.bayes_speed{' --quick' if args.quick else ''}`: python {platform.python_version()}, "
          f"bayesian-optimization {bayes_opt.__version__}, scikit-learn {sklearn.__version__}, numpy {np.__version__}, "
          f"{os.cpu_count()} CPUs, load average at start {load}\n")
    print(f"budgeted: {knobs}\n\ndefaults: {DEFAULTS}\n", flush=True)
    lat = latency(counts, repeats)
    print(f"## Suggestion latency (BayesOpt.next_trial, 5-parameter mixed space; "
          f"stored trials from a {max(counts)}-trial BayesOpt run on the Branin function)\n")
    print(latency_table(lat, counts) + "\n", flush=True)
    res, optima = regret(seeds, trials, args.procs)
    print(f"## Regret at equal trials ({seeds} seeds, {trials} trials, the first 5 random)\n")
    print("optimum: " + ", ".join(f"{describe(k)} {v:.6f}" for k, v in optima.items()) + "\n")
    print(regret_table(res, trials, checkpoints) + "\n")
    print(paired_table(res, trials) + "\n")
    print(f"total {time.perf_counter() - t_start:.0f} s, load average at end "
          + " / ".join(f"{v:.1f}" for v in os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
