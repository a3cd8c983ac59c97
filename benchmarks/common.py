"""Small helpers shared by the benchmark parts: statistics, Markdown tables,
process pools, the machine's description.

Every part module exposes ``run(quick: bool) -> dict`` (plain JSON values)
and ``markdown(result: dict) -> str``; ``python -m benchmarks`` calls them.
"""
from __future__ import annotations

import math
import multiprocessing
import os
import platform
import statistics
import warnings
from contextlib import contextmanager

import numpy as np

#: processes for the embarrassingly parallel parts (runs of one seed each)
PROCS = max(1, min(2, os.cpu_count() or 1))


def single_thread_blas() -> None:
    """One BLAS thread: the matrices here are tiny, and on 2 cores two
    OpenBLAS threads per process (times two processes) only contend."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def _init_worker() -> None:
    single_thread_blas()
    warnings.simplefilter("ignore")


def pool_map(fn, jobs: list, procs: int = PROCS) -> list:
    """``[fn(j) for j in jobs]`` over ``procs`` forked processes (order kept)."""
    if procs <= 1 or len(jobs) <= 1:
        _init_worker()
        return [fn(j) for j in jobs]
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(procs, initializer=_init_worker) as pool:
        return pool.map(fn, jobs, chunksize=1)


@contextmanager
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# -- statistics --------------------------------------------------------------------
def pct(values, q: float) -> float:
    """Percentile ``q`` (0..100); inf values count as larger than every number."""
    v = np.asarray(list(values), dtype=float)
    if v.size == 0:
        return math.nan
    return float(np.percentile(v, q, method="linear" if np.isfinite(v).all() else "lower"))


def med_iqr(values) -> dict:
    values = list(values)
    return {"median": pct(values, 50), "q25": pct(values, 25), "q75": pct(values, 75), "n": len(values)}


def fmt(x: float, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if math.isinf(x):
        return "never"
    if x == 0:
        return "0"
    return f"{x:.{digits}g}"


def fmt_mi(s: dict, digits: int = 3) -> str:
    """``median [q25, q75]``."""
    return f"{fmt(s['median'], digits)} [{fmt(s['q25'], digits)}, {fmt(s['q75'], digits)}]"


def ms(seconds: float) -> str:
    x = 1000 * seconds
    return f"{x:.0f}" if x >= 99.5 else f"{x:.1f}" if x >= 0.995 else f"{x:.2f}"


def latency_stats(seconds: list[float]) -> dict:
    """p50 / p99 / max / n of a list of durations, in milliseconds."""
    s = sorted(seconds)
    return {"p50_ms": 1000 * pct(s, 50), "p99_ms": 1000 * pct(s, 99), "max_ms": 1000 * s[-1], "n": len(s)}


def table(headers: list[str], rows: list[list], align: str | None = None) -> str:
    """A Markdown table; ``align`` is one char per column ('l' or 'r', default: first l)."""
    align = align or "l" + "r" * (len(headers) - 1)
    sep = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> dict:
    import bayes_opt
    import sklearn

    info = {
        "python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
        "numpy": np.__version__, "scikit-learn": sklearn.__version__, "bayesian-optimization": bayes_opt.__version__,
    }
    try:
        import optuna

        info["optuna"] = optuna.__version__
    except ImportError:
        info["optuna"] = None
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        pass
    return info


def mean(values) -> float:
    values = list(values)
    return statistics.fmean(values) if values else math.nan
