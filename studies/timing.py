"""The measured time model (hpopt.timing) of a trainer, per host and per
study, from the trials in the database: the latest trials' timing as the
engine kept it. The preview turns a plan into wall time with it, and the
study page's ETA uses the study's own."""
from __future__ import annotations

from hpopt.plan import plan as make_plan
from hpopt.timing import RECENT, TimeModel, measure, pace
from studies.models import Study, Trial

#: the latest trials a trainer's model is measured over
SAMPLE = 200


#: a trial's timing as hpopt.timing.measure and pace read it
ROW = ("epoch_seconds", "epoch_count", "first_report", "subset_ratio", "study__plan__non_pure_train_ratio")


def _rows(trials):
    return trials.filter(epoch_count__gt=0).order_by("-started").values_list(*ROW)[:SAMPLE]


def _own_rows(study: Study, trials) -> list[tuple]:
    """ROW of the study's latest RECENT ``trials``: its plan's
    non_pure_train_ratio added here, not joined and read per row (every poll
    of a live study asks, twice)."""
    p = study.plan.get("non_pure_train_ratio", 0.0)
    return [(*row, p) for row in trials.order_by("-started").values_list(*ROW[:-1])[:RECENT]]


def of_study(study: Study) -> TimeModel:
    """The model of the study's latest trials (hpopt.timing.RECENT), else what was declared when it was made."""
    return measure(_own_rows(study, study.trials.filter(epoch_count__gt=0)), RECENT) or TimeModel(
        study.seconds_per_epoch, study.startup_seconds, "declared")


def for_eta(study: Study, model: TimeModel) -> TimeModel:
    """The model the study's ETA runs at: ``model`` at the pace of the
    study's latest trials (hpopt.timing.pace)."""
    if model.source != "measured":
        return model
    return pace(model, _own_rows(study, study.trials.filter(first_report__isnull=False)))


def eta_parallel(parallelism: int, plan, model: TimeModel) -> int:
    """The workers a study's ETA schedules its work over: its slots once its
    model is measured from its own trials (their speed is what sharing the
    host's cores left them), else the workers its plan counted at full speed
    (studies.validation: min(parallelism, the trainer's capacity))."""
    return parallelism if model.source == "measured" else max(1, min(parallelism, plan.num_workers))


def of_trainer(studies, trainer: str) -> TimeModel | None:
    """The model of the latest trials of ``trainer`` among ``studies`` (those
    a user sees), or None when none was timed yet."""
    return measure(_rows(Trial.objects.filter(study__in=studies.filter(trainer=trainer))))


def for_new_study(studies, trainer: str, defaults: dict) -> TimeModel:
    """What a new study of ``trainer`` starts from (the New-study form pre-fills
    it too): the measured model, else the trainer's own estimate
    (``defaults``: its registration's seconds_per_epoch and startup_seconds)."""
    return of_trainer(studies, trainer) or TimeModel(
        float(defaults.get("seconds_per_epoch", 1.0)), float(defaults.get("startup_seconds", 0.0)), "trainer")


def per_host(studies, trainer: str) -> dict[str, TimeModel]:
    """The trainer's model per host, when its trials ran on several hosts
    (GPU hosts of different kinds train at different speeds)."""
    trials = Trial.objects.filter(study__in=studies.filter(trainer=trainer)).exclude(host="")
    hosts = list(trials.values_list("host", flat=True).distinct()[:20])
    if len(hosts) < 2:
        return {}
    found = {host: measure(_rows(trials.filter(host=host))) for host in hosts}
    return {host: model for host, model in found.items() if model is not None}


def preview(cleaned: dict) -> dict:
    """The New-study preview of ``studies.validation.validate_study``'s
    output: Auto Config's plan, its wall time with the form's time model
    (seconds per full epoch; the start-up is in the plan already, as
    startup_epochs), and the budget both ways."""
    plan = make_plan(**cleaned["settings"].plan_kwargs())
    seconds = cleaned["seconds_per_epoch"]
    return {
        "plan": plan.to_dict(), "wall_seconds": plan.wall_seconds(seconds),
        "expected_time_ratio": cleaned["settings"].expected_time_ratio,
        "budget_seconds": plan.budget * plan.num_full_iterations * seconds,
        # the workers Auto Config planned for: fewer than parallelism when the
        # trainer's live workers share fewer cores (runner.capacity)
        "planned_workers": plan.num_workers,
        "time_model": {"seconds_per_epoch": seconds, "startup_seconds": cleaned["startup_seconds"]},
    }
