"""Part 2: search quality at equal budget, hpopt against Optuna and random search.

Two comparisons, on every problem of :mod:`benchmarks.problems`, one seed per
run, the same seeds for every method:

* **early stopping at equal epoch budget** ``E = B * N`` epochs (B full
  trainings of N epochs): hpopt ASHA (Auto Config plans num_trials from
  ``expected_time_ratio = B + 1``), Optuna TPE + SuccessiveHalvingPruner,
  TPE + HyperbandPruner, and random search (B full trainings); as a
  diagnostic, Optuna's random sampler + SuccessiveHalvingPruner (hpopt ASHA's
  uniform sampling with Optuna's stopping; not counted as an Optuna method
  in the verdict). Every method
  stops when it has spent E epochs; a trial cut off there counts as pruned.
* **Bayesian optimisation at equal trials** T (every trial a full training,
  one report of its last epoch): hpopt bayes_opt vs Optuna TPE, GPSampler and
  random sampling.

hpopt runs through its public loop (``hpopt.create`` on a temporary
``save_path``, ``get_next_sample``, ``hpopt.report``), and returns
``get_best_config()``; Optuna returns ``study.best_trial``; random search
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
import tempfile
import time

import numpy as np

import hpopt
from benchmarks import problems as problems_mod
from benchmarks.common import PROCS, fmt, fmt_mi, med_iqr, pool_map, quiet, table
from benchmarks.workers import Incumbent

BUDGET_FULL_TRAININGS = 8
BO_TRIALS = 20
QUICK = {"budget": 4, "bo_trials": 12, "seeds": 2}   # a smoke run: every code path, no statistics


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


# -- hpopt through its public loop -------------------------------------------------------------
def _hpopt(problem, seed: int, alg: str, tracker: Tracker, **plan) -> dict:
    n = problem.max_epochs
    with tempfile.TemporaryDirectory(prefix="hpopt-bench-") as tmp, quiet():
        hpo = hpopt.create(search_space=problem.space(), full_dataset_size=10_000, num_full_iterations=n,
                           search_alg=alg, mode=problem.mode, seed=seed, save_path=tmp, subset_ratio=1.0,
                           non_pure_train_ratio=0.0, **plan)
        incumbent = Incumbent(hpo.plan.max_iterations)   # hpopt.best's rule
        params: dict[int, dict] = {}
        while tracker.spent < tracker.limit and (config := hpo.get_next_sample()) is not None:
            tid = config["trial_id"]
            params[tid] = config["params"]
            ys = problem.curve(config["params"], _noise(seed, tid))
            # bayes_opt: one report of the full training's last epoch
            epochs = range(1, config["iterations"] + 1) if alg == "asha" else [config["iterations"]]
            for epoch in epochs:
                if not tracker.spend():
                    break
                score = float(ys[epoch - 1])
                status = hpopt.report(config=config, score=score, iteration=epoch)
                changed = incumbent.update(tid, problem.better * score)
                if epoch >= config["iterations"]:
                    changed = incumbent.complete(tid, config["iterations"]) or changed
                if changed:
                    tracker.incumbent(params[incumbent.trial])
                if status == hpopt.Status.STOP:
                    break
        returned = hpo.get_best_config()
        trials = len(hpo.trials())
    return {"returned": returned, "trials": trials}


def hpopt_asha(problem, seed, tracker):
    return _hpopt(problem, seed, "asha", tracker, expected_time_ratio=tracker.limit / problem.max_epochs + 1)


def hpopt_bayes(problem, seed, tracker):
    return _hpopt(problem, seed, "bayes_opt", tracker, num_trials=tracker.limit,
                  max_iterations=problem.max_epochs, expected_time_ratio=tracker.limit + 1)


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


def random_epochs(problem, seed, tracker):
    import optuna

    return _optuna(problem, seed, optuna.samplers.RandomSampler(seed=seed), None, tracker, per_epoch=True)


def optuna_tpe(problem, seed, tracker):
    import optuna

    return _optuna(problem, seed, optuna.samplers.TPESampler(seed=seed), None, tracker, per_epoch=False)


def optuna_gp(problem, seed, tracker):
    import optuna

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
}

_PROBLEMS: dict = {}


def _budget(quick: bool) -> tuple[int, int]:
    """(full trainings for the early-stopping comparison, trials for the Bayesian one)."""
    return (QUICK["budget"], QUICK["bo_trials"]) if quick else (BUDGET_FULL_TRAININGS, BO_TRIALS)


def _run(job) -> dict:
    group, method, pname, seed, quick = job
    problem = _PROBLEMS[pname]
    full_trainings, bo_trials = _budget(quick)
    limit = full_trainings * problem.max_epochs if group == "asha" else bo_trials
    tracker = Tracker(problem, limit)
    t0 = time.perf_counter()
    out = RUNNERS[group, method](problem, seed, tracker)
    return {
        "group": group, "method": method, "problem": pname, "seed": seed,
        "regret": problem.regret(out["returned"]), "spent": tracker.spent, "trials": out["trials"],
        "time_to_target": tracker.time_to(problem.target), "seconds": time.perf_counter() - t0,
    }


def run(quick: bool = False, problems: dict | None = None) -> dict:
    _PROBLEMS.update(problems or problems_mod.load_all(quick))
    seeds = QUICK["seeds"] if quick else 10
    runners = dict(RUNNERS)
    skipped = []
    if importlib.util.find_spec("torch") is None:   # Optuna's GPSampler runs on torch
        runners.pop(("bo", "Optuna GP"))
        skipped.append("Optuna GP (torch is not installed)")
    jobs = [(g, m, p, s, quick) for p in _PROBLEMS for s in range(seeds) for (g, m) in runners]
    jobs.sort(key=lambda j: (j[1] not in ("hpopt bayes_opt", "Optuna GP"), j[2]))  # slow ones first
    t0 = time.perf_counter()
    # one process more than cores: hpopt's runs wait on file fsyncs much of the time
    runs = pool_map(_run, jobs, procs=PROCS + 1)
    summary = []
    for (group, method) in runners:
        for pname in _PROBLEMS:
            rs = [r for r in runs if r["group"] == group and r["method"] == method and r["problem"] == pname]
            summary.append({
                "group": group, "method": method, "problem": pname,
                "regret": med_iqr(r["regret"] for r in rs),
                "time_to_target": med_iqr(r["time_to_target"] for r in rs),
                "reached": sum(math.isfinite(r["time_to_target"]) for r in rs) / len(rs),
                "spent": float(np.mean([r["spent"] for r in rs])), "trials": float(np.mean([r["trials"] for r in rs])),
                "seconds_per_run": float(np.mean([r["seconds"] for r in rs])),
            })
    full_trainings, bo_trials = _budget(quick)
    return {
        "seeds": seeds, "budget_full_trainings": full_trainings, "bo_trials": bo_trials,
        "problems": problems_mod.describe(_PROBLEMS), "summary": summary, "verdict": verdict(summary),
        "skipped": skipped,
        "runs": [{k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in r.items()} for r in runs],
        "wall_seconds": time.perf_counter() - t0,
    }


def verdict(summary: list[dict]) -> dict:
    """Target: hpopt's median final regret <= the best Optuna method's on >= 4 of 5
    problems, and < random search's on all (per comparison)."""
    out = {}
    for group, ours in (("asha", "hpopt ASHA"), ("bo", "hpopt bayes_opt")):
        rows = {(s["method"], s["problem"]): s["regret"]["median"] for s in summary if s["group"] == group}
        names = sorted({p for _, p in rows})
        per = {}
        for p in names:
            optuna_best = min(v for (m, q), v in rows.items() if q == p and m.startswith("Optuna"))
            per[p] = {"hpopt": rows[ours, p], "optuna_best": optuna_best, "random": rows["random search", p],
                      "at_or_below_optuna": rows[ours, p] <= optuna_best + 1e-12,
                      "below_random": rows[ours, p] < rows["random search", p] - 1e-12,
                      "tied_random_at_zero": rows[ours, p] == 0 == rows["random search", p]}
        out[group] = {
            "per_problem": per,
            "at_or_below_optuna": sum(v["at_or_below_optuna"] for v in per.values()),
            "below_random": sum(v["below_random"] for v in per.values()),
            "problems": len(per),
        }
    return out


def markdown(res: dict) -> str:
    out = [f"Seeds: {res['seeds']} per method and problem (same seeds for every method). "
           f"Early stopping: budget {res['budget_full_trainings']} full trainings "
           f"(= {res['budget_full_trainings']} x N epochs). Bayesian: {res['bo_trials']} full trainings. "
           "Cells: median [q25, q75] over seeds. Time-to-target: epochs (early stopping) or trials "
           "(Bayesian) until the incumbent's regret <= target; `never` = not within the budget."
           + (f" Skipped: {', '.join(res['skipped'])}." if res.get("skipped") else "") + "\n"]
    out.append(table(["problem", "mode", "N", "params", "optimum", "target regret", "table configs"],
                     [[p["problem"], p["mode"], p["epochs"], p["params"], fmt(p["optimum"], 5),
                       fmt(p["target_regret"]), p["configs"] or "-"] for p in res["problems"]], "llrlrrr"))
    for group, title, unit in (("asha", "Early stopping at equal epoch budget", "epochs"),
                               ("bo", "Bayesian optimisation at equal trials", "trials")):
        out.append(f"\n#### {title}\n")
        rows = []
        for s in res["summary"]:
            if s["group"] != group:
                continue
            rows.append([s["problem"], s["method"], fmt_mi(s["regret"]), fmt_mi(s["time_to_target"]),
                         f"{100 * s['reached']:.0f}%", f"{s['spent']:.0f}", f"{s['trials']:.0f}",
                         f"{s['seconds_per_run']:.2f}"])
        rows.sort(key=lambda r: r[0])
        out.append(table(["problem", "method", "final regret", f"time-to-target ({unit})", "reached",
                          f"{unit} used", "trials", "s/run"], rows, "llrrrrrr"))
        v = res["verdict"][group]
        out.append(f"\nhpopt at or below the best Optuna method's median regret on {v['at_or_below_optuna']}"
                   f" of {v['problems']} problems; below random search on {v['below_random']} of {v['problems']}.")
    return "\n".join(out)


if __name__ == "__main__":
    import sys

    quick = "--quick" in sys.argv
    res = run(quick)
    print(markdown(res))
    print(f"\n{res['wall_seconds']:.0f} s")
