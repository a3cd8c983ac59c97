"""Part 7 (real half): the time model, the preview and the ETA on real runs.

Real dashboard workers (``manage.py hpopt_worker``, RQ on Redis, a fresh
SQLite database) run real studies of two trainers:

* ``digits``, the demo trainer (hpopt_web.demo's study, scikit-learn, CPU
  bound: eight workers share two cores);
* ``startup`` (benchmarks.trainers): 2 s of start-up, then uneven epochs.

For each trainer a first study runs with the trainer's own estimate (as a
new user's first study does); then one study per worker count (1, 2, 8,
the study's ``parallelism``) is made as the New-study form makes it: the
form's time model is the trainer's measured one (studies.timing.for_new_study,
from every earlier study), the preview is studies.timing.preview (the
endpoint's own function). While it runs, the study page's figures
(studies.progress.summary, what GET /api/studies/<id> serves) are polled
every 0.25 s. Reported per study:

* estimate error: the preview's wall time over the actual one (the study's
  start to its last trial's end), minus 1; target within 15%;
* ETA error at 25, 50 and 75% progress: the page's ETA at the first poll at
  or past the mark, over the time that was actually left, minus 1;
* spent / budget (hpopt.budget's compute over what the budget buys).

    python -m benchmarks.time_real [--quick]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time

from benchmarks import djangodb
from benchmarks.common import fmt, table

WORKERS = (1, 2, 8)
QUICK_WORKERS = (1, 2)
MARKS = (0.25, 0.5, 0.75)
POLL_SECONDS = 0.25
#: the start-up trainer's studies (the demo trainer's is hpopt_web.demo.DEMO_STUDY)
STARTUP_STUDY = {"trainer": "startup", "search_alg": "asha"}
#: each study's wall-clock budget, as the form takes it (the first study's is shorter: it plans
#: with the trainer's own estimate and may take longer)
BUDGET, QUICK_BUDGET, FIRST_BUDGET = "45s", "20s", "15s"


def run(quick: bool = False) -> dict:
    with djangodb.databases(("sqlite",)) as urls:
        return djangodb.child("time_real", urls["sqlite"], ["--quick"] if quick else [], timeout=3600)


# -- inside the child ---------------------------------------------------------------------
def _start_workers(count: int) -> list[subprocess.Popen]:
    from runner.models import Worker
    from runner.threads import VARIABLES

    # as a user's workers run: no thread settings (benchmarks/__init__ set them for its own
    # processes), so each trial gets runner.threads' share
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    env.update(HPOPT_TRAINERS="examples.digits,benchmarks.trainers", CUDA_VISIBLE_DEVICES="")
    procs = [subprocess.Popen([sys.executable, str(djangodb.REPO / "manage.py"), "hpopt_worker",
                               "--name", f"bench-{i}"], cwd=djangodb.REPO, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True) for i in range(count)]
    deadline = time.time() + 120
    while Worker.objects.filter(name__startswith="bench-").count() < count:
        if time.time() > deadline or any(p.poll() is not None for p in procs):
            raise RuntimeError("the benchmark's workers did not start")
        time.sleep(0.5)
    time.sleep(2)   # registered in the database first, then listening on Redis
    return procs


def _stop_workers(procs) -> None:
    from hpopt_web.cli import descendants

    for p in procs:
        for pid in [p.pid, *descendants(p.pid)]:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        p.wait(10)


def _study_data(trainer: str, workers: int, model, budget: str) -> dict:
    from benchmarks import trainers
    from hpopt_web.demo import DEMO_STUDY

    base = DEMO_STUDY if trainer == "digits" else {
        **STARTUP_STUDY, "search_space": trainers.SPACE, "full_dataset_size": trainers.FULL_DATASET_SIZE,
        "num_full_iterations": trainers.NUM_FULL_ITERATIONS, "non_pure_train_ratio": trainers.NON_PURE_TRAIN_RATIO}
    return {**base, "name": f"{trainer} x{workers}", "parallelism": workers, "budget": budget,
            "seconds_per_epoch": model.seconds_per_epoch, "startup_seconds": model.startup_seconds}


def _run_study(user, trainer: str, workers: int, budget: str) -> dict:
    from django.db.models import Max

    from runner.models import Trainer
    from studies import control, dispatch, progress, timing
    from studies.models import Study
    from studies.validation import validate_study

    model = timing.for_new_study(Study.objects.all(), trainer, Trainer.objects.get(name=trainer).defaults)
    names = {t.name for t in Trainer.objects.all()}
    data = _study_data(trainer, workers, model, budget)
    cleaned, errors = validate_study(data, names, dispatch.capacity_for(data))
    if errors:
        raise RuntimeError(f"invalid study: {errors}")
    preview = timing.preview(cleaned)
    study = control.create(user, cleaned)
    control.start(study)
    polls = []
    while True:
        study.refresh_from_db()
        page = progress.summary(study)
        if study.state != "running":
            break
        polls.append((time.time(), page["progress"], page["eta_seconds"]))
        time.sleep(POLL_SECONDS)
    started = study.started.timestamp()
    actual = study.trials.aggregate(t=Max("finished"))["t"].timestamp() - started
    out = {"trainer": trainer, "workers": workers, "state": study.state, "model_source": model.source,
           "model_seconds_per_epoch": model.seconds_per_epoch, "model_startup_seconds": model.startup_seconds,
           "planned_workers": preview["planned_workers"],
           "trials": study.trials.count(), "preview_seconds": preview["wall_seconds"], "actual_seconds": actual,
           "budget_seconds": preview["budget_seconds"],
           "estimate_error": preview["wall_seconds"] / actual - 1,
           "spent_over_budget": page["budget"]["spent"] / page["budget"]["total"],
           "study_model": timing.of_study(study).to_dict()}
    for m in MARKS:
        at = next(((t, eta) for t, p, eta in polls if p >= m and eta is not None), None)
        left = actual - (at[0] - started) if at else math.nan
        out[f"eta_error_{int(m * 100)}"] = at[1] / left - 1 if at and left > 0 else math.nan
    return out


def measure(quick: bool) -> dict:
    import redis
    from django.contrib.auth import get_user_model

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    user = get_user_model().objects.create_user("bench")
    counts = QUICK_WORKERS if quick else WORKERS
    procs = _start_workers(max(counts))
    rows, started = [], time.time()
    try:
        for trainer in ("digits", "startup"):
            first = _run_study(user, trainer, 2, FIRST_BUDGET)    # a first study: the trainer's own estimate
            rows.append({**first, "first": True})
            for n in counts:
                rows.append(_run_study(user, trainer, n, QUICK_BUDGET if quick else BUDGET))
    finally:
        _stop_workers(procs)
    return {"rows": rows, "wall_seconds": time.time() - started}


# -- the report ------------------------------------------------------------------------------
def summarize(rows: list[dict]) -> dict:
    timed = [r for r in rows if not r.get("first")]
    est = [abs(r["estimate_error"]) for r in timed]
    etas = [abs(r[f"eta_error_{m}"]) for r in timed for m in (25, 50, 75)
            if not math.isnan(r[f"eta_error_{m}"])]
    spent = [r["spent_over_budget"] for r in rows]
    return {"studies": len(timed), "estimate_within_15": sum(e <= 0.15 for e in est),
            "eta_within_15": sum(e <= 0.15 for e in etas), "eta_points": len(etas),
            "spent_max": max(spent), "spent_min": min(spent)}


def _workers(r: dict) -> str:
    """The study's workers, and those its plan counted at full speed when fewer (runner.capacity)."""
    planned = r.get("planned_workers", r["workers"])
    return f"{r['workers']} (planned {planned})" if planned != r["workers"] else str(r["workers"])


def markdown(res: dict) -> str:
    s = summarize(res["rows"])
    head = (f"{s['studies']} studies after the first: preview within 15% of the actual wall time in "
            f"{s['estimate_within_15']}; ETA within 15% at {s['eta_within_15']} of {s['eta_points']} marks; "
            f"spent/budget {fmt(s['spent_min'])}-{fmt(s['spent_max'])}.")
    rows = [[r["trainer"] + (" (first)" if r.get("first") else ""),
             _workers(r),
             f"{fmt(r['model_seconds_per_epoch'], 3)} s + {fmt(r['model_startup_seconds'], 2)} s ({r['model_source']})",
             r["trials"], f"{r['budget_seconds']:.1f}", f"{r['preview_seconds']:.1f}", f"{r['actual_seconds']:.1f}",
             fmt(r["estimate_error"], 2),
             *(fmt(r[f"eta_error_{m}"], 2) for m in (25, 50, 75)), fmt(r["spent_over_budget"])]
            for r in res["rows"]]
    return head + "\n\n" + table(["trainer", "workers", "form's model: epoch + start-up", "trials", "budget s",
                                  "preview s", "actual s", "estimate error", "ETA error 25%", "50%", "75%",
                                  "spent / budget"], rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    djangodb.setup()
    res = measure(args.quick)
    print(markdown(res), file=sys.stderr)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
