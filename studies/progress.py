"""Progress and ETA of a study, from the database (cheap aggregate queries).
The progress itself is the core's rule (hpopt.progress), fed with aggregates."""
from __future__ import annotations

import statistics

from django.db.models import Count, Sum
from django.utils import timezone

from hpopt import algorithms
from hpopt import progress as core_progress
from hpopt.plan import epoch_cost
from hpopt.status import TrialState

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


def observed_epoch_seconds(study, sample: int = 50) -> float | None:
    """Median seconds per epoch of the latest trials that trained, or None."""
    now = timezone.now()
    rows = (
        study.trials.exclude(started=None).filter(last_iteration__gt=0)
        .order_by("-started").values_list("started", "finished", "state", "last_iteration", "resume_iteration")[:sample]
    )
    per_epoch = []
    for started, finished, state, last, resumed in rows:
        end = finished if state != TrialState.RUNNING.value and finished else now
        epochs = last - resumed
        if epochs > 0:
            per_epoch.append((end - started).total_seconds() / epochs)
    return statistics.median(per_epoch) if per_epoch else None


def summary(study) -> dict:
    """progress and budget: the core's rule (hpopt.progress: compute in
    full-epoch equivalents, spent against the budget); eta_seconds: the
    remaining compute at the observed (else the declared) speed divided
    over the parallelism, and at least the longest running trial's rest to
    its end; None once the study has ended. With ASHA's backfill the study
    may create more trials than num_trials; their epochs count as spent."""
    meta = study.meta()
    plan = meta.plan
    totals = state_totals(study)
    open_records = [t.to_record() for t in study.trials.filter(state__in=OPEN_STATES).order_by("number")]
    ended = study.study_state.is_finished()
    spent = study.trials.aggregate(s=Sum("spent"))["s"] or 0.0
    p = core_progress.progress(meta, spent, open_records, sum(n for n, _ in totals.values()), ended=ended)
    per_epoch = observed_epoch_seconds(study)
    if per_epoch is None:
        per_epoch = study.seconds_per_epoch * epoch_cost(plan.subset_ratio, plan.non_pure_train_ratio)
    eta = None
    if not ended:
        # work divides over the slots, but never finishes before the running
        # trial with the most epochs left to its end can (the tail of a
        # parallel run). Its end, not its next rung: benchmarks/fidelity.py
        # measured both, and only this floor catches ASHA's drain
        longest = max((t.iterations - t.last_iteration for t in open_records if t.state is TrialState.RUNNING),
                      default=0)
        per_full_epoch = per_epoch / epoch_cost(plan.subset_ratio, plan.non_pure_train_ratio)
        eta = max(p.remaining * per_full_epoch / max(1, study.parallelism), longest * per_epoch)
    return {
        "progress": p.fraction,
        "budget": {"unit": "full epochs", "total": p.total, "spent": p.spent, "remaining": p.remaining,
                   "hard": algorithms.build(meta).budgeted, "refused": meta.budget_refused},
        "epochs_trained": epochs_spent(study, totals), "seconds_per_epoch_observed": per_epoch, "eta_seconds": eta,
        "counts": state_counts(study, totals),
    }
