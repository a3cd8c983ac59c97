"""The results table of ``print_results()``."""
from __future__ import annotations

from hpopt.best import final_score
from hpopt.storage.base import TrialRecord


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_results(trials: list[TrialRecord], best_id: int | None, mode: str) -> str:
    """One row per trial: trial, params, final score (what the best config is
    ranked by: the latest report), best score, iterations run, state (and
    "hand-picked" for a config queued by hand); the best trial marked with '*'."""
    if not trials:
        return "hpopt: no trials yet"
    names = list(trials[0].params)
    header = ["", "trial", *names, f"final score ({mode})", "best score", "iterations", "state"]
    rows = [header]
    for t in trials:
        final = final_score(t)
        rows.append([
            "*" if t.trial_id == best_id else "", str(t.trial_id),
            *(_fmt(t.params.get(n)) for n in names),
            "-" if final is None else _fmt(final), "-" if t.best_score is None else _fmt(t.best_score),
            f"{t.last_iteration}/{t.iterations}", t.state.value + (" (hand-picked)" if t.hand_picked else ""),
        ])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if best_id is not None:
        lines.append(f"* best trial: {best_id}")
    return "\n".join(lines)
