"""The measured time model (hpopt.timing) of a trainer, per host and per
study, from the trials in the database: the latest trials' timing as the
engine kept it. The preview turns a plan into wall time with it, and the
study page's ETA uses the study's own."""
from __future__ import annotations

from hpopt.timing import TimeModel, measure
from studies.models import Study, Trial

#: the latest trials a trainer's model is measured over
SAMPLE = 200


def _rows(trials):
    return trials.filter(epoch_count__gt=0).order_by("-started").values_list(
        "epoch_seconds", "epoch_count", "first_report", "subset_ratio",
        "study__plan__non_pure_train_ratio")[:SAMPLE]


def of_study(study: Study) -> TimeModel:
    """The study's own trials' model, else what was declared when it was made."""
    return measure(_rows(study.trials.all())) or TimeModel(
        study.seconds_per_epoch, study.startup_seconds, "declared")


def of_trainer(studies, trainer: str) -> TimeModel | None:
    """The model of the latest trials of ``trainer`` among ``studies`` (those
    a user sees), or None when none was timed yet."""
    return measure(_rows(Trial.objects.filter(study__in=studies.filter(trainer=trainer))))


def per_host(studies, trainer: str) -> dict[str, TimeModel]:
    """The trainer's model per host, when its trials ran on several hosts
    (GPU hosts of different kinds train at different speeds)."""
    trials = Trial.objects.filter(study__in=studies.filter(trainer=trainer)).exclude(host="")
    hosts = list(trials.values_list("host", flat=True).distinct()[:20])
    if len(hosts) < 2:
        return {}
    found = {host: measure(_rows(trials.filter(host=host))) for host in hosts}
    return {host: model for host, model in found.items() if model is not None}
