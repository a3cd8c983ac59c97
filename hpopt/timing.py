"""The time model of a trainer: how long a trial takes.

A trial's time is its start-up (process start, data loading, model build)
plus its epochs. Both are measured from the reports of trials that ran
(``TrialRecord.first_report``, ``epoch_seconds``, ``epoch_count``, kept by
the engine): an epoch from the intervals between consecutive reports,
counted in full-data epochs (one epoch on subset ``s`` costs
``(1 - p) * s + p`` of a full one, hpopt.plan.epoch_cost), and the start-up
from an attempt's start to its first report, less one epoch. Process start
and data loading are thus not mixed into the epoch time (a short ASHA trial
is mostly start-up), and an epoch time is an average over every interval,
slow evaluation epochs included.

Auto Config plans with the same two terms (``startup_epochs`` = start-up
seconds / seconds per full epoch); the dashboard (studies.timing) measures
them per trainer, per host and per study, and its ETA
(``hpopt.progress.eta_seconds``) uses them.
"""
from __future__ import annotations

import dataclasses
import statistics

from hpopt.plan import epoch_cost


@dataclasses.dataclass(frozen=True)
class TimeModel:
    """Seconds per full-data epoch and start-up seconds of a trial, with where they come from."""

    seconds_per_epoch: float
    startup_seconds: float
    #: "measured", "declared" (the study's form), or "trainer" (the trainer's own estimate)
    source: str
    epochs: int = 0
    trials: int = 0

    @property
    def startup_epochs(self) -> float:
        """The start-up in full-epoch equivalents (Auto Config's unit)."""
        return self.startup_seconds / self.seconds_per_epoch

    def describe(self) -> str:
        if self.source == "measured":
            return f"measured over {self.epochs} epochs of {self.trials} trial{'s' if self.trials != 1 else ''}"
        return {"declared": "your estimate", "trainer": "the trainer's estimate"}.get(self.source, self.source)

    def to_dict(self) -> dict:
        return {"seconds_per_epoch": self.seconds_per_epoch, "startup_seconds": self.startup_seconds,
                "source": self.source, "epochs": self.epochs, "trials": self.trials, "description": self.describe()}


def new_trial_seconds(plan, model: TimeModel) -> float:
    """Expected seconds of a new trial of ``plan`` at ``model``'s speed: its
    start-up and its epochs (the plan's expected cost per trial)."""
    return model.startup_seconds + max(plan.trial_cost_epochs() - plan.startup_epochs, 0.0) * model.seconds_per_epoch


#: a study's own model (its ETA) is measured over its latest timed trials:
#: a search drifts towards configs whose epochs are slower or faster than
#: the first ones' (wider nets, smaller batches)
RECENT = 50


def measure(rows, latest: int | None = None) -> TimeModel | None:
    """The model of ``rows``: (epoch_seconds, epoch_count, first_report,
    subset_ratio, non_pure_train_ratio) of trials, newest first, of which
    the ``latest`` timed ones count (all by default); None when no epoch was
    timed. Seconds per full epoch: all timed seconds over all timed epochs,
    each epoch weighed by its cost in full epochs. Start-up: the median over
    trials of the first report's delay less one of the trial's epochs."""
    seconds = full_epochs = epochs = trials = 0
    startups = []
    for epoch_seconds, epoch_count, first_report, subset, p in rows:
        if not epoch_count:
            continue
        if latest is not None and trials >= latest:
            break
        per_epoch = epoch_seconds / epoch_count
        seconds += epoch_seconds
        full_epochs += epoch_count * epoch_cost(subset, p)
        epochs += epoch_count
        trials += 1
        if first_report is not None:
            startups.append(max(0.0, first_report - per_epoch))
    if not full_epochs or seconds <= 0:
        return None
    return TimeModel(seconds / full_epochs, statistics.median(startups) if startups else 0.0, "measured",
                     epochs, trials)


def own_seconds_per_epoch(trial, plan) -> float | None:
    """A trial's own seconds per full epoch from its reports (hpopt.snapshot
    TrialRecord), once two intervals were timed; None before."""
    if trial.epoch_count < 2 or trial.epoch_seconds <= 0:
        return None
    return trial.epoch_seconds / (trial.epoch_count * plan.epoch_cost(trial.subset_ratio))


def pace(model: TimeModel, rows, latest: int = RECENT) -> TimeModel:
    """The model the ETA runs at: ``model``'s start-up, and seconds per full
    epoch as the mean pace of the ``latest`` trials of ``rows`` (as for
    measure(), newest first) that reported: each trial's time beyond the
    start-up over the full epochs it trained, every trial counted once. A
    model measured over the intervals between reports sees only trials with
    two reports or more (under ASHA the promoted ones, and weighed by their
    epochs, a first trial trained to the end first of all), while what is
    left is mostly new configs, drawn where the search goes now: when their
    epochs are slower or faster (wider nets, smaller batches), the latest
    trials' pace tells."""
    speeds = []
    for epoch_seconds, epoch_count, first_report, subset, p in rows:
        if first_report is None:
            continue
        work = (epoch_count + 1) * epoch_cost(subset, p)
        speeds.append(max(first_report + epoch_seconds - model.startup_seconds, 0.0) / work)
        if len(speeds) >= latest:
            break
    if not speeds:
        return model
    return dataclasses.replace(model, seconds_per_epoch=statistics.fmean(speeds))
