"""What the study page draws for a big study, aggregated on the server: the
best score per trial as buckets (the "best so far" line and a band), an even
sample of finished trials for the dots and the Bayesian scatters, and the
ASHA board as counts per rung with the top trials at each.

A study with at most BIG trials gets no overview: the page draws every trial,
chip and curve from the trials it holds, as it always did.
"""
from __future__ import annotations

import math

from hpopt.plan import full_length
from studies.settled import FINISHED, OPEN_STATES, STRETCH

BIG = 1000
#: points of the "best so far" line and the band of scores
BUCKETS = 300
#: finished trials sent as dots
SAMPLE = 1500
ACTIVE = frozenset(OPEN_STATES)


def is_big(study) -> bool:
    return study.trials.order_by().filter(number__gte=BIG).exists()


def buckets(tally) -> dict:
    """{"size": trials per bucket, "rows": [[first trial number, trials,
    lowest, highest, best of the scored ones], ...]} over finished trials
    with a score, from the tally's stretches."""
    if not tally.stretches:
        return {"size": STRETCH, "rows": []}
    per = max(1, math.ceil((max(tally.stretches) + 1) / BUCKETS))
    merged: dict[int, list] = {}
    better = max if tally.sign > 0 else min
    for k, (n, lo, hi, best) in sorted(tally.stretches.items()):
        row = merged.get(k // per)
        if row is None:
            merged[k // per] = [n, lo, hi, best]
            continue
        row[0] += n
        row[1], row[2] = min(row[1], lo), max(row[2], hi)
        row[3] = best if row[3] is None else row[3] if best is None else better(row[3], best)
    return {"size": per * STRETCH, "rows": [[b * per * STRETCH, *v] for b, v in merged.items()]}


def sample(study, last_number: int) -> list:
    """[[number, best score, state, params, iterations, hand_picked], ...] of
    the trials finished with a score: every k-th one (looked up by number: the
    unique index), and every hand-picked one whatever its number (the chart
    draws it as a star; a partial index finds the few), the latest SAMPLE of them."""
    step = max(1, math.ceil((last_number + 1) / SAMPLE))
    scored = study.trials.filter(state__in=FINISHED, best_score__isnull=False, excluded=False)
    fields = ("number", "best_score", "state", "params", "iterations", "hand_picked")
    every = scored.filter(number__in=range(0, last_number + 1, step)).values_list(*fields)
    picked = scored.filter(hand_picked=True).order_by("-number").values_list(*fields)[:SAMPLE]
    rows = {r[0]: list(r) for r in (*every, *picked)}
    return [rows[n] for n in sorted(rows)]


def asha_board(study, tally) -> list:
    """Per bracket, per column (each rung, then the full length): how many
    trials reached it, train towards it, stopped there, and the top trials by
    their score there ([[id, number, state, score, last_iteration], ...], best first);
    "short": the completed trials that were handed fewer epochs than the full
    length (ASHA's backfill at the budget's end), counted and topped apart,
    never as full-length ones. A completed trial ended at its own iterations,
    so one that ended below max_iterations is a short one."""
    plan = study.plan
    top_epoch = plan["max_iterations"]
    out = []
    for b, milestones in enumerate(plan["brackets"]):
        steps = [*milestones, top_epoch]
        # (state, last iteration, trials, ended short); a short trial records no
        # score at a rung at its own end (hpopt.algorithms.asha milestones)
        mine = [(state, last or 0, n, state == "completed" and not full_length(last or 0, top_epoch))
                for (state, bracket, last), (n, _) in tally.groups.items() if (bracket or 0) == b]
        short = [(last, n) for _, last, n, ended_short in mine if ended_short]
        columns = []
        for j, m in enumerate(steps):
            prev, full = (steps[j - 1] if j else 0), j == len(steps) - 1
            upper = steps[j + 1] if j + 1 < len(steps) else math.inf
            top = sorted(tally.tops.get((b, "full" if full else m), []), reverse=True)
            columns.append({
                "milestone": m, "full": full,
                "climbing": sum(n for state, last, n, _ in mine if state in ACTIVE and prev <= last < m),
                "reached": sum(n for state, last, n, ended_short in mine
                               if (state == "completed" and not ended_short if full
                                   else last > m or (last == m and not ended_short))),
                "stopped": sum(n for state, last, n, _ in mine if state == "stopped" and m <= last < upper),
                "top": [list(entry[1:]) for entry in top],
            })
        out.append({"bracket": b, "milestones": milestones, "trials": sum(n for _, _, n, _ in mine),
                    "columns": columns,
                    "short": {"completed": sum(n for _, n in short), "epochs": sorted({last for last, _ in short}),
                              "top": [list(e[1:]) for e in sorted(tally.tops.get((b, "short"), []), reverse=True)]}})
    return out


def overview(study, tally) -> dict | None:
    """The page's aggregates, or None for a study small enough to draw whole."""
    if not is_big(study):
        return None
    last = study.trials.order_by("-number").values_list("number", flat=True).first() or 0
    out = {"buckets": buckets(tally), "sample": sample(study, last)}
    if study.algorithm == "asha":
        out["asha"] = asha_board(study, tally)
    return out
