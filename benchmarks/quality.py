"""Part 2: search quality at equal budget, hpopt against Optuna and random search.

Three comparisons, each at several budgets, on every problem of
:mod:`benchmarks.problems`, one seed per run, the same seeds for every method:

* **early stopping at equal epoch budget** ``E = B * N`` epochs (B full
  trainings of N epochs; B in ``ASHA_BUDGETS``): hpopt ASHA (Auto Config plans
  num_trials from ``expected_time_ratio = B + 1``), Optuna TPE +
  SuccessiveHalvingPruner, TPE + HyperbandPruner, and random search (B full
  trainings); as a diagnostic, Optuna's random sampler +
  SuccessiveHalvingPruner (hpopt ASHA's uniform sampling with Optuna's
  stopping; not counted as an Optuna method in the verdict). Every method
  stops when it has spent E epochs; a trial cut off there counts as pruned.
* **Bayesian optimisation at equal trials** T (T in ``BO_TRIALS``; every trial
  a full training, one report of its last epoch): hpopt bayes_opt vs Optuna
  TPE, GPSampler and random sampling.
* **median stopping at equal epochs** ``E = B * N`` (B in ``MEDIAN_BUDGETS``):
  hpopt bayes_opt with ``early_stop="median_stop"`` (planned for 3B trials, so
  that the epoch budget is what ends it, as it ends Optuna's) vs Optuna TPE +
  MedianPruner and random search (B full trainings), every trial reporting
  every epoch.

hpopt runs through its study object (``HPO``, as ``hpopt.create`` makes it,
on an in-memory storage: ``get_next_sample``, the engine's ``report``), and
returns ``get_best_config()``; Optuna returns ``study.best_trial``; random search
its best observed final score. Libraries' defaults everywhere, except the
fixed ``subset_ratio=1`` and ``non_pure_train_ratio=0`` (these problems
have no data subsets) and Hyperband's ``max_resource=N``.

Regret = how far the *returned* config's noise-free full-fidelity value is
from the optimum. Time-to-target = epochs (or trials) until the method's own
incumbent first has regret <= the problem's target (the top 2% of random
configs); ``never`` when it does not happen within the budget.
"""
from __future__ import annotations

import importlib.util
import math
import time

import numpy as np

from benchmarks import problems as problems_mod
from benchmarks.common import PROCS, fmt, fmt_mi, med_iqr, pool_map, quiet, table
from benchmarks.memstore import MemoryStorage
from benchmarks.workers import Incumbent
from hpopt import engine
from hpopt.settings import make_settings
from hpopt.status import Status
from hpopt.study import HPO

ASHA_BUDGETS = (8, 30)       # full trainings' worth of epochs
BO_TRIALS = (10, 20, 50)     # full-length trials
MEDIAN_BUDGETS = (20,)       # full trainings' worth of epochs
SEEDS = 10
#: seeds of Optuna's GPSampler per trial budget where fewer than SEEDS: at 50
#: trials one run takes 13 s of CPU (44 s wall on 2 shared cores, 2026-11-30),
#: 15x hpopt bayes_opt's, and 80 runs would double the whole part: skipped.
#: (At 10 trials GPSampler is random search: its n_startup_trials is 10.)
GP_SEEDS = {50: 0}
#: a smoke run: every code path, no statistics
QUICK = {"asha": (4,), "bo": (12,), "median": (4,), "seeds": 2}

class Tracker:
    """Budget spent and the regret of a method's incumbent along the way."""

    def __init__(self, problem, limit: int):
        self.problem, self.limit, self.spent = problem, limit, 0
        self.trajectory: list[tuple[int, float]] = []

    def spend(self) -> bool:
        """Takes one unit of budget; False when none is left."""
        if self.spent >= self.limit:
            return False
        self.spent += 1
        return True

    def incumbent(self, params: dict) -> None:
        r = self.problem.regret(params)
        if not self.trajectory or self.trajectory[-1][1] != r:
            self.trajectory.append((self.spent, r))

    def time_to(self, target: float) -> float:
        return next((t for t, r in self.trajectory if r <= target + 1e-12), math.inf)


def _noise(seed: int, k: int) -> np.random.Generator:
    return np.random.default_rng([seed, k])


# -- hpopt through its study object ----------------------------------------------------------
def _hpopt(problem, seed: int, alg: str, tracker: Tracker, per_epoch: bool, **plan) -> dict:
    """One study through ``HPO`` (what ``hpopt.create`` returns): ``get_next_sample``,
    the engine's ``report`` (what ``hpopt.report`` calls), ``get_best_config``.
    The study lives in memory (:class:`MemoryStorage`, the engine and algorithms
    unchanged): the file storage rewrites its JSON on each report, which made
    a 30-training ASHA run take 5 s of CPU, 85% of it in json.dump."""
    n = problem.max_epochs
    with quiet():
        settings = make_settings(dict(search_space=problem.space(), full_dataset_size=10_000, num_full_iterations=n,
                                      search_alg=alg, mode=problem.mode, seed=seed, save_path="unused",
                                      subset_ratio=1.0, non_pure_train_ratio=0.0, **plan))
        hpo = HPO(settings, MemoryStorage())
        incumbent = Incumbent(hpo.plan.max_iterations)   # hpopt.best's rule
        params: dict[int, dict] = {}
        while tracker.spent < tracker.limit and (config := hpo.get_next_sample()) is not None:
            tid = config["trial_id"]
            params[tid] = config["params"]
            # the same curve whenever the trial runs: a promoted one (ASHA, promotion="pause")
            # continues it from its checkpoint, training only the epochs after resume_iteration
            ys = problem.curve(config["params"], _noise(seed, tid))
            # bayes_opt without early stopping: one report of the full training's last epoch
            epochs = range(config["resume_iteration"] + 1, config["iterations"] + 1) if per_epoch \
                else [config["iterations"]]
            for epoch in epochs:
                if not tracker.spend():
                    break
                score = float(ys[epoch - 1])
                status = engine.report(hpo.storage, tid, score, epoch, attempt=config["attempt"])
                changed = incumbent.update(tid, problem.better * score)
                if epoch >= config["iterations"]:
                    changed = incumbent.complete(tid, config["iterations"]) or changed
                if changed:
                    tracker.incumbent(params[incumbent.trial])
                if status == Status.STOP:
                    break
        returned = hpo.get_best_config()
        trials = len(hpo.trials())
    return {"returned": returned, "trials": trials}


def hpopt_asha(problem, seed, tracker):
    return _hpopt(problem, seed, "asha", tracker, True, expected_time_ratio=tracker.limit / problem.max_epochs + 1)


def hpopt_asha_pause(problem, seed, tracker):
    """ASHA with promotion="pause": trials wait at rungs and resume from their checkpoint when promoted."""
    return _hpopt(problem, seed, "asha", tracker, True, expected_time_ratio=tracker.limit / problem.max_epochs + 1,
                  promotion="pause")


def hpopt_bayes(problem, seed, tracker):
    return _hpopt(problem, seed, "bayes_opt", tracker, False, num_trials=tracker.limit,
                  max_iterations=problem.max_epochs, expected_time_ratio=tracker.limit + 1)


def hpopt_median(problem, seed, tracker):
    """bayes_opt with median stopping; planned for 3x the trials the epoch budget
    pays for in full, so that the budget ends the run (as it ends Optuna's)."""
    trials = 3 * tracker.limit // problem.max_epochs
    return _hpopt(problem, seed, "bayes_opt", tracker, True, num_trials=trials, max_iterations=problem.max_epochs,
                  expected_time_ratio=trials + 1, early_stop="median_stop")


# -- Optuna (ask and tell, so that every method stops at the same budget) -------------------------
def _optuna(problem, seed: int, sampler, pruner, tracker: Tracker, per_epoch: bool) -> dict:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # a fixed study name: HyperbandPruner puts trials into brackets by a hash
    # of the study name, and the default name is random (runs differed)
    study = optuna.create_study(direction="maximize" if problem.mode == "max" else "minimize",
                                sampler=sampler, pruner=pruner or optuna.pruners.NopPruner(),
                                study_name=f"{problem.name}-seed{seed}")
    n, k = problem.max_epochs, 0
    while tracker.spent < tracker.limit:
        trial = study.ask()
        params = problem.suggest(trial)
        ys = problem.curve(params, _noise(seed, k))
        k += 1
        if not per_epoch:   # a full training, one unit of budget (a trial)
            tracker.spend()
            study.tell(trial, float(ys[-1]))
        else:
            state = None
            for epoch in range(1, n + 1):
                if not tracker.spend():
                    state = optuna.trial.TrialState.PRUNED   # cut off by the budget
                    break
                trial.report(float(ys[epoch - 1]), epoch)
                if trial.should_prune():
                    state = optuna.trial.TrialState.PRUNED
                    break
            if state is None:
                study.tell(trial, float(ys[-1]))
            else:
                study.tell(trial, state=state)
        if any(t.state == optuna.trial.TrialState.COMPLETE for t in study.get_trials(deepcopy=False)):
            tracker.incumbent(study.best_trial.params)
    try:
        returned = study.best_trial.params
    except ValueError:   # nothing completed: the best last report of a pruned trial
        pruned = [t for t in study.trials if t.intermediate_values]
        returned = max(pruned, key=lambda t: problem.better * t.intermediate_values[max(t.intermediate_values)]).params
    return {"returned": returned, "trials": len(study.trials)}


def optuna_tpe_sha(problem, seed, tracker):
    import optuna

    return _optuna(problem, seed, optuna.samplers.TPESampler(seed=seed),
                   optuna.pruners.SuccessiveHalvingPruner(), tracker, per_epoch=True)


def optuna_tpe_hb(problem, seed, tracker):
    import optuna

    return _optuna(problem, seed, optuna.samplers.TPESampler(seed=seed),
                   optuna.pruners.HyperbandPruner(max_resource=problem.max_epochs), tracker, per_epoch=True)


def random_sha(problem, seed, tracker):
    """A diagnostic baseline: hpopt ASHA's sampler (uniform) with Optuna's pruner,
    to tell a sampling gap from a stopping gap."""
    import optuna

    return _optuna(problem, seed, optuna.samplers.RandomSampler(seed=seed),
                   optuna.pruners.SuccessiveHalvingPruner(), tracker, per_epoch=True)


def optuna_tpe_median(problem, seed, tracker):
    import optuna

    return _optuna(problem, seed, optuna.samplers.TPESampler(seed=seed), optuna.pruners.MedianPruner(),
                   tracker, per_epoch=True)


def random_epochs(problem, seed, tracker):
    import optuna

    return _optuna(problem, seed, optuna.samplers.RandomSampler(seed=seed), None, tracker, per_epoch=True)


def optuna_tpe(problem, seed, tracker):
    import optuna

    return _optuna(problem, seed, optuna.samplers.TPESampler(seed=seed), None, tracker, per_epoch=False)


def optuna_gp(problem, seed, tracker):
    import optuna
    import torch

    torch.set_num_threads(1)   # several runs share the cores, as BLAS does (common.single_thread_blas)

    return _optuna(problem, seed, optuna.samplers.GPSampler(seed=seed), None, tracker, per_epoch=False)


def random_trials(problem, seed, tracker):
    import optuna

    return _optuna(problem, seed, optuna.samplers.RandomSampler(seed=seed), None, tracker, per_epoch=False)


RUNNERS = {
    ("asha", "hpopt ASHA"): hpopt_asha, ("asha", "Optuna TPE+SHA"): optuna_tpe_sha,
    ("asha", "Optuna TPE+Hyperband"): optuna_tpe_hb, ("asha", "random + SHA pruner"): random_sha,
    ("asha", "random search"): random_epochs,
    ("bo", "hpopt bayes_opt"): hpopt_bayes, ("bo", "Optuna TPE"): optuna_tpe,
    ("bo", "Optuna GP"): optuna_gp, ("bo", "random search"): random_trials,
    ("median", "hpopt bayes_opt median_stop"): hpopt_median, ("median", "Optuna TPE+MedianPruner"): optuna_tpe_median,
    ("median", "random search"): random_epochs,
}
#: per comparison: hpopt's method, and the unit of its budget
OURS = {"asha": "hpopt ASHA", "bo": "hpopt bayes_opt", "median": "hpopt bayes_opt median_stop"}
TITLES = {"asha": ("Early stopping at equal epoch budget", "epochs"),
          "bo": ("Bayesian optimisation at equal trials", "trials"),
          "median": ("Median stopping at equal epoch budget", "epochs")}

_PROBLEMS: dict = {}


def budgets(quick: bool) -> dict[str, tuple[int, ...]]:
    """Per comparison, its budgets: full trainings (asha, median) or trials (bo)."""
    if quick:
        return {g: QUICK[g] for g in OURS}
    return {"asha": ASHA_BUDGETS, "bo": BO_TRIALS, "median": MEDIAN_BUDGETS}


def _run(job) -> dict:
    group, budget, method, pname, seed = job
    problem = _PROBLEMS[pname]
    limit = budget if group == "bo" else budget * problem.max_epochs
    tracker = Tracker(problem, limit)
    t0 = time.perf_counter()
    out = RUNNERS[group, method](problem, seed, tracker)
    return {
        "group": group, "budget": budget, "method": method, "problem": pname, "seed": seed,
        "regret": problem.regret(out["returned"]), "spent": tracker.spent, "trials": out["trials"],
        "time_to_target": tracker.time_to(problem.target), "seconds": time.perf_counter() - t0,
    }


def jobs_for(quick: bool, problems, skipped: list[str]) -> list[tuple]:
    """(group, budget, method, problem, seed) for every run; slow ones first."""
    seeds = QUICK["seeds"] if quick else SEEDS
    has_torch = importlib.util.find_spec("torch") is not None   # Optuna's GPSampler runs on torch
    if not has_torch:
        skipped.append("Optuna GP (torch is not installed)")
    jobs = []
    for group, bs in budgets(quick).items():
        for b in bs:
            for (g, m) in RUNNERS:
                if g != group:
                    continue
                n = seeds
                if m == "Optuna GP":
                    n = 0 if not has_torch else seeds if quick else min(seeds, GP_SEEDS.get(b, seeds))
                    if has_torch and n < seeds:
                        skipped.append(f"Optuna GP at {b} trials: {n} seeds" if n else f"Optuna GP at {b} trials")
                jobs += [(group, b, m, p, s) for p in problems for s in range(n)]
    slow = ("hpopt bayes_opt", "Optuna GP", "hpopt bayes_opt median_stop")
    jobs.sort(key=lambda j: (j[2] not in slow, -j[1], j[3]))
    return jobs


def run(quick: bool = False, problems: dict | None = None) -> dict:
    _PROBLEMS.update(problems or problems_mod.load_all(quick))
    skipped: list[str] = []
    jobs = jobs_for(quick, _PROBLEMS, skipped)
    t0 = time.perf_counter()
    # one process more than cores: hpopt's runs wait on file fsyncs much of the time
    runs = pool_map(_run, jobs, procs=PROCS + 1)
    by_key: dict[tuple, list[dict]] = {}
    for r in runs:
        by_key.setdefault((r["group"], r["budget"], r["method"], r["problem"]), []).append(r)
    summary = []
    for (group, b, method, pname), rs in by_key.items():
        summary.append({
            "group": group, "budget": b, "method": method, "problem": pname, "seeds": len(rs),
            "regret": med_iqr(r["regret"] for r in rs),
            "time_to_target": med_iqr(r["time_to_target"] for r in rs),
            "reached": sum(math.isfinite(r["time_to_target"]) for r in rs) / len(rs),
            "spent": float(np.mean([r["spent"] for r in rs])), "trials": float(np.mean([r["trials"] for r in rs])),
            "seconds_per_run": float(np.mean([r["seconds"] for r in rs])),
        })
    order = {m: i for i, (_, m) in enumerate(RUNNERS)}
    summary.sort(key=lambda s: (s["group"], s["budget"], s["problem"], order[s["method"]]))
    return {
        "seeds": QUICK["seeds"] if quick else SEEDS, "budgets": budgets(quick),
        "problems": problems_mod.describe(_PROBLEMS), "summary": summary, "verdict": verdict(summary),
        "skipped": skipped,
        "runs": [{k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in r.items()} for r in runs],
        "wall_seconds": time.perf_counter() - t0,
    }


def verdict(summary: list[dict]) -> dict:
    """Per comparison and budget (key ``"asha-8"``...): on how many problems
    hpopt's median final regret is <= the best Optuna method's median (all of
    TPE+SHA and TPE+Hyperband for ASHA; TPE and GP for bayes_opt) and < random
    search's. Both counts, out of ``problems``."""
    out = {}
    for key in sorted({(s["group"], s["budget"]) for s in summary}):
        group, budget = key
        rows = {(s["method"], s["problem"]): s["regret"]["median"] for s in summary
                if (s["group"], s["budget"]) == key}
        per = {}
        for p in sorted({p for _, p in rows}):
            optuna_best = min(v for (m, q), v in rows.items() if q == p and m.startswith("Optuna"))
            ours = rows[OURS[group], p]
            per[p] = {"hpopt": ours, "optuna_best": optuna_best, "random": rows["random search", p],
                      "at_or_below_optuna": ours <= optuna_best + 1e-12,
                      "below_random": ours < rows["random search", p] - 1e-12,
                      "tied_random_at_zero": ours == 0 == rows["random search", p]}
        out[f"{group}-{budget}"] = {
            "group": group, "budget": budget, "per_problem": per,
            "at_or_below_optuna": sum(v["at_or_below_optuna"] for v in per.values()),
            "below_random": sum(v["below_random"] for v in per.values()),
            "problems": len(per),
        }
    return out


def markdown(res: dict) -> str:
    b = res["budgets"]
    out = [f"Seeds: {res['seeds']} per method and problem (same seeds for every method). "
           f"Early stopping: budgets of {' and '.join(map(str, b['asha']))} full trainings (= B x N epochs). "
           f"Bayesian: {', '.join(map(str, b['bo']))} full trainings. "
           f"Median stopping: {', '.join(map(str, b['median']))} full trainings' worth of epochs. "
           "Cells: median [q25, q75] over seeds. Time-to-target: epochs or trials "
           "until the incumbent's regret <= target; `never` = not within the budget."
           + (f" Skipped or fewer seeds: {'; '.join(res['skipped'])}." if res.get("skipped") else "") + "\n"]
    out.append(table(["problem", "mode", "N", "params", "optimum", "target regret", "table configs"],
                     [[p["problem"], p["mode"], p["epochs"], p["params"], fmt(p["optimum"], 5),
                       fmt(p["target_regret"]), p["configs"] or "-"] for p in res["problems"]], "llrlrrr"))
    out.append("\n#### Verdicts\n")
    out.append(verdict_table(res["verdict"]))
    for v in res["verdict"].values():
        title, unit = TITLES[v["group"]]
        scale = "trials" if v["group"] == "bo" else "full trainings"
        out.append(f"\n#### {title}: {v['budget']} {scale}\n")
        rows = []
        for s in res["summary"]:
            if (s["group"], s["budget"]) != (v["group"], v["budget"]):
                continue
            rows.append([s["problem"], s["method"] + (f" ({s['seeds']} seeds)" if s["seeds"] != res["seeds"] else ""),
                         fmt_mi(s["regret"]), fmt_mi(s["time_to_target"]), f"{100 * s['reached']:.0f}%",
                         f"{s['spent']:.0f}", f"{s['trials']:.0f}", f"{s['seconds_per_run']:.2f}"])
        out.append(table(["problem", "method", "final regret", f"time-to-target ({unit})", "reached",
                          f"{unit} used", "trials", "s/run"], rows, "llrrrrrr"))
        out.append(f"\n{OURS[v['group']]} at or below the best Optuna method's median regret on "
                   f"{v['at_or_below_optuna']} of {v['problems']} problems; below random search on "
                   f"{v['below_random']} of {v['problems']}.")
    return "\n".join(out)


def verdict_table(verdicts: dict) -> str:
    """One row per comparison and budget: where hpopt's median regret is behind, and by how much."""
    rows = []
    for v in verdicts.values():
        behind = [f"{p} {fmt(x['hpopt'])} vs {fmt(x['optuna_best'])}" for p, x in v["per_problem"].items()
                  if not x["at_or_below_optuna"]]
        not_below = [p for p, x in v["per_problem"].items() if not x["below_random"]]
        rows.append([OURS[v["group"]], v["budget"], f"{v['at_or_below_optuna']} / {v['problems']}",
                     f"{v['below_random']} / {v['problems']}", "; ".join(behind) or "-", ", ".join(not_below) or "-"])
    return table(["hpopt method", "budget", "<= best Optuna", "< random", "behind Optuna (hpopt vs Optuna's best)",
                  "not below random"], rows, "lrrrll")


if __name__ == "__main__":
    import sys

    quick = "--quick" in sys.argv
    res = run(quick)
    print(markdown(res))
    print(f"\n{res['wall_seconds']:.0f} s")
