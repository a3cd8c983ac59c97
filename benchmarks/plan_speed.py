"""Time hpopt.plan.plan() over the Auto Config test grid (it backs a live web preview: < 5 ms).

Run: python benchmarks/plan_speed.py
Prints median / p99 / max over every call, and p99 of each grid point's best of the
repeats (the latter filters out scheduler noise on a shared machine).
"""
import itertools
import statistics
import time

from hpopt.plan import ALGORITHMS, plan

GRID = list(itertools.product(ALGORITHMS, (100, 2_000, 50_000, 1_000_000), (1, 5, 20, 100),
                              (1.5, 2, 4, 10), (1, 4, 16)))
FIXED = ({}, {"num_trials": 50}, {"max_iterations": 3}, {"subset_ratio": 0.3})


def p99(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(0.99 * len(xs)))]


def main(repeats: int = 5) -> None:
    calls, best = [], []
    for (alg, size, n, ratio, workers), fixed in itertools.product(GRID, FIXED):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            plan(alg, size, n, expected_time_ratio=ratio, num_workers=workers, **fixed)
            times.append((time.perf_counter() - t0) * 1e3)
        calls += times
        best.append(min(times))
    print(f"plan(): {len(calls)} calls over {len(best)} grid points: median "
          f"{statistics.median(calls):.3f} ms, p99 {p99(calls):.3f} ms, max {max(calls):.3f} ms; "
          f"per-point best: p99 {p99(best):.3f} ms, max {max(best):.3f} ms")


if __name__ == "__main__":
    main()
