"""Part 5: budget fidelity of Auto Config.

Over a grid of settings (algorithm, expected_time_ratio, num_workers,
num_full_iterations, full_dataset_size; the other arguments left to Auto
Config), each study runs to its end in the simulated-time harness of part 4
on the ``branin-lc`` curves, every epoch lasting ``epoch_cost(subset_ratio, p)``
simulated seconds (one full-data epoch = 1 s, so one full training = N s).
Reported per setting, as multiples of the budget ``B = expected_time_ratio - 1``
full trainings:

* planned: ``plan.cost / B`` (Auto Config's own promise: within 10%);
* actual, in the plan's cost model: epochs trained x epoch cost / N /
  min(workers, trials), over B;
* actual wall time: makespan / N, over B (the drain at the end included),
  and over the planned cost (bayes_opt's model counts rounds of W trials, so
  it should be exact; ASHA's assumes 1/eta of the trials survive each rung);
* backfill trials: ASHA's extra, shorter trials past num_trials.

The dashboard's ETA and the spent compute against the budget (hpopt.budget)
are part 7a's (benchmarks/time_fidelity.py).

bayes_opt studies sample at random here (``num_init_trial`` above the trial
count): what they cost does not depend on where the GP points them, and the
GP at 200 trials would dominate the run time.

A second, plan-only check runs ``hpopt.plan`` over a larger grid (as in
``benchmarks/plan_speed.py``) and counts plans outside +-10% of the budget.
"""
from __future__ import annotations

import itertools
import statistics
import time

from benchmarks.common import fmt, pool_map, quiet, table
from benchmarks.workers import new_study, simulate
from hpopt.plan import ALGORITHMS, epoch_cost, plan
from hpopt.snapshot import Meta

GRID = {"alg": ("asha", "bayes_opt"), "ratio": (1.5, 4.0, 10.0), "workers": (1, 4, 16),
        "n_full": (10, 30), "size": (2_000, 100_000)}
QUICK_GRID = {"alg": ("asha", "bayes_opt"), "ratio": (1.5, 4.0), "workers": (1, 8), "n_full": (10,),
              "size": (2_000, 100_000)}
_PROBLEM = {}


def _job(job) -> dict:
    alg, ratio, workers, n_full, size = job
    problem = _PROBLEM["p"]
    kw = dict(search_alg=alg, expected_time_ratio=ratio, num_workers=workers, full_dataset_size=size,
              num_full_iterations=n_full, subset_ratio=None, non_pure_train_ratio=0.2)
    if alg == "bayes_opt":
        kw["num_init_trial"] = 10_000
    storage = new_study(problem, workers, seed=0, **kw)
    p = Meta.from_dict(storage.load_meta()).plan
    sec = epoch_cost(p.subset_ratio, p.non_pure_train_ratio)
    planned = max(p.expected_epochs, 1e-9)
    t0 = time.perf_counter()
    out = simulate(problem, storage, workers, seed=0, epoch_seconds=sec)
    budget = ratio - 1
    row = {
        "alg": alg, "ratio": ratio, "workers": workers, "n_full": n_full, "size": size,
        "trials": p.num_trials, "max_iterations": p.max_iterations, "subset_ratio": p.subset_ratio,
        "planned": p.cost / budget, "warnings": len(p.warnings),
        "actual_model": out["epochs"] * sec / n_full / min(workers, p.num_trials) / budget,
        "actual_wall": out["makespan"] / n_full / budget,
        "backfill_trials": out["backfill_trials"], "actual_wall_over_planned": out["makespan"] / n_full / p.cost,
        "epochs_ratio": out["epochs"] / planned, "wall_seconds": time.perf_counter() - t0,
    }
    return row


def plan_grid() -> dict:
    """plan() over a larger grid: how many plans land outside +-10% of the budget."""
    grid = list(itertools.product(ALGORITHMS, (100, 2_000, 50_000, 1_000_000), (1, 5, 20, 100),
                                  (1.5, 2, 4, 10), (1, 4, 16, 64)))
    errors = []
    with quiet():
        for alg, size, n, ratio, workers in grid:
            pl = plan(alg, size, n, expected_time_ratio=ratio, num_workers=workers)
            errors.append((abs(pl.cost / pl.budget - 1), bool(pl.warnings)))
    outside = [(e, warned) for e, warned in errors if e > 0.10 + 1e-9]
    return {"plans": len(errors), "outside_10pct": len(outside),
            "outside_without_warning": sum(not w for _, w in outside),
            "max_error": max(e for e, _ in errors), "max_error_without_warning": max(e for e, w in errors if not w)}


def run(quick: bool = False, problems: dict | None = None) -> dict:
    from benchmarks.problems import BraninLC

    _PROBLEM["p"] = (problems or {}).get("branin-lc") or BraninLC()
    grid = QUICK_GRID if quick else GRID
    jobs = list(itertools.product(*grid.values()))
    jobs.sort(key=lambda j: -(j[1] * j[2] * j[3]))   # the long ones first
    t0 = time.perf_counter()
    rows = pool_map(_job, jobs)
    worst = {k: max(abs(r[k] - 1) for r in rows) for k in ("planned", "actual_model", "actual_wall")}
    return {"rows": rows, "worst": worst, "plan_grid": plan_grid(), "wall_seconds": time.perf_counter() - t0,
            "planned_within_10pct": sum(abs(r["planned"] - 1) <= 0.10 + 1e-9 for r in rows)}


def markdown(res: dict) -> str:
    rows = [[r["alg"], fmt(r["ratio"]), r["workers"], r["n_full"], r["size"], r["trials"], r["max_iterations"],
             fmt(r["subset_ratio"]), fmt(r["planned"]), fmt(r["actual_model"]), fmt(r["actual_wall"]),
             fmt(r["actual_wall_over_planned"], 4), r["backfill_trials"]]
            for r in sorted(res["rows"], key=lambda r: (r["alg"], r["ratio"], r["workers"], r["n_full"], r["size"]))]
    out = [table(["alg", "ratio", "workers", "N", "dataset", "trials", "max it.", "subset", "planned / B",
                  "actual (model) / B", "actual (wall) / B", "actual (wall) / planned", "backfill trials"],
                 rows, "lrrrrrrrrrrrr")]

    def ratio(alg):
        v = [r["actual_wall_over_planned"] for r in res["rows"] if r["alg"] == alg]
        return f"{alg} median {fmt(statistics.median(v), 4)}, range [{fmt(min(v), 4)}, {fmt(max(v), 4)}]" if v else ""
    w = res["worst"]
    g = res["plan_grid"]
    out.append(f"\nPlanned cost within 10% of the budget: {res['planned_within_10pct']} of {len(res['rows'])} "
               f"settings (worst |planned/B - 1| = {fmt(w['planned'], 3)}); actual in the plan's model: worst "
               f"{fmt(w['actual_model'], 3)}; actual wall time: worst {fmt(w['actual_wall'], 3)}. "
               f"Actual wall time / planned cost: {ratio('asha')}; {ratio('bayes_opt')}.")
    out.append(f"\nplan() alone over {g['plans']} settings: {g['outside_10pct']} outside +-10% "
               f"(worst {fmt(100 * g['max_error'], 3)}%), {g['outside_without_warning']} of them without a warning; "
               f"worst plan without a warning {fmt(100 * g['max_error_without_warning'], 3)}% off.")
    return "\n".join(out)


if __name__ == "__main__":
    import sys

    res = run("--quick" in sys.argv)
    print(markdown(res))
    print(f"\n{res['wall_seconds']:.0f} s")
