"""Part 2's comparison for trying a change: the peers run once, hpopt every time.

Choosing among variants of an algorithm (issue 12) means running hpopt's
method again and again against the same Optuna and random-search runs. This
runs :mod:`benchmarks.quality`'s runners one (problem, seed) at a time, keeps
every peer result in ``benchmarks/.cache/peers-<group>.json`` (Optuna's runs are the
slow part: a TPE + Hyperband run takes 10x an hpopt ASHA run) and every hpopt
run under a label in ``benchmarks/.cache/runs-<label>.json``, and prints for
each budget on how many problems hpopt's median regret is at or below the best
Optuna method's / below random search's (``quality.verdict``'s rule), the
per-problem medians [q25, q75], and, against another label, the runs won, tied
and lost (lower regret wins) and the problems whose median moved.

    python -m benchmarks.variants --group asha --budgets 8 30 --seeds 0-19 --label before
    # ... change hpopt ...
    python -m benchmarks.variants --group asha --budgets 8 30 --seeds 0-19 --label after --against before

A label's runs are reused when the seeds and budgets asked for are there; pass
``--rerun`` after changing the code under an existing label.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from benchmarks import problems as problems_mod
from benchmarks import quality
from benchmarks.common import PROCS, pool_map
from benchmarks.problem_base import CACHE
from hpopt.algorithms.bayes import BayesOpt
from hpopt.algorithms.gp_sampler import GPSampler

PEERS = {"asha": ("Optuna TPE+SHA", "Optuna TPE+Hyperband", "random search"),
         "bo": ("Optuna TPE", "Optuna GP", "random search"),
         "median": ("Optuna TPE+MedianPruner", "random search")}


def _seeds(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += range(int(lo), int(hi or lo) + 1)
    return out


def _load(path: str) -> dict:
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def _save(path: str, data: dict) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def _key(group, budget, method, problem, seed) -> str:
    return f"{group}|{budget}|{method}|{problem}|{seed}"


def _fill(path: str, jobs: list[tuple], procs: int, rerun: bool = False) -> dict:
    """Runs the jobs missing from the JSON at ``path`` (all of them with
    ``rerun``; the file's other runs are kept); returns it."""
    data = _load(path)
    todo = [j for j in jobs if rerun or _key(*j) not in data]
    if todo:
        print(f"{len(todo)} runs for {os.path.basename(path)}", file=sys.stderr)
        for r in pool_map(quality._run, todo, procs=procs):
            data[_key(r["group"], r["budget"], r["method"], r["problem"], r["seed"])] = {
                "regret": r["regret"], "spent": r["spent"], "trials": r["trials"]}
        _save(path, data)
    return data


def _cell(values: list[float]) -> str:
    q25, q50, q75 = np.percentile(values, [25, 50, 75])
    return f"{q50:.3g} [{q25:.3g}, {q75:.3g}]"


def report(group: str, budgets, seeds, problems, peers: dict | None, ours: dict, against: dict | None) -> str:
    """The tables; with ``peers`` None, hpopt's medians and W/T/L only (no verdicts)."""
    method = quality.OURS[group]
    names = PEERS[group] if peers is not None else ()
    lines = []
    for b in budgets:
        def regrets(data, m, p, b=b):
            return [data[_key(group, b, m, p, s)]["regret"] for s in seeds]

        lines.append(f"\n## {group} at {b} ({len(seeds)} seeds)\n")
        head = ["problem", "hpopt", *names] + (["before", "W/T/L"] if against else [])
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "---|" * len(head))
        at_or_below = below_random = 0
        wtl = np.zeros(3, int)
        moved = [0, 0]
        spent = []
        for p in problems:
            mine = regrets(ours, method, p)
            limit = b if group == "bo" else b * quality._PROBLEMS[p].max_epochs
            spent += [ours[_key(group, b, method, p, s)]["spent"] / limit for s in seeds]
            ours_med = float(np.median(mine))
            ok = False
            if peers is not None:
                # quality.verdict's rule, from the medians in its summary's shape
                summary = [{"group": group, "budget": b, "method": m, "problem": p,
                            "regret": {"median": float(np.median(regrets(data, m, p)))}}
                           for m, data in ((method, ours), *((m, peers) for m in names))]
                verdict = quality.verdict(summary)[f"{group}-{b}"]["per_problem"][p]
                ok = verdict["at_or_below_optuna"]
                at_or_below += ok
                below_random += verdict["below_random"]
            row = [p, ("**%s**" if ok else "%s") % _cell(mine), *(_cell(regrets(peers, m, p)) for m in names)]
            if against:
                theirs = regrets(against, method, p)
                w = sum(a < c - 1e-12 for a, c in zip(mine, theirs))
                lost = sum(a > c + 1e-12 for a, c in zip(mine, theirs))
                wtl += (w, len(seeds) - w - lost, lost)
                before_med = float(np.median(theirs))
                moved[0] += ours_med < before_med - 1e-12
                moved[1] += ours_med > before_med + 1e-12
                row += [_cell(theirs), f"{w}/{len(seeds) - w - lost}/{lost}"]
            lines.append("| " + " | ".join(row) + " |")
        verdicts = "" if peers is None else \
            f"<= both Optuna: {at_or_below}/{len(problems)}, < random: {below_random}/{len(problems)}; "
        lines.append(f"\n{verdicts}spent / budget {min(spent):.3f}-{max(spent):.3f}"
                     + (f"; against before: runs {wtl[0]}/{wtl[1]}/{wtl[2]}, medians better {moved[0]}, "
                        f"worse {moved[1]}" if against else ""))
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--group", choices=sorted(PEERS), required=True)
    ap.add_argument("--budgets", type=int, nargs="+", required=True)
    ap.add_argument("--seeds", default="0-19", help="e.g. 0-19 or 0-9,30-49")
    ap.add_argument("--problems", nargs="*", help="names (default: all eight)")
    ap.add_argument("--label", required=True, help="name under which hpopt's runs are kept")
    ap.add_argument("--against", help="a label to compare runs with")
    ap.add_argument("--rerun", action="store_true", help="run hpopt again under an existing label")
    ap.add_argument("--procs", type=int, default=PROCS)
    ap.add_argument("--no-peers", action="store_true",
                    help="no Optuna or random runs (hpopt against --against only: cheap on many seeds)")
    ap.add_argument("--cache", default=CACHE)
    ap.add_argument("--set", nargs="*", default=[], metavar="NAME=JSON",
                    help="class attributes of BayesOpt for this run, e.g. n_local=200, "
                         "or of ASHA's GP sampler as GPSampler.NAME=JSON, e.g. GPSampler.points_per_dim=2")
    args = ap.parse_args(argv)
    for item in args.set:   # the forked workers inherit the patched class
        name, _, value = item.partition("=")
        owner, _, attr = name.rpartition(".")
        cls = {"": BayesOpt, "BayesOpt": BayesOpt, "GPSampler": GPSampler}.get(owner)
        if cls is None or not hasattr(cls, attr):
            sys.exit(f"--set: no attribute {name} (BayesOpt's, or GPSampler.NAME)")
        setattr(cls, attr, json.loads(value))
    quality._PROBLEMS.update(problems_mod.load_all(False))
    names = args.problems or sorted(quality._PROBLEMS)
    seeds = _seeds(args.seeds)
    jobs = [(args.group, b, m, p, s) for b in args.budgets for p in names for s in seeds for m in PEERS[args.group]]
    peers = None if args.no_peers else _fill(os.path.join(args.cache, f"peers-{args.group}.json"), jobs, args.procs)
    mine = [(args.group, b, quality.OURS[args.group], p, s) for b in args.budgets for p in names for s in seeds]
    ours = _fill(os.path.join(args.cache, f"runs-{args.label}.json"), mine, args.procs, args.rerun)
    against = _load(os.path.join(args.cache, f"runs-{args.against}.json")) if args.against else None
    if against is not None and any(_key(*j) not in against for j in mine):
        sys.exit(f"--against {args.against}: its runs do not cover these budgets, problems and seeds")
    print(report(args.group, args.budgets, seeds, names, peers, ours, against))


if __name__ == "__main__":
    main()
