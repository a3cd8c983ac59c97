"""Part 3: overhead of the scheduler's two calls, get_next_sample and report.

For ASHA and bayes_opt, at 10, 100 and 1,000 trials already in the study,
p50 and p99 of

* ``get_next_sample``: ``HPO.get_next_sample()`` on file storage (it also ends
  the trial handed out before); ``engine.next_sample(storage, owner)`` on the
  database (the dashboard's two steps, in one lock: ``engine.propose``, as
  ``studies.control.fill_slots`` does, and ``engine.start``, as a worker's
  job does);
* ``report``: ``hpopt.report(config, score)`` on a running trial (one that
  keeps ranking first, so that every report passes its rungs and continues).

Backends: the standalone library's FileStorage (a temporary save_path), and
the dashboard's DbStorage on SQLite and on PostgreSQL (Django on a temporary
database, migrated, the study created as the web form creates it). In the
same child process, on the same database, Optuna's RDB storage:
``study.ask()`` and ``trial.report() + trial.should_prune()`` with TPE and
SuccessiveHalvingPruner, at the same trial counts.

The studies are filled to each size through the Storage interface with
trials that look like finished ones (ASHA: stopped at rungs with scores up
to there, rung records; bayes_opt: 20 scores each).
"""
from __future__ import annotations

import tempfile
import time

import numpy as np

import hpopt
from benchmarks.common import fmt, latency_stats, quiet, table
from benchmarks.djangodb import part_main
from hpopt import engine
from hpopt.snapshot import Meta
from hpopt.status import TrialState
from hpopt.storage.base import TrialRecord

SIZES = (10, 100, 1000)
QUICK_SIZES = (10, 100)
N_FULL = 200          # epochs of a trial: the measured trial never completes
SPACE = {
    "lr": hpopt.search_space("loguniform", [1e-5, 1e-1]),
    "width": hpopt.search_space("qloguniform", [16, 512, 16]),
    "dropout": hpopt.search_space("uniform", [0.0, 0.5]),
    "act": hpopt.search_space("choice", ["relu", "gelu", "tanh"]),
}
REPS = {"report": 60, "sample asha": 25, "sample bayes_opt": 8, "optuna report": 60, "optuna ask": 15}
QUICK_REPS = {"report": 15, "sample asha": 5, "sample bayes_opt": 3, "optuna report": 15, "optuna ask": 4}


def study_kwargs(alg: str) -> dict:
    return dict(search_space=SPACE, full_dataset_size=10_000, num_full_iterations=N_FULL, search_alg=alg,
                num_trials=5_000, max_iterations=N_FULL, subset_ratio=1.0, expected_time_ratio=4.0,
                seed=0, mode="max")


def populate(storage, alg: str, plan, upto: int, rng) -> None:
    """Adds finished-looking trials until the study holds ``upto``."""
    space = hpopt.SearchSpace(SPACE)
    with storage.locked():
        for _ in range(upto - len(storage.trials())):
            params = space.sample(rng)
            rec = TrialRecord(trial_id=-1, params=params, iterations=N_FULL, subset_ratio=1.0)
            if alg == "asha":
                rungs = list(plan.brackets[0])
                passed = min(int(rng.geometric(0.5)), len(rungs))   # a fraction 1/2 survives each rung
                last = rungs[passed - 1]
                rec.bracket, rec.state = 0, TrialState.STOPPED
                scores = np.sort(rng.random(last))
                rec.rungs = {m: float(scores[m - 1]) for m in rungs[:passed]}
            else:
                last, rec.state = 20, TrialState.COMPLETED
                scores = np.sort(rng.random(last))
            rec.last_iteration, rec.best_score = last, float(scores[-1])
            rec = storage.add_trial(rec)
            for i, v in enumerate(scores, 1):
                storage.add_score(rec.trial_id, i, float(v))


def timed(fn, reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def measure_hpopt(storage, alg: str, sizes, reps, sample, rng) -> dict:
    """{size: {"sample": stats, "report": stats}} on one study, grown size by size."""
    with storage.locked() as raw:
        plan = Meta.from_dict(raw).plan
    out = {}
    for n in sizes:
        populate(storage, alg, plan, n, rng)
        sample_times = []
        for _ in range(reps[f"sample {alg}"] + 1):   # the first call warms imports and caches
            t0 = time.perf_counter()
            config = sample()
            sample_times.append(time.perf_counter() - t0)
            hpopt.report(config=config, score=0.0)   # scored, so that it ends completed
        config = sample()
        step = iter(range(1, 10**6))
        report_times = timed(lambda config=config, step=step: hpopt.report(config=config, score=1e6 + next(step)),
                             reps["report"])
        assert hpopt.report(config=config, score=2e6) == hpopt.Status.RUNNING
        out[n] = {"sample": latency_stats(sample_times[1:]), "report": latency_stats(report_times)}
    return out


def file_backend(quick: bool) -> dict:
    sizes, reps = (QUICK_SIZES, QUICK_REPS) if quick else (SIZES, REPS)
    out = {}
    for alg in ("asha", "bayes_opt"):
        with tempfile.TemporaryDirectory(prefix="hpopt-bench-") as tmp, quiet():
            hpo = hpopt.create(save_path=tmp, **study_kwargs(alg))
            out[alg] = measure_hpopt(hpo.storage, alg, sizes, reps, hpo.get_next_sample, np.random.default_rng(0))
    return out


# -- inside the database child -------------------------------------------------------------------
def db_backend(url: str, quick: bool) -> dict:
    from benchmarks import djangodb

    djangodb.setup()
    from studies.storage import DbStorage

    sizes, reps = (QUICK_SIZES, QUICK_REPS) if quick else (SIZES, REPS)
    out = {}
    for alg in ("asha", "bayes_opt"):
        kw = study_kwargs(alg)
        kw["search_space"] = hpopt.SearchSpace(kw["search_space"]).to_spec()
        with quiet():
            study = djangodb.create_study(kw, name=f"overhead {alg}")
            storage = DbStorage(study.pk)
            out[alg] = measure_hpopt(storage, alg, sizes, reps,
                                     lambda storage=storage: engine.next_sample(storage, "bench"),
                                     np.random.default_rng(0))
        out[alg]["queries_per_report"] = queries_per_report(storage)
    out["optuna"] = optuna_rdb(optuna_url(url), sizes, reps)
    return out


def queries_per_report(storage) -> int:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    config = engine.next_sample(storage, "bench")
    hpopt.report(config=config, score=1e9)
    reset_queries()   # DEBUG keeps the last 9,000 queries; a full log would count none
    with CaptureQueriesContext(connection) as ctx:
        hpopt.report(config=config, score=1e9 + 1)
    return len(ctx.captured_queries)


def optuna_url(url: str) -> str:
    if url.startswith("sqlite:"):
        return url
    return url.replace("postgres://", "postgresql+psycopg://", 1)


def optuna_rdb(url: str, sizes, reps) -> dict:
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(url)
    study = optuna.create_study(storage=storage, study_name="overhead", direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=0),
                                pruner=optuna.pruners.SuccessiveHalvingPruner())
    dists = {"lr": FloatDistribution(1e-5, 1e-1, log=True), "width": IntDistribution(16, 512, step=16),
             "dropout": FloatDistribution(0.0, 0.5), "act": CategoricalDistribution(["relu", "gelu", "tanh"])}
    rng = np.random.default_rng(0)
    out = {}
    for n in sizes:
        batch = []
        for _ in range(n - len(study.trials)):
            last = 2 ** min(int(rng.geometric(0.5)) - 1, 7)
            values = np.sort(rng.random(last))
            params = {"lr": float(10 ** rng.uniform(-5, -1)), "width": int(16 * rng.integers(1, 33)),
                      "dropout": float(rng.uniform(0, 0.5)), "act": str(rng.choice(["relu", "gelu", "tanh"]))}
            state = optuna.trial.TrialState.PRUNED if last < 128 else optuna.trial.TrialState.COMPLETE
            batch.append(optuna.trial.create_trial(
                params=params, distributions=dists, state=state,
                value=float(values[-1]) if state == optuna.trial.TrialState.COMPLETE else None,
                intermediate_values={i + 1: float(v) for i, v in enumerate(values)}))
        study.add_trials(batch)

        def ask():
            t = study.ask(dists)
            study.tell(t, state=optuna.trial.TrialState.PRUNED)
        ask_times = timed(ask, reps["optuna ask"])
        trial = study.ask(dists)
        step = iter(range(1, 10**6))

        def report(trial=trial, step=step):
            s = next(step)
            trial.report(1e6 + s, s)
            assert not trial.should_prune()
        report_times = timed(report, reps["optuna report"])
        study.tell(trial, 2e6)
        out[n] = {"sample": latency_stats(ask_times), "report": latency_stats(report_times)}
    return out


# -- the part ---------------------------------------------------------------------------------------
def run(quick: bool = False) -> dict:
    from benchmarks import djangodb

    t0 = time.perf_counter()
    res = {"file": file_backend(quick)}
    with djangodb.databases() as urls:
        for kind, url in urls.items():
            res[kind] = djangodb.child("overhead", url, ["--quick"] if quick else [])
    res["wall_seconds"] = time.perf_counter() - t0
    res["sizes"] = list(QUICK_SIZES if quick else SIZES)
    return res


def markdown(res: dict) -> str:
    rows = []
    for backend in ("file", "sqlite", "postgres"):
        if backend not in res:
            continue
        for alg in ("asha", "bayes_opt", "optuna"):
            per = res[backend].get(alg)
            if not per:
                continue
            name = "Optuna RDB (TPE+SHA)" if alg == "optuna" else f"hpopt {alg}"
            for n in res["sizes"]:
                s = per[str(n)] if str(n) in per else per[n]
                rows.append([backend, name, n, fmt(s["sample"]["p50_ms"]), fmt(s["sample"]["p99_ms"]),
                             fmt(s["report"]["p50_ms"]), fmt(s["report"]["p99_ms"]), s["report"]["n"]])
    out = [table(["backend", "method", "trials", "next sample p50 ms", "p99 ms", "report p50 ms", "p99 ms",
                  "reports timed"], rows, "llrrrrrr")]
    for backend in ("sqlite", "postgres"):
        if backend in res:
            q = {alg: res[backend][alg].get("queries_per_report") for alg in ("asha", "bayes_opt")}
            out.append(f"\nSQL statements per report on {backend}: ASHA {q['asha']}, bayes_opt {q['bayes_opt']}.")
    out.append("\nOptuna rows: `next sample` = `study.ask()`, `report` = `trial.report()` + `trial.should_prune()`.")
    return "\n".join(out)


def main() -> None:
    part_main(db_backend, run, markdown)


if __name__ == "__main__":
    main()
