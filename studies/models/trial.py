"""A trial. Its core fields mirror hpopt.storage.base.TrialRecord; the rest
is what the runner knows (host, GPU, heartbeat, job, log).

The state of a trial changes only through the core (hpopt.engine and
hpopt.controls, on studies.storage.DbStorage): every change is checked
against hpopt.transitions and written by a conditional update on the state
and attempt it was read in. What the runner writes beside it (heartbeat,
log, host) is conditional on the attempt it belongs to, so a superseded
attempt changes nothing.
"""
from __future__ import annotations

import datetime

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from hpopt.status import Pending, TrialState
from hpopt.storage.base import TrialRecord

STATE_CHOICES = [(s.value, s.value) for s in TrialState]
PENDING_CHOICES = [(p.value, p.name.lower()) for p in Pending]
#: fields copied as they are between the model and the core's TrialRecord
#: (state, pending, rungs and the two times are converted)
CORE_FIELDS = (
    "params", "iterations", "subset_ratio", "state", "bracket", "attempt", "last_iteration",
    "best_score", "last_score", "rungs", "resume_iteration", "owner", "oom_count", "error", "pending",
    "started", "last_report", "spent", "first_report", "epoch_seconds", "epoch_count", "stop_reason",
    "hand_picked",
)


def _seconds(dt) -> float | None:
    return None if dt is None else dt.timestamp()


def _datetime(seconds) -> datetime.datetime | None:
    return None if seconds is None else datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)


def record_from_values(number: int, values: dict) -> TrialRecord:
    """The core's record of a trial from its CORE_FIELDS (as Python values)."""
    v = dict(values)
    v["state"] = TrialState(v["state"])
    v["pending"] = Pending(v["pending"] or "")
    v["rungs"] = {int(k): s for k, s in (v["rungs"] or {}).items()}
    v["started"] = _seconds(v["started"])
    v["reported"] = _seconds(v.pop("last_report"))
    return TrialRecord(trial_id=number, **v)


def values_from_record(record: TrialRecord) -> dict:
    """CORE_FIELDS of a record, as the model stores them."""
    v = {f: getattr(record, f) for f in CORE_FIELDS if f != "last_report"}
    v["state"] = record.state.value
    v["pending"] = record.pending.value
    v["rungs"] = {str(k): s for k, s in record.rungs.items()}
    v["started"] = _datetime(record.started)
    v["last_report"] = _datetime(record.reported)
    return v


class TrialQuerySet(models.QuerySet):
    def of_attempt(self, pk: int, attempt: int):
        """The trial while ``attempt`` is its running one: what a worker's
        writes (heartbeat, log) are conditional on."""
        return self.filter(pk=pk, state=TrialState.RUNNING.value, attempt=attempt)


class Trial(models.Model):
    study = models.ForeignKey("studies.Study", on_delete=models.CASCADE, related_name="trials")
    #: the core's trial_id: 0, 1, 2... within the study, never reused
    number = models.PositiveIntegerField()
    params = models.JSONField()
    iterations = models.PositiveIntegerField()
    subset_ratio = models.FloatField()
    state = models.CharField(max_length=12, choices=STATE_CHOICES, default=TrialState.QUEUED.value)
    bracket = models.PositiveIntegerField(null=True, blank=True)
    attempt = models.PositiveIntegerField(default=0)
    last_iteration = models.PositiveIntegerField(default=0)
    best_score = models.FloatField(null=True, blank=True)
    #: the latest report's score: what the trial's training ended with (ranks the best config)
    last_score = models.FloatField(null=True, blank=True)
    rungs = models.JSONField(default=dict, blank=True)
    resume_iteration = models.PositiveIntegerField(default=0)
    owner = models.CharField(max_length=200, blank=True, default="")
    oom_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    pending = models.CharField(max_length=8, blank=True, default=Pending.NONE.value, choices=PENDING_CHOICES)
    #: compute spent over all attempts, in full-epoch equivalents (hpopt.budget)
    spent = models.FloatField(default=0.0)
    #: timing for the time model: seconds from the latest attempt's start to its
    #: first report; seconds between consecutive reports, and the epochs they covered
    first_report = models.FloatField(null=True, blank=True)
    epoch_seconds = models.FloatField(default=0.0)
    epoch_count = models.PositiveIntegerField(default=0)
    #: why the algorithm stopped it (a rung, median stopping, the budget)
    stop_reason = models.CharField(max_length=200, blank=True, default="")
    #: its config was given by hand ("try this config": hpopt.engine.enqueue), not sampled
    hand_picked = models.BooleanField(default=False)
    # runner's side
    host = models.CharField(max_length=200, blank=True, default="")
    gpu = models.CharField(max_length=50, blank=True, default="")
    heartbeat = models.DateTimeField(null=True, blank=True)
    #: when the trainer last reported a score (the core's ``reported``); with
    #: ``started`` it tells a trainer that hangs (the heartbeat thread still
    #: beats) from one that trains: see studies.sweeps.sweep_silent
    last_report = models.DateTimeField(null=True, blank=True)
    job_id = models.CharField(max_length=64, blank=True, default="")
    log = models.TextField(blank=True, default="")
    traceback = models.TextField(blank=True, default="")
    #: when the current attempt started (the core's ``started``)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True, db_index=True)
    #: excluded from the model's view (studies.lifecycle.exclude_trial): a
    #: finished trial the algorithms and the best-trial rule no longer see
    excluded = models.BooleanField(default=False)
    #: the owner's Markdown notes on the trial (studies.markdown)
    notes = models.TextField(blank=True, default="")

    objects = TrialQuerySet.as_manager()

    class Meta:
        ordering = ["study", "number"]
        constraints = [models.UniqueConstraint(fields=["study", "number"], name="trial_unique_number")]
        indexes = [
            models.Index(fields=["study", "state"], name="trial_study_state"),
            models.Index(fields=["study", "updated"], name="trial_study_updated"),
            models.Index(fields=["state", "heartbeat"], name="trial_state_heartbeat"),
            # the time model reads a study's latest trials (studies.timing); without
            # it a poll of a 100,000-trial study sorted the whole study
            models.Index(fields=["study", "started"], name="trial_study_started"),
            # the first load's best curves and the table sorted by score read the top few
            models.Index(fields=["study", "best_score"], name="trial_study_score"),
            # the table sorted by final score (studies.trial_table.final_score, the same expression)
            models.Index(F("study"), Coalesce("last_score", "best_score"), name="trial_study_final"),
            # a big study's chart sample takes every hand-picked trial (studies.overview.sample): few
            # rows, found without reading the study's others
            models.Index(fields=["study", "number"], condition=Q(hand_picked=True), name="trial_study_hand_picked"),
        ]

    def __str__(self):
        return f"trial {self.number} of study {self.study_id}"

    @property
    def trial_state(self) -> TrialState:
        return TrialState(self.state)

    def to_record(self) -> TrialRecord:
        return record_from_values(self.number, {f: getattr(self, f) for f in CORE_FIELDS})

    def beat(self, attempt: int) -> bool:
        """Refreshes the heartbeat while ``attempt`` is the trial's running one."""
        return Trial.objects.of_attempt(self.pk, attempt).update(heartbeat=timezone.now()) == 1
