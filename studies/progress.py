"""Progress and ETA of a study, from the database (cheap aggregate queries).
The progress itself is the core's rule (hpopt.progress), fed with aggregates."""
from __future__ import annotations

from django.db.models import Count, Sum

from hpopt import algorithms
from hpopt import progress as core_progress
from hpopt.status import TrialState
from studies import timing

OPEN_STATES = (TrialState.QUEUED.value, TrialState.RUNNING.value, TrialState.PAUSED.value)


def state_totals(study) -> dict:
    """{state: (trials, epochs trained)} in one query (the live pages poll it)."""
    rows = study.trials.values("state").annotate(n=Count("id"), s=Sum("last_iteration"))
    return {r["state"]: (r["n"], r["s"] or 0) for r in rows}


def state_counts(study, totals: dict | None = None) -> dict:
    return {state: n for state, (n, _) in (totals or state_totals(study)).items()}


def epochs_spent(study, totals: dict | None = None) -> int:
    """Epochs trained by every trial that ran (a queued re-run's old progress does not count)."""
    return sum(s for state, (_, s) in (totals or state_totals(study)).items() if state != TrialState.QUEUED.value)


def summary(study) -> dict:
    """progress and budget: the core's rule (hpopt.progress: compute in
    full-epoch equivalents, spent against the budget); time_model: the
    study's measured time model (studies.timing); eta_seconds: the core's
    (hpopt.progress.eta_seconds) with that model at the pace of the latest
    trials (studies.timing.for_eta), None once the study has ended. With
    ASHA's backfill the study may create more trials than num_trials; their
    epochs count as spent."""
    meta = study.meta()
    totals = state_totals(study)
    open_records = [t.to_record() for t in study.trials.filter(state__in=OPEN_STATES).order_by("number")]
    ended = study.study_state.is_finished()
    spent = study.trials.aggregate(s=Sum("spent"))["s"] or 0.0
    created = sum(n for n, _ in totals.values())
    p = core_progress.progress(meta, spent, open_records, created, ended=ended)
    model = timing.of_study(study)
    eta = None if ended else core_progress.eta_seconds(meta, p, open_records, study.parallelism,
                                                       timing.for_eta(study, model))
    return {
        "progress": p.fraction,
        "budget": {"unit": "full epochs", "total": p.total, "spent": p.spent, "remaining": p.remaining,
                   "hard": algorithms.build(meta).budgeted, "refused": meta.budget_refused,
                   "note": budget_note(meta, created)},
        "epochs_trained": epochs_spent(study, totals), "time_model": model.to_dict(), "eta_seconds": eta,
        "counts": state_counts(study, totals),
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
    return ""
