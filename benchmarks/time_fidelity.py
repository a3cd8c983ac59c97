"""Part 7 (simulated half): is the time budget a promise?

Over a grid (ASHA and Bayesian optimization x 1/4/16/256 simulated workers x
budgets x a trial's start-up share of 0-50% of its time), each study runs to
its end in simulated time on the ``branin-lc`` curves: a trial's attempt
first spends its start-up, then trains epoch after epoch, each epoch lasting
its cost in full-data epochs (1 s per full epoch) and every fourth one 1.5x
as long (an evaluation epoch): uneven epochs. Auto Config plans with the
true time model (the mean epoch and the start-up), as a user of the dashboard
gets it from the trainer's earlier runs. Reported per setting:

* spent / budget: the compute the trials spent (hpopt.budget) over what the
  budget buys: the hard budget's promise is <= 1.02 and >= 0.9;
* estimate error: Auto Config's planned wall time (what the New-study
  preview shows) over the simulated makespan, minus 1;
* ETA error at 25, 50 and 75% progress: the dashboard's ETA
  (hpopt.progress.eta_seconds with the time model measured so far from the
  simulated reports as studies.progress does: hpopt.timing.measure, then
  pace) over the time actually left, minus 1.

The engine runs for real on an in-memory storage; only the clock is simulated.
"""
from __future__ import annotations

import heapq
import itertools
import math
import statistics
import time

from benchmarks.common import fmt, pool_map, quiet, table
from benchmarks.memstore import MemoryStorage
from benchmarks.problems import BraninLC
from hpopt import engine, progress
from hpopt.plan import plan as make_plan
from hpopt.settings import make_settings
from hpopt.snapshot import Meta
from hpopt.status import Status
from hpopt.timing import RECENT, measure, pace

GRID = {"alg": ("asha", "bayes_opt"), "workers": (1, 4, 16, 256), "ratio": (2.0, 5.0),
        "startup_share": (0.0, 0.25, 0.5), "speed": ("even", "config")}
QUICK_GRID = {"alg": ("asha", "bayes_opt"), "workers": (1, 16), "ratio": (3.0,), "startup_share": (0.0, 0.5),
              "speed": ("even", "config")}
MARKS = (0.25, 0.5, 0.75)
#: every EVAL_EVERY-th epoch lasts EVAL_FACTOR times as long
EVAL_EVERY, EVAL_FACTOR = 4, 1.5
MEAN_FACTOR = ((EVAL_EVERY - 1) + EVAL_FACTOR) / EVAL_EVERY
N_FULL, SIZE = 20, 20_000


def _epoch_seconds(epoch: int, cost: float, speed: float) -> float:
    return speed * cost * (EVAL_FACTOR if epoch % EVAL_EVERY == 0 else 1.0)


def _speeds(problem, kind: str):
    """A config's epoch time as a multiple of the mean: 1 for "even"; for
    "config", the problem's (wider nets slower, larger batches faster: a 19x
    range) over its mean on random configs, so the search drifts to slower or
    faster configs than the time model measured on random ones."""
    if kind == "even":
        return lambda params: 1.0
    import numpy as np

    rng = np.random.default_rng(1)
    cols = {p.name: p.sample(rng, 4000) for p in problem.params}
    mean = statistics.fmean(problem.epoch_seconds({k: v[i] for k, v in cols.items()}) for i in range(4000))
    return lambda params: problem.epoch_seconds(params) / mean


def _study(alg: str, workers: int, ratio: float, share: float, problem) -> tuple[MemoryStorage, float]:
    """The study, planned with the true time model; returns (storage, start-up seconds)."""
    base = dict(search_space=problem.space(), full_dataset_size=SIZE, num_full_iterations=N_FULL, search_alg=alg,
                mode=problem.mode, seed=workers, num_workers=workers, expected_time_ratio=ratio,
                non_pure_train_ratio=0.2, save_path="unused", num_init_trial=10_000 if alg == "bayes_opt" else 5)
    with quiet():
        # the start-up that is ``share`` of a trial's time, for a trial of the plan without start-up
        p0 = make_plan(**make_settings(base).plan_kwargs())
        trial_seconds = p0.trial_cost_epochs() * MEAN_FACTOR
        startup = share / (1 - share) * trial_seconds if share else 0.0
        settings = make_settings({**base, "startup_epochs": startup / MEAN_FACTOR})
    storage = MemoryStorage()
    storage.save_meta(Meta.new(settings).to_dict())
    return storage, startup


class _Clock:
    """The simulated clock, put in place of the engine's ``time`` module: the
    engine times the trials (TrialRecord.first_report, epoch_seconds,
    epoch_count) in simulated seconds, and the model is measured from them
    as the dashboard measures it."""

    now = 0.0

    def time(self) -> float:
        return self.now


def _simulate(storage: MemoryStorage, workers: int, startup: float, problem, speed) -> dict:
    meta = Meta.from_dict(storage.load_meta())
    clock, real_time = _Clock(), engine.time
    engine.time = clock
    marks, events, seq = {}, [(0.0, w, w, None) for w in range(workers)], workers
    heapq.heapify(events)
    try:
        while events:
            clock.now, _, w, run = heapq.heappop(events)
            if run is None:
                config = engine.next_sample(storage, f"w{w}")
                if config is None:
                    continue
                run = {"config": config, "epoch": config["resume_iteration"] + 1, "speed": speed(config["params"])}
                seq += 1
                first = startup + _epoch_seconds(run["epoch"], _cost(meta, config), run["speed"])
                heapq.heappush(events, (clock.now + first, seq, w, run))
                continue
            config, epoch = run["config"], run["epoch"]
            value = float(problem.curve(config["params"], _RNG)[min(epoch, problem.max_epochs) - 1])
            status = engine.report(storage, config["trial_id"], value, epoch, attempt=config["attempt"])
            _mark(storage, meta, marks, clock.now, workers)
            seq += 1
            if status is Status.STOP:
                engine.finish(storage, config["trial_id"], config["attempt"])
                heapq.heappush(events, (clock.now, seq, w, None))
            else:
                run["epoch"] += 1
                later = clock.now + _epoch_seconds(run["epoch"], _cost(meta, config), run["speed"])
                heapq.heappush(events, (later, seq, w, run))
    finally:
        engine.time = real_time
    return {"makespan": clock.now, "marks": marks}


def _cost(meta, config) -> float:
    return meta.plan.epoch_cost(config["subset_ratio"])


def _mark(storage, meta, marks: dict, now: float, workers: int) -> None:
    """At the first report past each progress mark: the dashboard's ETA then."""
    trials = storage.trials()
    p = progress.of_trials(meta, trials)
    for m in MARKS:
        if m not in marks and p.fraction >= m:
            # newest first, as the dashboard's study model (studies.timing.of_study)
            newest = sorted((t for t in trials if t.started is not None), key=lambda t: -t.started)
            rows = [(t.epoch_seconds, t.epoch_count, t.first_report, t.subset_ratio,
                     meta.plan.non_pure_train_ratio) for t in newest]
            model = measure(rows, RECENT)
            if model is not None:
                model = pace(model, rows)
            if model is not None:
                open_trials = [t for t in trials if not t.state.is_finished()]
                marks[m] = (now, progress.eta_seconds(meta, p, open_trials, workers, model, now=now))


_RNG = None
_PROBLEM = {}


def _job(job) -> dict:
    import numpy as np

    global _RNG
    alg, workers, ratio, share, speed = job
    _RNG = np.random.default_rng(0)
    problem = _PROBLEM["p"]
    storage, startup = _study(alg, workers, ratio, share, problem)
    meta = Meta.from_dict(storage.load_meta())
    started = time.perf_counter()
    run = _simulate(storage, workers, startup, problem, _speeds(problem, speed))
    makespan = run["makespan"]
    spent = sum(t.spent for t in storage.trials())
    out = {"alg": alg, "workers": workers, "ratio": ratio, "startup_share": share, "speed": speed,
           "trials": len(storage.trials()), "spent_over_budget": spent / meta.plan.budget_compute,
           "estimate_error": meta.plan.wall_seconds(MEAN_FACTOR) / makespan - 1 if makespan else math.nan,
           "seconds": time.perf_counter() - started}
    for m in MARKS:
        if m in run["marks"]:
            at, eta = run["marks"][m]
            out[f"eta_error_{int(m * 100)}"] = eta / (makespan - at) - 1 if makespan > at else math.nan
        else:
            out[f"eta_error_{int(m * 100)}"] = math.nan
    return out


def run(quick: bool = False) -> dict:
    grid = QUICK_GRID if quick else GRID
    _PROBLEM["p"] = BraninLC()
    jobs = list(itertools.product(*grid.values()))
    started = time.time()
    rows = pool_map(_job, jobs)
    return {"rows": rows, "wall_seconds": time.time() - started, "summary": summarize(rows)}


def summarize(rows: list[dict]) -> dict:
    spent = [r["spent_over_budget"] for r in rows]
    est = [abs(r["estimate_error"]) for r in rows if not math.isnan(r["estimate_error"])]
    etas = [abs(r[f"eta_error_{m}"]) for r in rows for m in (25, 50, 75) if not math.isnan(r[f"eta_error_{m}"])]
    return {"settings": len(rows), "spent_max": max(spent), "spent_min": min(spent),
            "spent_within": sum(0.9 <= s <= 1.02 for s in spent),
            "estimate_within_15": sum(e <= 0.15 for e in est), "estimate_median_abs": statistics.median(est),
            "eta_within_15": sum(e <= 0.15 for e in etas), "eta_points": len(etas),
            "eta_median_abs": statistics.median(etas) if etas else math.nan}


def markdown(res: dict) -> str:
    s = res["summary"]
    head = (f"{s['settings']} settings: spent/budget {fmt(s['spent_min'])}-{fmt(s['spent_max'])} "
            f"({s['spent_within']} within [0.9, 1.02]); planned wall time within 15% of the simulated makespan "
            f"in {s['estimate_within_15']} (median |error| {fmt(s['estimate_median_abs'])}); ETA within 15% "
            f"at {s['eta_within_15']} of {s['eta_points']} marks (median |error| {fmt(s['eta_median_abs'])}).")
    rows = [[r["alg"], r["workers"], r["ratio"], r["startup_share"], r["speed"], r["trials"],
             fmt(r["spent_over_budget"]), fmt(r["estimate_error"], 2),
             *(fmt(r[f"eta_error_{m}"], 2) for m in (25, 50, 75))] for r in res["rows"]]
    return head + "\n\n" + table(["alg", "workers", "ratio", "start-up share", "epoch times", "trials",
                                  "spent / budget", "estimate error", "ETA error 25%", "50%", "75%"], rows)


if __name__ == "__main__":
    import sys

    result = run("--quick" in sys.argv)
    print(markdown(result))
    print(f"\n{result['wall_seconds']:.0f} s")
