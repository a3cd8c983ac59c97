"""Part 4: many workers, in simulated time.

An event loop replays a study on W simulated workers without sleeping: a
priority queue of (time, worker) events; each epoch of a trial lasts
``problem.epoch_seconds(params)`` simulated seconds and ends with a report.
The engine runs for real (``engine.next_sample`` / ``engine.report`` on an
in-memory Storage), and the scheduler is modelled as what it is, one serial
server (every decision holds the study's lock): each call occupies it for the
call's measured CPU time (``time.thread_time``: what the call costs, not how
long other processes on a shared machine delayed it), and a worker whose
call arrives while it is busy waits. A worker that gets no new trial stays
idle until the end (with backfill, None means the plan's trials are all
finished or in their last epoch).

Reported per worker count (the same budget ``expected_time_ratio``, so Auto
Config plans more trials for more workers):

* utilisation = busy worker-seconds / (W x makespan), over the whole run
  (makespan: until the last trial, backfill ones included, ends), and over
  the saturated phase (until the plan's num_trials are handed out; after
  that the run drains: the last trials finish, and without backfill the
  other workers idle);
* backfill trials: ASHA's extra, shorter trials handed out during the drain
  (``backfill=True``, the default; ``--parts workers`` runs both settings);
* scheduler load = seconds the serial server was busy / makespan;
* time-to-target: simulated time until the incumbent's regret <= the regret
  of the top 0.2% of random configs (stricter than part 2's 2%: hundreds of
  workers sample that many configs in their first round). The incumbent is
  the trial hpopt.best's rule would recommend then: the best completed
  full-length training once one exists (so a backfill trial only counts
  while no trial has completed), as ``Incumbent`` keeps it;
* final regret: of the trial ``hpopt.best.best_trial`` recommends at the end.
"""
from __future__ import annotations

import heapq
import math
import statistics
import time

import numpy as np

from benchmarks.common import fmt, fmt_mi, med_iqr, pool_map, quiet, table
from benchmarks.memstore import MemoryStorage
from hpopt import engine
from hpopt.best import best_trial
from hpopt.settings import make_settings
from hpopt.snapshot import Meta
from hpopt.status import Status

WORKERS = (1, 8, 64, 256)
BUDGET_RATIO = 2.0   # expected_time_ratio: one full training's worth of wall time for the search
QUICK_BUDGET_RATIO = 1.5
_PROBLEM: dict = {}   # the problem, its target and the budget of this run (set by run(), read by forked jobs)
TARGET_TOP = 0.002


def new_study(problem, workers: int, seed: int, **kwargs) -> MemoryStorage:
    """An ASHA study in memory (create() arguments in ``kwargs`` override the defaults)."""
    args = dict(search_space=problem.space(), full_dataset_size=10_000, num_full_iterations=problem.max_epochs,
                search_alg="asha", mode=problem.mode, seed=seed, num_workers=workers, subset_ratio=1.0,
                non_pure_train_ratio=0.0, expected_time_ratio=BUDGET_RATIO, save_path="unused")
    args.update(kwargs)
    storage = MemoryStorage()
    with quiet():
        settings = make_settings(args)
        storage.save_meta(Meta.new(settings).to_dict())
    return storage


def simulate(problem, storage: MemoryStorage, workers: int, seed: int, target: float = -math.inf,
             epoch_seconds=None) -> dict:
    """Runs the study in ``storage`` to its end on ``workers`` simulated workers;
    ``epoch_seconds`` (a number) replaces the problem's durations."""
    events = [(0.0, w, w, None) for w in range(workers)]   # (time, seq, worker, running trial or None)
    heapq.heapify(events)
    seq = workers
    server_free = server_busy = 0.0
    calls, busy, drain_from = 0, [], None
    plan = _plan(storage)
    incumbent = Incumbent(plan.max_iterations)
    params: dict[int, dict] = {}
    runs: dict[int, list] = {}    # trial -> [start time, end time or None, epochs so far]
    spent, time_to_target, end = 0, math.inf, 0.0

    def serve(now, fn):
        nonlocal server_free, server_busy, calls
        t0 = time.thread_time()
        result = fn()
        d = time.thread_time() - t0
        server_free = max(now, server_free) + d
        server_busy += d
        calls += 1
        return result, server_free

    while events:
        now, _, w, run = heapq.heappop(events)
        if run is None:   # the worker asks for a trial
            config, now = serve(now, lambda w=w: engine.next_sample(storage, f"w{w}"))
            # the plan as stored now: ASHA's budget guard may have ended it early
            planned_now = storage.load_meta()["plan"]["num_trials"]
            if drain_from is None and (config is None or config["trial_id"] >= planned_now):
                drain_from = now   # the planned trials are all handed out
            if config is None:
                end = max(end, now)
                continue
            tid = config["trial_id"]
            params[tid] = config["params"]
            seconds = epoch_seconds or problem.epoch_seconds(config["params"])
            run = {"config": config, "epoch": 1, "seconds": seconds,
                   "ys": problem.curve(config["params"], np.random.default_rng([seed, tid]), config["iterations"])}
            runs[tid] = [now, None, 0]
        else:             # the worker finished an epoch: report it
            config, epoch = run["config"], run["epoch"]
            tid = config["trial_id"]
            score = float(run["ys"][epoch - 1])
            status, now = serve(now, lambda tid=tid, score=score, epoch=epoch, config=config: engine.report(
                storage, tid, score, epoch, attempt=config["attempt"]))
            spent += 1
            runs[tid][2] = epoch
            changed = incumbent.update(tid, problem.better * score)
            if epoch >= config["iterations"]:
                changed = incumbent.complete(tid, config["iterations"]) or changed
            if changed and math.isinf(time_to_target):
                if problem.regret(params[incumbent.trial]) <= target + 1e-12:
                    time_to_target = now
            if status == Status.STOP or epoch >= config["iterations"]:
                runs[tid][1] = now
                seq += 1
                heapq.heappush(events, (now, seq, w, None))
                continue
            run["epoch"] += 1
        busy.append((now, now + run["seconds"]))
        seq += 1
        heapq.heappush(events, (now + run["seconds"], seq, w, run))
    makespan = end
    drain_from = drain_from or makespan
    first_plan, plan = plan, _plan(storage)   # the stored plan's num_trials, after any budget cut
    backfill_epochs = sum(r[2] for tid, r in runs.items() if tid >= plan.num_trials)
    plan_end = max((r[1] for tid, r in runs.items() if tid < plan.num_trials and r[1] is not None), default=makespan)
    work = sum(b - a for a, b in busy)
    after_plan = sum(max(0.0, b - max(a, plan_end)) for a, b in busy)
    saturated = sum(max(0.0, min(b, drain_from) - a) for a, b in busy)
    trials = storage.trials()
    best = best_trial(trials, problem.mode, plan.max_iterations)
    return {
        "workers": workers, "trials": len(trials), "epochs": spent, "makespan": makespan,
        "planned_trials": plan.num_trials, "auto_planned_trials": first_plan.num_trials,
        "backfill_trials": max(0, len(trials) - plan.num_trials),
        "backfill_epochs": backfill_epochs, "plan_end": plan_end,
        "idle_share_before_plan_end": (workers * plan_end - (work - after_plan)) / (workers * makespan),
        "idle_share_after_plan_end": (workers * (makespan - plan_end) - after_plan) / (workers * makespan),
        "final_regret": problem.regret(best.params) if best else math.nan,
        "incumbent_agrees": best is not None and best.trial_id == incumbent.trial,
        "utilisation": work / (workers * makespan), "saturated_until": drain_from,
        "utilisation_saturated": saturated / (workers * drain_from) if drain_from else math.nan,
        "scheduler_load": server_busy / makespan, "calls": calls, "ms_per_call": 1000 * server_busy / max(calls, 1),
        "time_to_target": time_to_target,
    }


def _plan(storage: MemoryStorage):
    """The study's plan as stored now."""
    return Meta.from_dict(storage.load_meta()).plan


class _Best:
    """The highest signed score among a set of trials (ties: the earlier trial)."""

    def __init__(self):
        self.trial, self.value = None, -math.inf

    def offer(self, trial: int, signed: float) -> None:
        if signed > self.value or (signed == self.value and trial < self.trial):
            self.trial, self.value = trial, signed


class Incumbent:
    """The trial hpopt.best's rule (``hpopt.best.best_trial``) would recommend
    now, kept incrementally: by final score (the latest report), the best
    among completed trials trained to ``full_iterations`` (the plan's
    max_iterations), else among completed ones (backfill trials are
    shorter), else among every scored trial. A completed trial's final
    score never changes and trials never leave these pools here (no OOM,
    pause or kill in the simulation), so the completed pools keep a running
    maximum; the last pool (only consulted before any trial completed) is
    searched when asked."""

    def __init__(self, full_iterations: int):
        self.full_iterations = full_iterations
        self.last: dict[int, float] = {}
        self.pools = (_Best(), _Best())   # completed full-length, completed
        self.trial = None

    def _changed(self) -> bool:
        trial = next((p.trial for p in self.pools if p.trial is not None), None)
        if trial is None and self.last:
            trial = max(self.last, key=lambda t: (self.last[t], -t))
        changed, self.trial = trial != self.trial, trial
        return changed

    def update(self, trial: int, signed: float) -> bool:
        """Records a trial's latest signed score (higher is better); True when the incumbent changed."""
        self.last[trial] = signed
        return self._changed()

    def complete(self, trial: int, iterations: int) -> bool:
        """The trial trained to its last iteration; True when the incumbent changed."""
        if trial in self.last:
            self.pools[1].offer(trial, self.last[trial])
            if iterations == self.full_iterations:
                self.pools[0].offer(trial, self.last[trial])
        return self._changed()


def _job(job) -> dict:
    workers, seed, backfill = job
    problem = _PROBLEM["p"]
    t0 = time.perf_counter()
    storage = new_study(problem, workers, seed, expected_time_ratio=_PROBLEM["ratio"], backfill=backfill)
    out = simulate(problem, storage, workers, seed, target=_PROBLEM["target"])
    out["seed"], out["backfill"], out["wall_seconds"] = seed, backfill, time.perf_counter() - t0
    return out


def run(quick: bool = False, problems: dict | None = None) -> dict:
    from benchmarks.problems import BraninLC

    _PROBLEM["p"] = (problems or {}).get("branin-lc") or BraninLC()
    _PROBLEM["target"] = _PROBLEM["p"].target_regret(TARGET_TOP)
    seeds = 1 if quick else 2
    _PROBLEM["ratio"] = QUICK_BUDGET_RATIO if quick else BUDGET_RATIO
    workers = WORKERS
    settings = (True,) if quick else (True, False)   # backfill on (the default), and off for comparison
    jobs = sorted([(w, s, b) for w in workers for s in range(seeds) for b in settings], key=lambda j: -j[0])
    t0 = time.perf_counter()
    runs = pool_map(_job, jobs)
    summary = []
    for backfill in settings:
        for w in workers:
            rs = [r for r in runs if r["workers"] == w and r["backfill"] == backfill]
            summary.append({
                "workers": w, "backfill": backfill, "trials": statistics.fmean(r["trials"] for r in rs),
                "planned_trials": statistics.fmean(r["planned_trials"] for r in rs),
                "auto_planned_trials": statistics.fmean(r["auto_planned_trials"] for r in rs),
                "backfill_trials": statistics.fmean(r["backfill_trials"] for r in rs),
                "epochs": statistics.fmean(r["epochs"] for r in rs),
                "makespan_h": med_iqr(r["makespan"] / 3600 for r in rs),
                "utilisation": med_iqr(r["utilisation"] for r in rs),
                "utilisation_saturated": med_iqr(r["utilisation_saturated"] for r in rs),
                "saturated_share": statistics.fmean(r["saturated_until"] / r["makespan"] for r in rs),
                "idle_after_plan_end": statistics.fmean(r["idle_share_after_plan_end"] for r in rs),
                "scheduler_load": max(r["scheduler_load"] for r in rs),
                "ms_per_call": statistics.fmean(r["ms_per_call"] for r in rs),
                "time_to_target_h": med_iqr(r["time_to_target"] / 3600 for r in rs),
                "final_regret": med_iqr(r["final_regret"] for r in rs),
                "wall_seconds": statistics.fmean(r["wall_seconds"] for r in rs),
            })
    return {"problem": _PROBLEM["p"].name, "seeds": seeds, "budget_ratio": _PROBLEM["ratio"], "summary": summary,
            "runs": [{k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in r.items()} for r in runs],
            "wall_seconds": time.perf_counter() - t0}


def markdown(res: dict) -> str:
    rows = [[s["workers"], "on" if s["backfill"] else "off",
             f"{s['planned_trials']:.0f} of {s['auto_planned_trials']:.0f}", f"{s['backfill_trials']:.0f}",
             f"{s['epochs']:.0f}", fmt_mi(s["makespan_h"]),
             f"{100 * s['utilisation']['median']:.1f}%", f"{100 * s['utilisation_saturated']['median']:.2f}%",
             f"{100 * s['saturated_share']:.0f}%", f"{100 * s['idle_after_plan_end']:.1f}%",
             f"{100 * s['scheduler_load']:.3f}%", fmt(s["ms_per_call"]),
             fmt_mi(s["time_to_target_h"]), fmt_mi(s["final_regret"]), f"{s['wall_seconds']:.1f}"]
            for s in res["summary"]]
    head = (f"Problem {res['problem']} (epochs of 1.6-30 simulated s), hpopt ASHA with Auto Config at "
            f"expected_time_ratio {res['budget_ratio']:g} for each worker count, {res['seeds']} seed(s); "
            "medians [IQR] over seeds. 'idle after the plan' is the share of W x makespan that workers "
            "idled after the plan's last trial ended (backfill trials finishing their epoch). 'planned "
            "trials': the plan's trials after ASHA's budget guard, of those Auto Config planned.\n")
    return head + table(["workers", "backfill", "planned trials", "backfill trials", "epochs", "makespan h",
                         "utilisation (whole run)", "utilisation (saturated phase)", "saturated share of makespan",
                         "idle after the plan", "scheduler load (max)", "ms per engine call", "time-to-target h",
                         "final regret", "wall s/run"], rows)


if __name__ == "__main__":
    import sys

    res = run("--quick" in sys.argv)
    print(markdown(res))
    print(f"\n{res['wall_seconds']:.0f} s")
