"""A study: the create() arguments, the plan, its trials; its state machine.

Every change of a study's state is one conditional update in a method here
(``_move``): two clicks, or a click and a worker, can never both win.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from hpopt.status import BEST_CANDIDATE_STATES, SCORED_STATES, StudyState, TrialState

STATE_CHOICES = [(s.value, s.value) for s in StudyState]


class StudyQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Users see their own studies; staff see all."""
        return self if user.is_staff else self.filter(owner=user)

    def create_study(self, owner, cleaned: dict) -> "Study":
        """Saves a study from ``studies.validation.validate_study``'s output,
        and starts it when asked, in one transaction: all or nothing."""
        from hpopt import engine

        meta = engine.new_meta(cleaned["settings"])
        with transaction.atomic():
            study = self.create(
                name=cleaned["name"], owner=owner, trainer=cleaned["trainer"],
                algorithm=meta["plan"]["search_alg"], settings=meta["settings"],
                initial_space=meta["initial_space"], space=meta["space"], plan=meta["plan"],
                parallelism=cleaned["parallelism"], seconds_per_epoch=cleaned["seconds_per_epoch"],
            )
            if cleaned.get("start"):
                study.start()
        return study


class Study(models.Model):
    name = models.CharField(max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="studies")
    trainer = models.CharField(max_length=200, help_text="name of a registered @hpopt.trainer")
    algorithm = models.CharField(max_length=20)
    #: hpopt.settings.Settings as a dict (every create() argument, validated)
    settings = models.JSONField()
    #: the search space the study started with, and the current one (an OOM shrinks it)
    initial_space = models.JSONField()
    space = models.JSONField()
    #: hpopt.plan.Plan.to_dict() (Auto Config's plan)
    plan = models.JSONField()
    parallelism = models.PositiveIntegerField(default=1)
    seconds_per_epoch = models.FloatField(default=1.0, help_text="seconds per full-data epoch, for the ETA")
    state = models.CharField(max_length=12, choices=STATE_CHOICES, default=StudyState.DRAFT.value, db_index=True)
    error = models.TextField(blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    updated = models.DateTimeField(auto_now=True)

    objects = StudyQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        verbose_name_plural = "studies"

    def __str__(self):
        return f"{self.name} (#{self.pk})"

    @property
    def study_state(self) -> StudyState:
        return StudyState(self.state)

    @property
    def mode(self) -> str:
        return self.settings.get("mode", "max")

    # -- state machine ------------------------------------------------------------
    def _move(self, from_states, to: StudyState, **fields) -> bool:
        """Conditional update: True when this call made the change."""
        values = {"state": to.value, "updated": timezone.now(), **fields}
        if to.is_finished():
            values.setdefault("finished", timezone.now())
        n = Study.objects.filter(pk=self.pk, state__in=[s.value for s in from_states]).update(**values)
        if n == 1:
            for k, v in values.items():
                setattr(self, k, v)
        return n == 1

    def start(self) -> bool:
        """draft -> running; fills the worker slots after commit."""
        from runner.scheduling import fill_slots

        with transaction.atomic():
            moved = self._move([StudyState.DRAFT], StudyState.RUNNING, started=timezone.now())
            if moved:
                fill_slots(self.pk)
        return moved

    def pause(self) -> bool:
        """running -> paused: no new trials; running trials pause at their next
        report and keep their progress; queued ones wait."""
        with transaction.atomic():
            moved = self._move([StudyState.RUNNING], StudyState.PAUSED)
            if moved:
                for trial in self.trials.filter(state__in=[TrialState.RUNNING.value, TrialState.QUEUED.value]):
                    trial.pause()
        return moved

    def resume(self) -> bool:
        """paused -> running; paused trials queue again. (A study whose web
        server, worker or Redis crashed stays running; the workers' sweeps
        re-run its lost trials and lost jobs.)"""
        from runner.scheduling import fill_slots

        with transaction.atomic():
            moved = self._move([StudyState.PAUSED], StudyState.RUNNING)
            if moved:
                # running ones too: a pause still pending is cancelled
                for trial in self.trials.filter(state__in=[TrialState.PAUSED.value, TrialState.RUNNING.value]):
                    trial.resume(fill=False)
                fill_slots(self.pk)
        return moved

    def kill(self) -> bool:
        """Ends the study now: every queued, running or paused trial is killed."""
        with transaction.atomic():
            moved = self._move([StudyState.DRAFT, StudyState.RUNNING, StudyState.PAUSED], StudyState.KILLED)
            if moved:
                for trial in self.trials.filter(state__in=[s.value for s in ACTIVE_OR_PAUSED]):
                    trial.kill(fill=False)
        return moved

    def complete(self) -> bool:
        """running -> completed once nothing is left to run; -> failed instead
        when trials failed or were lost and none produced a result: a study
        without a best config has not completed. (Trials the user killed are
        the user's choice, not a failure.)"""
        if self.state == StudyState.RUNNING.value and not self.trials.filter(
            state__in=[s.value for s in SCORED_STATES]
        ).exists():
            broken = self.trials.filter(state__in=[TrialState.FAILED.value, TrialState.LOST.value])
            first = broken.order_by("number").values_list("error", flat=True).first()
            if first is not None:
                return self.fail(f"no trial produced a result; the first error: {first or 'unknown'}")
        return self._move([StudyState.RUNNING], StudyState.COMPLETED)

    def fail(self, error: str) -> bool:
        """running or paused -> failed; its unfinished trials end with it (a
        failed study cannot be resumed, so they would wait forever)."""
        with transaction.atomic():
            moved = self._move([StudyState.RUNNING, StudyState.PAUSED], StudyState.FAILED, error=error)
            if moved:
                for trial in self.trials.filter(state__in=[s.value for s in ACTIVE_OR_PAUSED]):
                    trial.kill(fill=False, reason=f"the study failed: {error}")
        return moved

    # -- reading ------------------------------------------------------------------
    def best_trial(self):
        """The same rule as hpopt.engine.best_trial: completed trials trained
        to the study's full length first (the most iterations of any scored
        trial; ASHA's backfill trials get fewer), then any completed trial,
        then every candidate."""
        qs = self.trials.exclude(best_score=None).filter(state__in=[s.value for s in BEST_CANDIDATE_STATES])
        # ranked by the final score (hpopt.engine.final_score)
        qs = qs.annotate(final=Coalesce("last_score", "best_score"))
        order = "-final" if self.mode == "max" else "final"
        # the plan's max_iterations is the most any trial gets (as the engine's
        # "most iterations of a scored trial"), without a scan of every trial
        full = self.plan["max_iterations"]
        completed = qs.filter(state=TrialState.COMPLETED.value)
        return (completed.filter(iterations=full).order_by(order, "number").first()
                or completed.order_by(order, "number").first() or qs.order_by(order, "number").first())


ACTIVE_OR_PAUSED = (TrialState.QUEUED, TrialState.RUNNING, TrialState.PAUSED)
