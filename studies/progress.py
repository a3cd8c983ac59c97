"""Progress and ETA of a study, from the database (cheap aggregate queries)."""
from __future__ import annotations

import statistics

from django.db.models import Count, Sum
from django.utils import timezone

from hpopt.plan import epoch_cost
from hpopt.status import TrialState

ACTIVE = (TrialState.QUEUED.value, TrialState.RUNNING.value)


def state_counts(study) -> dict:
    rows = study.trials.values("state").annotate(n=Count("id"))
    return {r["state"]: r["n"] for r in rows}


def epochs_spent(study) -> int:
    return study.trials.exclude(state=TrialState.QUEUED.value).aggregate(s=Sum("last_iteration"))["s"] or 0


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
    """progress: fraction of planned epochs spent; eta_seconds: the remaining
    planned epochs at the observed (else the declared) speed, divided by the
    parallelism; None once the study has ended."""
    plan = study.plan
    planned = max(float(plan.get("expected_epochs") or 0), 1e-9)
    spent = epochs_spent(study)
    ended = study.study_state.is_finished()
    progress = 1.0 if study.state == "completed" else min(1.0, spent / planned)
    per_epoch = observed_epoch_seconds(study)
    if per_epoch is None:
        per_epoch = study.seconds_per_epoch * epoch_cost(plan["subset_ratio"], plan["non_pure_train_ratio"])
    remaining = max(0.0, planned - spent)
    eta = None if ended else remaining * per_epoch / max(1, study.parallelism)
    return {
        "progress": progress, "epochs_spent": spent, "epochs_planned": planned,
        "seconds_per_epoch_observed": per_epoch, "eta_seconds": eta, "counts": state_counts(study),
    }
