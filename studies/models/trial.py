"""A trial. Its core fields mirror hpopt.storage.base.TrialRecord; the rest
is what the runner knows (host, GPU, heartbeat, job, log).

State changes made from the dashboard (pause, resume, kill, lost) are
conditional updates taken under the study's lock, the same lock the engine
holds while it decides on a report, so a click and a report never both win.
"""
from __future__ import annotations

from django.db import models
from django.utils import timezone

from hpopt.status import TrialState
from hpopt.storage.base import TrialRecord

STATE_CHOICES = [(s.value, s.value) for s in TrialState]
#: fields copied between the model and the core's TrialRecord
CORE_FIELDS = (
    "params", "iterations", "subset_ratio", "state", "bracket", "attempt", "last_iteration",
    "best_score", "last_score", "rungs", "resume_iteration", "owner", "oom_count", "error", "pending",
)


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
    pending = models.CharField(max_length=8, blank=True, default="")
    # runner's side
    host = models.CharField(max_length=200, blank=True, default="")
    gpu = models.CharField(max_length=50, blank=True, default="")
    heartbeat = models.DateTimeField(null=True, blank=True)
    #: when the trainer last reported a score (any attempt); with ``started``
    #: it tells a trainer that hangs (the heartbeat thread still beats) from
    #: one that trains: see runner.scheduling.sweep_silent
    last_report = models.DateTimeField(null=True, blank=True)
    job_id = models.CharField(max_length=64, blank=True, default="")
    log = models.TextField(blank=True, default="")
    traceback = models.TextField(blank=True, default="")
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["study", "number"]
        constraints = [models.UniqueConstraint(fields=["study", "number"], name="trial_unique_number")]
        indexes = [
            models.Index(fields=["study", "state"], name="trial_study_state"),
            models.Index(fields=["study", "updated"], name="trial_study_updated"),
            models.Index(fields=["state", "heartbeat"], name="trial_state_heartbeat"),
        ]

    def __str__(self):
        return f"trial {self.number} of study {self.study_id}"

    @property
    def trial_state(self) -> TrialState:
        return TrialState(self.state)

    # -- core mapping ---------------------------------------------------------------
    def to_record(self) -> TrialRecord:
        values = {f: getattr(self, f) for f in CORE_FIELDS}
        values["state"] = TrialState(self.state)
        values["rungs"] = {int(k): v for k, v in (self.rungs or {}).items()}
        return TrialRecord(trial_id=self.number, **values)

    @staticmethod
    def fields_from_record(record: TrialRecord) -> dict:
        values = {f: getattr(record, f) for f in CORE_FIELDS}
        values["state"] = record.state.value
        values["rungs"] = {str(k): v for k, v in record.rungs.items()}
        return values

    # -- controls --------------------------------------------------------------------
    def _move(self, from_states, to: TrialState, **fields) -> bool:
        from studies.storage import DbStorage

        values = {"state": to.value, "updated": timezone.now(), **fields}
        if to.is_finished():
            values.setdefault("finished", timezone.now())
        with DbStorage(self.study_id).locked():
            n = Trial.objects.filter(pk=self.pk, state__in=[s.value for s in from_states]).update(**values)
        if n == 1:
            for k, v in values.items():
                setattr(self, k, v)
        return n == 1

    def pause(self) -> bool:
        """A queued trial pauses at once; a running one at its next report
        (``pending``), keeping its progress."""
        if self._move([TrialState.QUEUED], TrialState.PAUSED, job_id=""):
            return True
        from studies.storage import DbStorage

        with DbStorage(self.study_id).locked():
            n = Trial.objects.filter(pk=self.pk, state=TrialState.RUNNING.value).update(
                pending="pause", updated=timezone.now(),  # updated: live pages show the pending pause
            )
        return n == 1

    def resume(self, fill: bool = True) -> bool:
        """paused -> queued; the next attempt gets ``resume_iteration`` and the
        same checkpoint_dir, so the trainer can continue where it stopped.
        A running trial whose pause is still pending just carries on."""
        moved = self._move([TrialState.PAUSED], TrialState.QUEUED, job_id="", owner="", pending="")
        if not moved:
            from studies.storage import DbStorage

            with DbStorage(self.study_id).locked():
                n = Trial.objects.filter(pk=self.pk, state=TrialState.RUNNING.value, pending="pause").update(
                    pending="", updated=timezone.now(),
                )
            return n == 1
        if fill:
            from runner.scheduling import fill_slots

            fill_slots(self.study_id)
        return moved

    def kill(self, fill: bool = True, reason: str = "killed by the user") -> bool:
        """Immediate: the state changes now; a running job is stopped through
        RQ's stop-job command, and any later report answers STOP."""
        job_id = self.job_id
        moved = self._move(
            [TrialState.QUEUED, TrialState.RUNNING, TrialState.PAUSED], TrialState.KILLED,
            pending="", error=reason,
        )
        if moved:
            from runner.scheduling import fill_slots, stop_job

            stop_job(job_id)
            if fill:
                fill_slots(self.study_id)
        return moved

    def beat(self) -> bool:
        """Refreshes the heartbeat of a running trial."""
        return Trial.objects.filter(pk=self.pk, state=TrialState.RUNNING.value).update(heartbeat=timezone.now()) == 1
