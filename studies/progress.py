"""Progress and ETA of a study, from the database (cheap aggregate queries).
The progress itself is the core's rule (hpopt.progress), fed with aggregates.

A live page polls this every two seconds, also for a study of 100,000
trials: the totals come from the study's tally (studies.settled), which reads
the open trials and the few changed lately, never the whole study.
"""
from __future__ import annotations

from typing import NamedTuple

from django.utils import timezone

from hpopt import algorithms
from hpopt import progress as core_progress
from hpopt.status import TrialState
from studies import deadline, settled, timing

OPEN_STATES = settled.OPEN_STATES


class Live(NamedTuple):
    #: {(state, bracket, last_iteration): [trials, spent]}
    groups: dict
    #: the best trial or None
    best: object
    open_trials: list
    #: trials handed fewer epochs than the full length (ASHA's backfill)
    short: int


def live(study, tally=None, open_trials=None) -> Live:
    """The study as it stands, from its tally (studies.settled; ``tally`` and
    ``open_trials``: settled.live's answer, when read already)."""
    if tally is None:
        tally, open_trials = settled.live(study)
    return Live(tally.groups, (tally.best[0] if tally.best else None), open_trials, tally.short)


def state_totals(study, groups: dict | None = None) -> dict:
    """{state: (trials, epochs trained)}."""
    out: dict[str, list] = {}
    for (state, _, last), (n, _) in (groups if groups is not None else live(study)[0]).items():
        row = out.setdefault(state, [0, 0])
        row[0] += n
        row[1] += n * (last or 0)
    return {state: tuple(v) for state, v in out.items()}


def state_counts(study, totals: dict | None = None) -> dict:
    return {state: n for state, (n, _) in (totals or state_totals(study)).items()}


def epochs_spent(study, totals: dict | None = None) -> int:
    """Epochs trained by every trial that ran (a queued re-run's old progress does not count)."""
    return sum(s for state, (_, s) in (totals or state_totals(study)).items() if state != TrialState.QUEUED.value)


def summary(study, snapshot: tuple | None = None) -> dict:
    """progress and budget: the core's rule (hpopt.progress: compute in
    full-epoch equivalents, spent against the budget); time_model: the
    study's measured time model (studies.timing); eta_seconds: the core's
    (hpopt.progress.eta_seconds) with that model at the pace of the latest
    trials (studies.timing.for_eta), None once the study has ended. With
    ASHA's backfill the study may create more trials than num_trials; their
    epochs count as spent."""
    meta = study.meta()
    groups, _, open_records, short = snapshot or live(study)
    totals = state_totals(study, groups)
    ended = study.study_state.is_finished()
    spent = sum(s for _, s in groups.values())
    created = sum(n for n, _ in totals.values())
    p = core_progress.progress(meta, spent, open_records, created, ended=ended)
    model = timing.of_study(study)
    eta = None if ended else deadline.study_eta(
        meta, p, open_records, timing.eta_parallel(study.parallelism, meta.plan, model), timing.for_eta(study, model),
        study.deadline, timezone.now(), study.started, study.paused_seconds)
    return {
        "progress": p.fraction,
        "budget": {"unit": "full epochs", "total": p.total, "spent": p.spent, "remaining": p.remaining,
                   "hard": algorithms.build(meta).budgeted, "refused": meta.budget_refused,
                   "note": budget_note(meta, created)},
        "epochs_trained": epochs_spent(study, totals), "time_model": model.to_dict(), "eta_seconds": eta,
        "deadline": study.deadline.isoformat() if study.deadline else None,
        "counts": state_counts(study, totals),
        "trial_count": core_progress.trial_count(created, meta.plan.num_trials, short),
    }


def budget_note(meta, created: int) -> str:
    """What the budget did to the plan, in words ("" when nothing)."""
    plan = meta.plan
    if meta.raw["plan"].get("planned_trials") is not None:   # the guard without a hard budget
        return (f"the plan was cut from {meta.planned_trials} to {plan.num_trials} trials "
                "to keep to the budget")
    if meta.budget_refused and created < plan.num_trials:
        return (f"the budget stopped the plan at {created} of {plan.num_trials} planned trials: "
                "promotions cost more than Auto Config's model expected")
    if meta.budget_refused:
        return "the budget is spent: no new trial fits in what is left"
    first = meta.raw["plan"].get("remeasured_from")
    if first:   # studies.deadline
        now = meta.settings.expected_time_ratio
        return (f"re-measured at this study's pace: its wall time buys {now / first:.2g}x the compute "
                f"first planned (expected_time_ratio {first:.3g} -> {now:.3g})")
    return ""
