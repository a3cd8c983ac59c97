"""Everything a user (or the scheduler) does to a study or a trial: create,
start, pause, resume, kill; fill a study's free worker slots; complete or
fail it.

Each action holds the study's lock (DbStorage.locked) for its whole
read-decide-write, the same lock the engine holds while it decides on a
report, so a click and a report never both win. A trial's state changes
through the core (hpopt.controls, hpopt.engine: checked against the
transition table, conditional on what was read); a study's through
Study.move. Jobs are enqueued and stopped through the registered dispatcher
(studies.dispatch), after the commit.
"""
from __future__ import annotations

import uuid

from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from hpopt import algorithms, budget, controls, engine, snapshot
from hpopt.algorithms.promotion import waiting_rung
from hpopt.errors import FieldError, HpoError
from hpopt.snapshot import Meta
from hpopt.status import SCORED_STATES, StudyState, TrialState
from studies import deadline, dispatch, timing
from studies.models import Study, Trial
from studies.models.study import ACTIVE_OR_PAUSED
from studies.storage import DbStorage

_values = lambda states: [s.value for s in states]  # noqa: E731


def create(owner, cleaned: dict) -> Study:
    """Saves a study from ``studies.validation.validate_study``'s output, and
    starts it when asked, in one transaction: all or nothing."""
    with transaction.atomic():
        study = Study.objects.create_study(owner, cleaned)
        if cleaned.get("start"):
            start(study)
    return study


# -- studies -----------------------------------------------------------------------------
def start(study: Study) -> bool:
    """draft -> running; fills the worker slots."""
    with DbStorage(study.pk).locked():
        now = timezone.now()
        moved = study.move(StudyState.RUNNING, among=[StudyState.DRAFT], started=now,
                           **deadline.at_start(study.wall_budget_seconds, study.deadline, now))
        if moved:
            fill_slots(study.pk)
    return moved


def pause(study: Study) -> bool:
    """running -> paused: no new trials; running trials pause at their next
    report and keep their progress; queued ones wait."""
    with DbStorage(study.pk).locked():
        moved = study.move(StudyState.PAUSED)
        if moved:
            for trial in study.trials.filter(state__in=_values([TrialState.RUNNING, TrialState.QUEUED])):
                pause_trial(trial)
    return moved


def resume(study: Study) -> bool:
    """paused -> running; paused trials queue again, and a pause still
    pending on a running one is cancelled. (A study whose web server, worker
    or Redis crashed stays running; the sweeps re-run its lost trials and
    lost jobs.)"""
    with DbStorage(study.pk).locked():
        moved = study.move(StudyState.RUNNING, among=[StudyState.PAUSED])
        if moved:
            for trial in study.trials.filter(state__in=_values([TrialState.PAUSED, TrialState.RUNNING])):
                # one waiting at an ASHA rung waits on for its promotion (hpopt.algorithms.promotion)
                if waiting_rung(trial.to_record()) is None:
                    resume_trial(trial, fill=False)
            fill_slots(study.pk)
    return moved


def kill(study: Study) -> bool:
    """Ends the study now: every queued, running or paused trial is killed."""
    with DbStorage(study.pk).locked():
        moved = study.move(StudyState.KILLED)
        if moved:
            for trial in study.trials.filter(state__in=_values(ACTIVE_OR_PAUSED)):
                kill_trial(trial, fill=False)
    return moved


def complete(study: Study) -> bool:
    """running -> completed once nothing is left to run; -> failed instead
    when trials failed or were lost and none produced a result: a study
    without a best config has not completed. (Trials the user killed are the
    user's choice, not a failure.)"""
    if study.state == StudyState.RUNNING.value and not study.trials.filter(
            state__in=_values(SCORED_STATES)).exists():
        broken = study.trials.filter(state__in=_values([TrialState.FAILED, TrialState.LOST]))
        first = broken.order_by("number").values_list("error", flat=True).first()
        if first is not None:
            return fail(study, f"no trial produced a result; the first error: {first or 'unknown'}")
    return study.move(StudyState.COMPLETED)


def fail(study: Study, error: str) -> bool:
    """running or paused -> failed; its unfinished trials end with it (a
    failed study cannot be resumed, so they would wait forever)."""
    with DbStorage(study.pk).locked():
        moved = study.move(StudyState.FAILED, error=error)
        if moved:
            for trial in study.trials.filter(state__in=_values(ACTIVE_OR_PAUSED)):
                kill_trial(trial, fill=False, reason=f"the study failed: {error}")
    return moved


def add_budget(study: Study, expected_time_ratio=None, add_trials=None, seconds=None) -> bool:
    """Gives a running, paused or completed study more budget: a larger
    expected_time_ratio, ``add_trials`` more trials, or ``seconds`` more
    wall time (through its time model). It re-plans and goes on from its
    stored state; a completed one runs again (its deadline, if any, moves
    with more wall time and goes with more compute: studies.deadline).
    False when its state does not
    allow it (a draft, killed or failed study); FieldError for bad values."""
    storage = DbStorage(study.pk)
    with storage.locked() as raw:
        study.refresh_from_db()
        if study.state not in (StudyState.RUNNING.value, StudyState.PAUSED.value, StudyState.COMPLETED.value):
            return False
        meta = Meta.from_dict(raw)
        if seconds is not None:
            per_epoch = timing.of_study(study).seconds_per_epoch
            expected_time_ratio = meta.settings.expected_time_ratio + seconds / (
                meta.plan.num_full_iterations * per_epoch)
        storage.save_meta(budget.extended(meta, expected_time_ratio, add_trials).to_dict())
        if study.deadline is not None:
            study.deadline = deadline.extended(study.deadline, seconds, timezone.now())
            Study.objects.filter(pk=study.pk).update(deadline=study.deadline)
        if study.state == StudyState.COMPLETED.value:
            study.move(StudyState.RUNNING, among=[StudyState.COMPLETED], finished=None)
        if study.state == StudyState.RUNNING.value:
            fill_slots(study.pk)
    study.refresh_from_db()
    return True


# -- trials ------------------------------------------------------------------------------
def _job_of(trial: Trial) -> str:
    return Trial.objects.filter(pk=trial.pk).values_list("job_id", flat=True).first() or ""


def _stop_after_commit(job_id: str) -> None:
    if job_id:
        transaction.on_commit(lambda: dispatch.get().stop(job_id))


def pause_trial(trial: Trial) -> bool:
    """A queued trial pauses at once (its job is dropped); a running one at
    its next report, keeping its progress."""
    storage = DbStorage(trial.study_id)
    with storage.locked():
        job_id = _job_of(trial)
        if not controls.pause(storage, trial.number):
            return False
        if Trial.objects.filter(pk=trial.pk, state=TrialState.PAUSED.value).update(job_id="", updated=timezone.now()):
            _stop_after_commit(job_id)
    trial.refresh_from_db()
    return True


def resume_trial(trial: Trial, fill: bool = True) -> bool:
    """paused -> queued; the next attempt gets ``resume_iteration`` and the
    same checkpoint_dir, so the trainer can continue where it stopped. A
    running trial whose pause is still pending just carries on."""
    storage = DbStorage(trial.study_id)
    with storage.locked():
        if not controls.resume(storage, trial.number):
            return False
        # queued again: it needs a job of its own (the one that ran it until
        # the pause may still be finishing; its last writes are fenced off)
        Trial.objects.filter(pk=trial.pk, state=TrialState.QUEUED.value).update(job_id="")
        if fill:
            fill_slots(trial.study_id)
    trial.refresh_from_db()
    return True


def kill_trial(trial: Trial, fill: bool = True, reason: str = "killed by the user") -> bool:
    """Immediate: the state changes now; a running job is stopped, and any
    later report of its trainer answers STOP."""
    storage = DbStorage(trial.study_id)
    with storage.locked():
        job_id = _job_of(trial)
        if not controls.kill(storage, trial.number, reason):
            return False
        _stop_after_commit(job_id)
        if fill:
            fill_slots(trial.study_id)
    trial.refresh_from_db()
    return True


# -- slots -------------------------------------------------------------------------------
def _new_job_id(trial_pk: int) -> str:
    return f"trial-{trial_pk}-{uuid.uuid4().hex[:12]}"


#: the most slots one fill_slots call fills. Each new trial costs the
#: algorithm's decision and a few writes under the study's lock (on SQLite the
#: database's write lock): starting 1024 slots at once held it for seconds
#: (benchmarks/RESULTS.md, issue 13.4). The rest fill as workers take jobs
#: (runner.jobs.run_trial fills again after taking one) and as trials end.
FILL_BATCH = 8


def has_free_slots(study_id: int) -> bool:
    """The study runs with fewer jobs than slots: a look without the lock, so
    that a worker's top-up after taking a job (runner.jobs.run_trial) costs
    a full study no lock. A stale answer only moves a fill to the next job
    taken or trial ended."""
    jobs = Count("trials", filter=Q(trials__state__in=_values([TrialState.QUEUED, TrialState.RUNNING]))
                 & ~Q(trials__job_id=""))
    return Study.objects.filter(pk=study_id, state=StudyState.RUNNING.value).annotate(jobs=jobs).filter(
        jobs__lt=F("parallelism")).exists()


def _remeasure(storage: DbStorage, study: Study, meta: Meta, model) -> Meta:
    """A study with a deadline: its budget re-planned with the compute its
    wall time buys at its pace so far (studies.deadline, ``model`` its time
    model for the ETA), when that differs."""
    now = timezone.now()
    if not deadline.remeasure_due(study.started, study.deadline, now, study.paused_seconds):
        return meta   # (before the SUM over its trials that storage.spent() is)
    idle = deadline.end_idle_seconds(meta.plan, model)
    ratio = deadline.remeasured_ratio(meta.settings, meta.plan, storage.spent(), study.started, study.deadline, now,
                                      study.paused_seconds, idle)
    if ratio is None:
        return meta
    first = meta.raw["plan"].get("remeasured_from", meta.settings.expected_time_ratio)
    try:
        meta = budget.remeasured(meta, ratio)
    except FieldError:   # a ratio no study may have (the field's bounds): the plan stays
        return meta
    # kept with the plan (as planned_trials is), for the page's note (studies.progress.budget_note)
    meta = meta.replace(plan={**meta.raw["plan"], "remeasured_from": first})
    storage.save_meta(meta.to_dict())
    return meta


def fill_slots(study_id: int, limit: int = FILL_BATCH) -> int:
    """Gives up to ``limit`` free slots of a running study a job: queued
    trials without a job first (OOM re-runs, resumed, lost), then trials
    waiting at an ASHA rung that are promoted (promotion="pause"), then new
    trials from the algorithm, then waiting trials the relaxed rule
    promotes: the order of the library's hpopt.engine.next_sample. When
    nothing runs and nothing is handed out, trials still waiting are stopped
    and the study completes. Returns jobs enqueued."""
    storage = DbStorage(study_id)
    with storage.locked() as raw:
        study = Study.objects.get(pk=study_id)
        if study.state != StudyState.RUNNING.value:
            return 0
        trials = Trial.objects.filter(study_id=study_id)
        active = trials.filter(state__in=_values([TrialState.QUEUED, TrialState.RUNNING]))
        free = min(study.parallelism - active.exclude(job_id="").count(), limit)
        waiting = list(trials.filter(state=TrialState.QUEUED.value, job_id="").order_by("number")[: max(free, 0)])
        meta = Meta.from_dict(raw)
        pausing = algorithms.build(meta).pausing
        if pausing:
            waiting += _promoted(storage, meta, free - len(waiting))
        # the study's pace, for a deadline's re-measure and its new-trial rule (read once)
        model = timing.for_eta(study, timing.of_study(study)) if study.deadline and free > len(waiting) else None
        if model is not None:
            meta = _remeasure(storage, study, meta, model)
        if free > len(waiting) and deadline.allows_new_trial(study.deadline, meta.plan, model, timezone.now()):
            try:
                meta, made = engine.propose(storage, snapshot.load(storage, meta), free - len(waiting))
            except HpoError as exc:
                fail(study, str(exc))
                return 0
            waiting += list(trials.filter(number__in=[r.trial_id for r in made]).order_by("number"))
        if pausing and free > len(waiting):
            waiting += _promoted(storage, meta, free - len(waiting), relaxed=True)
        for trial in waiting:
            job_id = _new_job_id(trial.pk)
            Trial.objects.filter(pk=trial.pk).update(job_id=job_id)
            dispatch.get().enqueue(study.trainer, trial.pk, job_id)
        if pausing and not waiting and not active.exists():
            engine.stop_waiting(storage, snapshot.load(storage, meta))
        if not waiting and not trials.filter(state__in=_values(ACTIVE_OR_PAUSED)).exists():
            complete(study)
    return len(waiting)


def _promoted(storage: DbStorage, meta: Meta, count: int, relaxed: bool = False) -> list[Trial]:
    """Up to ``count`` trials waiting at an ASHA rung, promoted (queued to
    resume after their rung: hpopt.engine.promote), as rows to give jobs."""
    numbers = []
    while len(numbers) < count:
        record = engine.promote(storage, snapshot.load(storage, meta), relaxed)
        if record is None:
            break
        numbers.append(record.trial_id)
    rows = Trial.objects.filter(study_id=storage.study_id, number__in=numbers)
    Trial.objects.filter(pk__in=[r.pk for r in rows]).update(job_id="")
    return list(rows.order_by("number"))
