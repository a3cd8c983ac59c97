"""Part 6: database throughput with many worker processes.

N forked worker processes share one ASHA study on the dashboard's database
(SQLite or PostgreSQL, through DbStorage) and, for a fixed time, do what a
trainer does as fast as they can: take a trial (``engine.next_sample``) and
report epoch after epoch (``hpopt.report``) until told to stop. Each worker
keeps every (trial, iteration, score) it reported and the latency of each
call. Afterwards the stored scores are compared with the reported ones: every
report must be stored exactly once (none lost, none duplicated, none extra),
and no trial may have been handed to two workers.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import tempfile
import time

import numpy as np

import hpopt
from benchmarks.common import fmt, latency_stats, quiet, table
from benchmarks.djangodb import part_main

WORKERS = (1, 4, 8)
QUICK_WORKERS = (4,)
SECONDS, QUICK_SECONDS = 4.0, 2.0
SPACE = {"lr": hpopt.search_space("loguniform", [1e-5, 1e-1]),
         "width": hpopt.search_space("qloguniform", [16, 512, 16])}


def _worker(study_id: int, seconds: float, index: int, out_path: str) -> None:
    from django.db import connections

    from hpopt import engine
    from studies.storage import DbStorage

    connections.close_all()   # a forked process must not share its parent's connection
    storage = DbStorage(study_id)
    rng = np.random.default_rng(index)
    reports, report_s, sample_s = [], [], []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        config = engine.next_sample(storage, f"worker-{index}")
        sample_s.append(time.perf_counter() - t0)
        if config is None:
            break
        for epoch in range(1, config["iterations"] + 1):
            score = float(rng.random())
            t0 = time.perf_counter()
            status = hpopt.report(config=config, score=score)
            report_s.append(time.perf_counter() - t0)
            reports.append((config["trial_id"], epoch, score))
            if status == hpopt.Status.STOP or time.perf_counter() >= deadline:
                break
    connections.close_all()
    with open(out_path, "w") as f:
        json.dump({"reports": reports, "report_s": report_s, "sample_s": sample_s}, f)


def measure(workers: int, seconds: float) -> dict:
    from django.db import connections

    from benchmarks import djangodb
    from studies.models import Score, Trial

    kw = dict(search_space=hpopt.SearchSpace(SPACE).to_spec(), full_dataset_size=10_000, num_full_iterations=50,
              search_alg="asha", num_trials=100_000, subset_ratio=1.0, expected_time_ratio=4.0, seed=0)
    with quiet():
        study = djangodb.create_study(kw, name=f"throughput {workers}")
    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory() as tmp:
        paths = [os.path.join(tmp, f"{i}.json") for i in range(workers)]
        procs = [ctx.Process(target=_worker, args=(study.pk, seconds, i, paths[i])) for i in range(workers)]
        t0 = time.perf_counter()
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        elapsed = time.perf_counter() - t0
        if any(p.exitcode != 0 for p in procs):
            raise RuntimeError(f"a worker failed: exit codes {[p.exitcode for p in procs]}")
        parts = [json.load(open(p)) for p in paths]
    reported = [tuple(r) for part in parts for r in part["reports"]]
    stored = list(Score.objects.filter(study_id=study.pk).values_list("trial__number", "iteration", "value"))
    owners = {}
    for i, part in enumerate(parts):
        for number in {r[0] for r in part["reports"]}:
            owners.setdefault(number, set()).add(i)
    rep_keys = [(t, i) for t, i, _ in reported]
    return {
        "workers": workers, "seconds": elapsed, "reports": len(reported),
        "reports_per_s": len(reported) / elapsed, "report": latency_stats([s for p in parts for s in p["report_s"]]),
        "sample": latency_stats([s for p in parts for s in p["sample_s"]]),
        "trials": Trial.objects.filter(study_id=study.pk).count(),
        "lost": len(set(reported) - set(stored)), "extra": len(set(stored) - set(reported)),
        "duplicated_reports": len(rep_keys) - len(set(rep_keys)), "stored_rows": len(stored),
        "trials_on_two_workers": sum(len(v) > 1 for v in owners.values()),
        "ok": set(reported) == set(stored) and len(stored) == len(reported) == len(set(rep_keys))
        and all(len(v) == 1 for v in owners.values()),
    }


def db_child(quick: bool) -> dict:
    from benchmarks import djangodb

    djangodb.setup()
    return {str(w): measure(w, QUICK_SECONDS if quick else SECONDS) for w in (QUICK_WORKERS if quick else WORKERS)}


def run(quick: bool = False) -> dict:
    from benchmarks import djangodb

    t0 = time.perf_counter()
    res = {}
    with djangodb.databases() as urls:
        for kind, url in urls.items():
            res[kind] = djangodb.child("throughput", url, ["--quick"] if quick else [])
    res["wall_seconds"] = time.perf_counter() - t0
    return res


def markdown(res: dict) -> str:
    rows = []
    for kind in ("sqlite", "postgres"):
        for w, r in (res.get(kind) or {}).items():
            rows.append([kind, w, f"{r['reports_per_s']:.0f}", fmt(r["report"]["p50_ms"]), fmt(r["report"]["p99_ms"]),
                         fmt(r["sample"]["p50_ms"]), fmt(r["sample"]["p99_ms"]), r["reports"], r["trials"],
                         f"{r['lost']} / {r['duplicated_reports']} / {r['extra']}", "yes" if r["ok"] else "NO"])
    return table(["database", "worker processes", "reports/s", "report p50 ms", "report p99 ms", "next sample p50 ms",
                  "p99 ms", "reports", "trials", "lost / duplicated / extra", "all stored once"], rows, "lrrrrrrrrrl")


def main() -> None:
    part_main(lambda url, quick: db_child(quick), run, markdown)


if __name__ == "__main__":
    main()
