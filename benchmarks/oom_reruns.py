"""Out-of-memory re-runs: how many runs a study spends finding batch sizes that
fit, with hpopt's rule (hpopt/oom_bounds.py: halve, then bisect, per memory
key) and with the rule it replaced (one grid value below the failed size,
one bound for the whole study), on a fake GPU whose capacity is known.

    python -m benchmarks.oom_reruns

The old rule is replayed on the same samples and capacity: a sample above
its bound starts at the bound, as the old engine's start() did (the old
sampler also drew below the bound, which changes which samples exist, not
what a failure costs). Counts, not times: each re-run costs
a trial's start-up and its partial first epoch on a real GPU.
"""
from __future__ import annotations

import statistics
import tempfile
import warnings

import hpopt

BS = hpopt.search_space("qloguniform", [32, 8192, 32, 2])


def _study(space, seed, num_trials):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return hpopt.create(search_alg="asha", search_space=space, full_dataset_size=1000, num_full_iterations=4,
                            batch_size_name="bs", save_path=tempfile.mkdtemp(prefix="hpopt-oom-bench-"),
                            num_trials=num_trials, max_iterations=4, hard_budget=False, seed=seed)


def _run(hpo, fits) -> tuple[int, list]:
    """The guide's loop on the fake GPU; (OOM re-runs, first sampled params of every trial)."""
    ooms, first = 0, {}
    while (config := hpo.get_next_sample()) is not None:
        first.setdefault(config["trial_id"], dict(config["params"]))
        if not fits(config["params"]):
            ooms += 1
            hpopt.reportOOM(config)
            continue
        for epoch in range(1, config["iterations"] + 1):
            if hpopt.report(config=config, score=0.5, iteration=epoch) == hpopt.Status.STOP:
                break
    return ooms, [first[t] for t in sorted(first)]


def _old_rule(samples, fits, q=32) -> int:
    """OOMs of the replaced rule on the same samples: each failure lowers one
    study-wide bound by one grid step, and a sample above the bound starts
    at it."""
    bound, ooms = None, 0
    for params in samples:
        bs = params["bs"] if bound is None else min(params["bs"], bound)
        while not fits({**params, "bs": bs}):
            ooms += 1
            bound = bs - q
            bs = bound
    return ooms


def eighth(seeds=range(40)):
    """One trial whose first sample fits at 1/8 of it (sampled >= 256)."""
    rows = []
    for seed in seeds:
        hpo = _study({"lr": hpopt.search_space("loguniform", [1e-4, 1e-1]), "bs": BS}, seed, 1)
        config = hpo.get_next_sample()
        sampled = config["params"]["bs"]
        if sampled < 256:
            continue
        limit = sampled // 8
        hpopt.reportOOM(config)
        ooms, _ = _run(hpo, lambda p, limit=limit: p["bs"] <= limit)
        rows.append((sampled, 1 + ooms, _old_rule([{"bs": sampled}], lambda p, limit=limit: p["bs"] <= limit)))
    return rows


def widths(seeds=range(10)):
    """24 trials, width 64 or 512, memory = bs x width, capacity 64 x 1024."""
    rows = []
    for seed in seeds:
        space = {"lr": hpopt.search_space("loguniform", [1e-4, 1e-1]), "bs": BS,
                 "width": hpopt.search_space("choice", [64, 512])}

        def fits(p):
            return p["bs"] * p["width"] <= 64 * 1024

        ooms, samples = _run(_study(space, seed, 24), fits)
        rows.append((ooms, _old_rule(samples, fits)))
    return rows


def main() -> None:
    rows = eighth()
    new, old = [r[1] for r in rows], [r[2] for r in rows]
    print(f"a trial that fits at 1/8 of its sample ({len(rows)} seeds, sampled {min(r[0] for r in rows)}-"
          f"{max(r[0] for r in rows)}): re-runs median {statistics.median(new)} (max {max(new)}) vs the old "
          f"rule's median {statistics.median(old)} (max {max(old)})")
    rows = widths()
    new, old = [r[0] for r in rows], [r[1] for r in rows]
    print(f"24 trials of two widths ({len(rows)} seeds): OOM re-runs median {statistics.median(new)} "
          f"(max {max(new)}) vs the old rule's median {statistics.median(old)} (max {max(old)})")


if __name__ == "__main__":
    main()
