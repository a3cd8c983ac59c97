"""Issue 13.1: the library's file storage, from 10 to 10,000 trials.

The guide's loop (``hpo.get_next_sample()``, then ``hpopt.report()`` each
epoch until STOP) on one ``save_path``, with a trivial objective, run until
the study holds 10,000 ASHA trials (500 for bayes_opt). At each mark (10,
100, 1,000, 10,000 trials; 10, 100, 500 for bayes_opt) the next
``min(mark, 50)`` hand-outs and their reports are timed:

* ``get_next_sample`` p50, and how much of it the algorithm's suggestion
  took (``Algorithm.next_trial``: TPE for ASHA, the GP for bayes_opt) and
  the rest (the lock, reading the journal, the engine's bookkeeping, the
  write);
* ``report`` p50 (every report, the ones at a rung included);
* ``get_next_sample`` p50 in CPU seconds of the process (``time.process_time``),
  less sensitive than the wall clock to other processes on a shared machine.

The ASHA loop runs twice: as it runs by default (each record handed to the
operating system, not flushed to the disk), and with ``HPOPT_FSYNC=1`` (each
record ``fdatasync``-ed, as Optuna's journal does). In the same run, Optuna's
JournalFileStorage (``JournalFileBackend``: one
line appended per change, as hpopt's journal) with RandomSampler, so that
only the storage is timed: ``trial.report()`` and ``study.tell()`` p50 at
the same marks.

    python -m benchmarks.storage_speed            # about 3 min on 2 cores
    python -m benchmarks.storage_speed --quick    # up to 1,000 / 100 trials
    python -m benchmarks.storage_speed --only bayes_opt   # one of the loops
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
import warnings

from benchmarks.common import fmt, pct, table

ASHA_MARKS, BO_MARKS = (10, 100, 1_000, 10_000), (10, 100, 500)
QUICK_ASHA_MARKS, QUICK_BO_MARKS = (10, 100, 1_000), (10, 100)
#: hand-outs timed at each mark (fewer at a small mark: they would pass the next one)
WINDOW = 50
EPOCHS = 9
SPACE = {"lr": {"type": "loguniform", "range": [1e-4, 1e-1]}, "bs": {"type": "qloguniform", "range": [8, 256, 8]}}


def objective(params: dict, epoch: int) -> float:
    """A learning curve peaking at lr = 1e-2; deterministic, costs nothing."""
    quality = 1.0 - (math.log10(params["lr"]) + 2.0) ** 2 / 9.0 - abs(params["bs"] - 64) / 1e4
    return quality * (1.0 - 0.5 ** epoch)


class SuggestTimer:
    """Sums the seconds spent in ``cls.next_trial`` (the algorithm's suggestion)."""

    def __init__(self, cls):
        self.cls, self.inner, self.seconds = cls, cls.next_trial, 0.0

    def __enter__(self):
        inner, timer = self.inner, self

        def timed(algorithm, snap, *args, **kwargs):
            t0 = time.perf_counter()
            try:
                return inner(algorithm, snap, *args, **kwargs)
            finally:
                timer.seconds += time.perf_counter() - t0

        self.cls.next_trial = timed
        return self

    def __exit__(self, *exc):
        self.cls.next_trial = self.inner


def windows(marks) -> list[tuple[int, int]]:
    return [(m, m + min(m, WINDOW)) for m in marks]


def hpopt_loop(alg: str, marks) -> dict:
    """The guide's loop until the last mark's window is timed; p50s per mark."""
    import hpopt
    from hpopt import algorithms

    spans = windows(marks)
    last = spans[-1][1]
    timed = {m: {"sample": [], "sample_cpu": [], "suggest": [], "report": []} for m, _ in spans}
    with tempfile.TemporaryDirectory(prefix="hpopt-storage-speed-") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hpo = hpopt.create(search_space=SPACE, full_dataset_size=10_000, num_full_iterations=EPOCHS,
                           search_alg=alg, num_trials=last, max_iterations=EPOCHS if alg == "asha" else 3,
                           subset_ratio=1.0, reduction_factor=3, hard_budget=False, seed=0, save_path=tmp)
        with SuggestTimer(algorithms.ALGORITHM_CLASSES[alg]) as suggest:
            while True:
                before, t0, c0 = suggest.seconds, time.perf_counter(), time.process_time()
                config = hpo.get_next_sample()
                took, took_cpu = time.perf_counter() - t0, time.process_time() - c0
                if config is None or config["trial_id"] >= last:
                    break
                mark = next((m for m, end in spans if m <= config["trial_id"] < end), None)
                if mark is not None:
                    timed[mark]["sample"].append(took)
                    timed[mark]["sample_cpu"].append(took_cpu)
                    timed[mark]["suggest"].append(suggest.seconds - before)
                for epoch in range(1, config["iterations"] + 1):
                    t0 = time.perf_counter()
                    status = hpopt.report(config, objective(config["params"], epoch))
                    if mark is not None:
                        timed[mark]["report"].append(time.perf_counter() - t0)
                    if status is hpopt.Status.STOP:
                        break
    return {m: summary(v) for m, v in timed.items()}


def summary(timed: dict) -> dict:
    out = {f"{k}_p50_ms": 1000 * pct(v, 50) for k, v in timed.items() if v}
    if timed.get("sample"):
        out["rest_p50_ms"] = 1000 * pct([s - a for s, a in zip(timed["sample"], timed["suggest"])], 50)
    out["n"] = {k: len(v) for k, v in timed.items()}
    return out


def optuna_journal(marks) -> dict:
    """Optuna's JournalFileStorage with the same loop shape: ask, report each
    epoch (the trial stops after ASHA-like 1, 3 or 9 epochs), tell."""
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spans = windows(marks)
    timed = {m: {"ask": [], "report": [], "tell": []} for m, _ in spans}
    with tempfile.TemporaryDirectory(prefix="optuna-journal-") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        storage = JournalStorage(JournalFileBackend(f"{tmp}/journal.log"))
        study = optuna.create_study(storage=storage, direction="maximize",
                                    sampler=optuna.samplers.RandomSampler(seed=0))
        for number in range(spans[-1][1]):
            mark = next((m for m, end in spans if m <= number < end), None)
            t0 = time.perf_counter()
            trial = study.ask()
            took = time.perf_counter() - t0
            params = {"lr": trial.suggest_float("lr", 1e-4, 1e-1, log=True),
                      "bs": trial.suggest_int("bs", 8, 256, step=8)}
            epochs = (1, 3, 9)[number % 3]
            for epoch in range(1, epochs + 1):
                t1 = time.perf_counter()
                trial.report(objective(params, epoch), epoch)
                if mark is not None:
                    timed[mark]["report"].append(time.perf_counter() - t1)
            t1 = time.perf_counter()
            study.tell(trial, objective(params, epochs))
            if mark is not None:
                timed[mark]["ask"].append(took)
                timed[mark]["tell"].append(time.perf_counter() - t1)
    return {m: summary(v) for m, v in timed.items()}


def with_fsync(fn):
    """``fn()`` with every journal record flushed to the disk (HPOPT_FSYNC=1,
    as Optuna's JournalFileStorage does)."""
    before = os.environ.get("HPOPT_FSYNC")
    os.environ["HPOPT_FSYNC"] = "1"
    try:
        return fn()
    finally:
        if before is None:
            del os.environ["HPOPT_FSYNC"]
        else:
            os.environ["HPOPT_FSYNC"] = before


LOOPS = ("asha", "asha_fsync", "bayes_opt", "optuna_journal")


def run(quick: bool = False, only: tuple[str, ...] = LOOPS) -> dict:
    asha_marks, bo_marks = (QUICK_ASHA_MARKS, QUICK_BO_MARKS) if quick else (ASHA_MARKS, BO_MARKS)
    out, seconds = {}, {}
    for name, fn in (("asha", lambda: hpopt_loop("asha", asha_marks)),
                     ("asha_fsync", lambda: with_fsync(lambda: hpopt_loop("asha", asha_marks))),
                     ("bayes_opt", lambda: hpopt_loop("bayes_opt", bo_marks)),
                     ("optuna_journal", lambda: optuna_journal(asha_marks))):
        if name not in only:
            continue
        t0 = time.perf_counter()
        out[name] = fn()
        seconds[name] = time.perf_counter() - t0
    out["seconds"] = seconds
    return out


def _flat(per_mark: dict, key: str) -> str:
    """max / min of the p50s over the marks."""
    values = [v[key] for v in per_mark.values() if key in v]
    return f"{max(values) / min(values):.2f}x" if values and min(values) > 0 else "-"



def markdown(res: dict) -> str:
    def ms(x):
        return fmt(x, 3)

    rows = []
    for alg in (a for a in ("asha", "asha_fsync", "bayes_opt") if a in res):
        for mark, v in res[alg].items():
            rows.append([alg.replace("_fsync", ", HPOPT_FSYNC=1"), f"{int(mark):,}", ms(v["report_p50_ms"]),
                         ms(v["sample_p50_ms"]), ms(v["suggest_p50_ms"]), ms(v["rest_p50_ms"]),
                         ms(v["sample_cpu_p50_ms"]), v["n"]["sample"], v["n"]["report"]])
        rows.append([f"{alg}: largest / smallest p50", "", _flat(res[alg], "report_p50_ms"),
                     _flat(res[alg], "sample_p50_ms"), _flat(res[alg], "suggest_p50_ms"),
                     _flat(res[alg], "rest_p50_ms"), _flat(res[alg], "sample_cpu_p50_ms"), "", ""])
    hp = table(["hpopt (file journal)", "trials", "report p50 ms", "get_next_sample p50 ms",
                "of which suggestion", "of which the rest", "get_next_sample CPU p50 ms", "hand-outs", "reports"],
               rows, "lrrrrrrrr")
    if "optuna_journal" not in res:
        return f"{hp}\n\nRun time: " + ", ".join(f"{k} {v:.0f} s" for k, v in res["seconds"].items()) + "."
    rows = [[f"{int(mark):,}", ms(v["report_p50_ms"]), ms(v["tell_p50_ms"]), ms(v["ask_p50_ms"])]
            for mark, v in res["optuna_journal"].items()]
    rows.append(["largest / smallest", _flat(res["optuna_journal"], "report_p50_ms"),
                 _flat(res["optuna_journal"], "tell_p50_ms"), _flat(res["optuna_journal"], "ask_p50_ms")])
    op = table(["Optuna JournalFileStorage (RandomSampler)", "report p50 ms", "tell p50 ms", "ask p50 ms"], rows)
    took = ", ".join(f"{k} {v:.0f} s" for k, v in res["seconds"].items())
    return f"{hp}\n\n{op}\n\nRun time: {took}."


def targets(res: dict) -> list[tuple[str, str, bool]]:
    """Issue 13.1's targets: (target, measured, met)."""
    out = []
    for alg in (a for a in ("asha", "bayes_opt") if a in res):
        per = res[alg]
        marks = f"{min(map(int, per)):,}-{max(map(int, per)):,} trials"
        worst = max(v["report_p50_ms"] for v in per.values())
        out.append((f"report p50 <= 1 ms, flat within 2x ({alg}, file journal)",
                    f"worst p50 {worst:.2f} ms over {marks}; largest / smallest {_flat(per, 'report_p50_ms')}",
                    worst <= 1 and _ratio(per, "report_p50_ms") <= 2))
        worst = max(v["sample_p50_ms"] for v in per.values())
        out.append((f"get_next_sample p50 <= 10 ms, flat within 2x ({alg}, file journal)",
                    f"worst p50 {worst:.1f} ms over {marks}; largest / smallest {_flat(per, 'sample_p50_ms')} "
                    f"(without the suggestion: {_flat(per, 'rest_p50_ms')})",
                    worst <= 10 and _ratio(per, "sample_p50_ms") <= 2))
    return out


def _ratio(per_mark: dict, key: str) -> float:
    values = [v[key] for v in per_mark.values()]
    return max(values) / min(values)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer marks (up to 1,000 ASHA / 100 bayes_opt trials)")
    ap.add_argument("--only", help=f"comma-separated loops to run, of {', '.join(LOOPS)} (default: all)")
    args = ap.parse_args(argv)
    from benchmarks.common import single_thread_blas

    only = tuple(args.only.split(",")) if args.only else LOOPS
    unknown = set(only) - set(LOOPS)
    if unknown:
        ap.error(f"unknown loops: {', '.join(sorted(unknown))}")
    single_thread_blas()
    res = run(args.quick, only)
    print(markdown(res))
    for target, measured, met in targets(res):
        print(f"- {target}: {measured} ({'met' if met else 'missed'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
