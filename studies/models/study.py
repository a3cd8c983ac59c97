"""A study: the create() arguments, the plan, its trials; its state.

A study's state changes only through ``Study.move``: checked against the
core's table (hpopt.transitions), and written as one conditional update, so
two clicks, or a click and a worker, can never both win. What a change
does to the study's trials and jobs is in studies.control.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Coalesce
from django.utils import timezone

from hpopt import best, transitions
from hpopt.errors import IllegalTransition
from hpopt.snapshot import Meta
from hpopt.status import StudyState, TrialState

STATE_CHOICES = [(s.value, s.value) for s in StudyState]
#: the columns that hold the core's meta (hpopt.snapshot.Meta)
META_COLUMNS = ("settings", "initial_space", "space", "plan", "oom_bounds", "error", "search_over", "budget_refused",
                "created")


def meta_from_values(values: dict) -> dict:
    """The core's meta dict (hpopt.snapshot.Meta) from a study's META_COLUMNS as Python values."""
    meta = dict(values)
    meta["search_over"] = bool(meta["search_over"])
    meta["budget_refused"] = bool(meta["budget_refused"])
    meta["created"] = meta["created"].timestamp()
    meta["version"] = 1
    return meta


class StudyQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Users see their own studies; staff see all."""
        return self if user.is_staff else self.filter(owner=user)

    def create_study(self, owner, cleaned: dict) -> "Study":
        """Saves a draft study from ``studies.validation.validate_study``'s output."""
        return self.create(owner=owner, **definition_columns(cleaned))


def definition_columns(cleaned: dict) -> dict:
    """The columns that define a study (what a draft's edit may change),
    from ``studies.validation.validate_study``'s output."""
    meta = Meta.new(cleaned["settings"]).to_dict()
    return dict(
        name=cleaned["name"], trainer=cleaned["trainer"],
        algorithm=meta["plan"]["search_alg"], settings=meta["settings"],
        initial_space=meta["initial_space"], space=meta["space"], plan=meta["plan"],
        parallelism=cleaned["parallelism"], seconds_per_epoch=cleaned["seconds_per_epoch"],
        startup_seconds=cleaned.get("startup_seconds", 0.0), wall_budget_seconds=cleaned.get("budget_seconds"),
        deadline=cleaned.get("deadline"),
    )


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
    #: what out-of-memory errors taught about batch sizes, per memory key (hpopt.oom_bounds)
    oom_bounds = models.JSONField(default=dict, blank=True)
    #: the space ran out of new configs before the plan's num_trials (hpopt.snapshot.Meta.search_over)
    search_over = models.BooleanField(default=False)
    #: the hard budget refused the last new trial asked for (hpopt.snapshot.Meta.budget_refused)
    budget_refused = models.BooleanField(default=False)
    parallelism = models.PositiveIntegerField(default=1)
    #: the time model declared when the study was made (studies.timing measures it as it runs)
    seconds_per_epoch = models.FloatField(default=1.0, help_text="seconds per full-data epoch")
    startup_seconds = models.FloatField(default=0.0, help_text="seconds a trial takes before its first epoch")
    #: the wall time the user gave as the budget ("budget": "45m", or "done_by"), None when the
    #: budget was expected_time_ratio; a duration becomes the deadline when the study starts, a
    #: done_by moment is the deadline from the start (studies.deadline)
    wall_budget_seconds = models.FloatField(null=True, blank=True)
    deadline = models.DateTimeField(null=True, blank=True)
    #: since when the study is paused (None while not), and the seconds it was paused before:
    #: a deadline study's pace is measured over the time it ran (studies.deadline)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_seconds = models.FloatField(default=0.0)
    state = models.CharField(max_length=12, choices=STATE_CHOICES, default=StudyState.DRAFT.value, db_index=True)
    error = models.TextField(blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    updated = models.DateTimeField(auto_now=True)
    #: out of the default studies list (studies.lifecycle: only while no worker holds its trials)
    archived = models.BooleanField(default=False, db_index=True)
    #: the owner's Markdown notes (rendered by studies.markdown) and tags, stored
    #: as " tag1 tag2 " so a tag is found as " tag " in one LIKE (studies.listing)
    notes = models.TextField(blank=True, default="")
    tags = models.CharField(max_length=1000, blank=True, default="")

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
    def tag_list(self) -> list[str]:
        return self.tags.split()

    @property
    def mode(self) -> str:
        return self.settings.get("mode", "max")

    def meta(self) -> Meta:
        """The study's definition as the core reads it."""
        return Meta.from_dict(meta_from_values({c: getattr(self, c) for c in META_COLUMNS}))

    def move(self, to: StudyState, among=None, **fields) -> bool:
        """Moves the study to ``to`` if it is in a state the table allows that
        move from (and in ``among``, when given), as one conditional update.
        True when this call made the change."""
        sources = [s.value for s in transitions.study_sources(to, among)]
        if not sources:  # asked for a move the table never allows: a bug, not a click
            raise IllegalTransition(f"a study cannot move from {', '.join(s.value for s in among)} to {to.value}")
        now = timezone.now()
        values = {"state": to.value, "updated": now, **fields}
        if to.is_finished():
            values.setdefault("finished", now)
        if to is StudyState.PAUSED:
            values["paused_at"] = now
        elif self.paused_at is not None:   # out of a pause: its time is counted
            values.update(paused_at=None, paused_seconds=self.paused_seconds + (now - self.paused_at).total_seconds())
        n = Study.objects.filter(pk=self.pk, state__in=sources).update(**values)
        if n == 1:
            for k, v in values.items():
                setattr(self, k, v)
        return n == 1

    def redefine(self, cleaned: dict) -> bool:
        """Replaces a draft's definition (name, trainer, settings, search
        space, plan, time model) with ``validate_study``'s output, as one
        conditional update on the draft state: a study that has started
        keeps its definition (False)."""
        values = {**definition_columns(cleaned), "updated": timezone.now()}
        n = Study.objects.filter(pk=self.pk, state=StudyState.DRAFT.value).update(**values)
        if n == 1:
            for k, v in values.items():
                setattr(self, k, v)
        return n == 1

    def best_trial(self, among=None):
        """The trial hpopt.best's rule recommends, as a query: its pools in
        order, each ranked by the final score (hpopt.best.final_score), ties
        to the earlier trial. ``among``: a queryset of the study's trials to
        choose from (default: all of them)."""
        trials = self.trials.all() if among is None else among
        # a trial excluded from the model's view (studies.lifecycle) is never recommended
        scored = trials.filter(excluded=False).exclude(best_score=None).annotate(
            final=Coalesce("last_score", "best_score"))
        order = "-final" if self.mode == "max" else "final"
        for pool in best.POOLS:
            qs = scored.filter(state__in=[s.value for s in pool.states])
            if pool.full_length:
                qs = qs.filter(iterations__gte=self.plan["max_iterations"])
            found = qs.order_by(order, "number").first()
            if found is not None:
                return found
        return None


ACTIVE_OR_PAUSED = (TrialState.QUEUED, TrialState.RUNNING, TrialState.PAUSED)
