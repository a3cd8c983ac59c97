"""A study's state machine, through its model methods:
draft -> running -> (paused <-> running) -> completed | killed | failed.
Each method answers False, and changes nothing, when the move is not allowed."""
import pytest

from hpopt.status import StudyState, TrialState
from runner.dispatch import queue_name
from studies import control
from studies.models import Study
from tests.conftest import trainer_queues

pytestmark = pytest.mark.django_db


def reloaded(study) -> Study:
    return Study.objects.get(pk=study.pk)


def queued_job_count(redis_conn) -> int:
    return sum(q.count for q in trainer_queues(redis_conn))


def test_a_new_study_is_a_draft_with_no_trials(make_study):
    study = make_study()
    assert study.state == StudyState.DRAFT.value
    assert study.trials.count() == 0
    assert study.started is None


def test_starting_a_draft_runs_it_and_queues_one_trial_per_slot(make_study):
    study = make_study(parallelism=3)
    assert control.start(study) is True
    study = reloaded(study)
    assert study.state == "running"
    assert study.started is not None
    trials = list(study.trials.all())
    assert [t.number for t in trials] == [0, 1, 2]
    assert all(t.state == "queued" and t.job_id for t in trials)


def test_jobs_are_enqueued_only_after_the_commit(make_study, redis_conn, django_capture_on_commit_callbacks):
    study = make_study(parallelism=2)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        control.start(study)
        assert queued_job_count(redis_conn) == 0
    assert len(callbacks) == 2
    for callback in callbacks:
        callback()
    queue = next(q for q in trainer_queues(redis_conn) if q.name == queue_name("quick"))
    assert sorted(queue.job_ids) == sorted(study.trials.values_list("job_id", flat=True))
    assert [job.args for job in queue.jobs] == [(t.pk, t.job_id) for t in study.trials.order_by("number")]


def test_a_study_started_twice_starts_once(make_study):
    study = make_study()
    assert control.start(study) is True
    assert control.start(reloaded(study)) is False
    assert study.trials.count() == study.parallelism


def test_pausing_a_running_study_pauses_its_queued_trials(make_study):
    study = make_study(start=True)
    assert control.pause(study) is True
    study = reloaded(study)
    assert study.state == "paused"
    assert set(study.trials.values_list("state", flat=True)) == {"paused"}
    assert set(study.trials.values_list("job_id", flat=True)) == {""}


def test_pausing_a_running_study_asks_its_running_trials_to_pause_at_their_next_report(make_study):
    from tests.conftest import claim

    study = make_study(start=True)
    running = study.trials.get(number=0)
    claim(running)
    assert control.pause(study) is True
    running.refresh_from_db()
    assert running.state == "running"
    assert running.pending == "pause"


def test_resuming_a_paused_study_queues_its_paused_trials_again(make_study):
    study = make_study(start=True, parallelism=2)
    control.pause(study)
    assert control.resume(reloaded(study)) is True
    study = reloaded(study)
    assert study.state == "running"
    trials = list(study.trials.all())
    assert len(trials) == 2
    assert all(t.state == "queued" and t.job_id for t in trials)


def test_killing_a_study_kills_every_unfinished_trial(make_study):
    from tests.conftest import claim

    study = make_study(start=True, parallelism=3)
    claim(study.trials.get(number=0))
    control.pause_trial(study.trials.get(number=1))
    assert control.kill(study) is True
    study = reloaded(study)
    assert study.state == "killed"
    assert study.finished is not None
    assert set(study.trials.values_list("state", flat=True)) == {"killed"}


def test_a_killed_study_cannot_be_started_paused_resumed_or_killed_again(make_study):
    study = make_study(start=True)
    control.kill(study)
    study = reloaded(study)
    answers = (control.start(study), control.pause(study), control.resume(study), control.kill(study))
    assert answers == (False, False, False, False)
    assert reloaded(study).state == "killed"


def test_a_draft_can_be_killed_but_not_paused_or_resumed(make_study):
    study = make_study()
    assert control.pause(study) is False
    assert control.resume(study) is False
    assert control.kill(study) is True
    assert reloaded(study).state == "killed"


def test_a_running_study_completes_once(make_study):
    study = make_study(start=True)
    assert control.complete(study) is True
    assert reloaded(study).state == "completed"
    assert reloaded(study).finished is not None
    assert control.complete(study) is False
    assert control.pause(reloaded(study)) is False


def test_a_paused_study_does_not_complete(make_study):
    study = make_study(start=True)
    control.pause(study)
    assert control.complete(reloaded(study)) is False
    assert reloaded(study).state == "paused"


def test_a_failing_study_keeps_its_error(make_study):
    study = make_study(start=True)
    assert control.fail(study, "batch size exhausted") is True
    study = reloaded(study)
    assert (study.state, study.error) == ("failed", "batch size exhausted")
    assert control.fail(study, "again") is False
    assert reloaded(study).error == "batch size exhausted"


def test_a_paused_study_starts_no_new_trials(make_study):
    from studies.control import fill_slots

    study = make_study(start=True, parallelism=2)
    control.pause(study)
    assert fill_slots(study.pk) == 0
    assert study.trials.count() == 2
    assert not study.trials.filter(state=TrialState.QUEUED.value).exists()


def test_resuming_a_study_before_its_running_trial_reported_cancels_the_pending_pause(make_study):
    import hpopt
    from tests.conftest import claim

    study = make_study(search_alg="bayes_opt", num_trials=2, max_iterations=8, parallelism=1, start=True)
    trial = study.trials.get(number=0)
    config = claim(trial)
    control.pause(study)
    assert control.resume(reloaded(study)) is True
    # the trainer's next report comes after the resume: it carries on
    assert hpopt.report(config, 0.5) == hpopt.Status.RUNNING
    trial.refresh_from_db()
    assert (trial.state, trial.pending) == ("running", "")


def test_a_move_the_table_never_allows_is_a_named_error_not_a_no(make_study):
    """A click on a study in the wrong state answers False (409 in the API);
    code asking for a move the transition table has no arrow for raises."""
    from hpopt.errors import IllegalTransition

    study = make_study()
    with pytest.raises(IllegalTransition, match="from killed to running"):
        study.move(StudyState.RUNNING, among=[StudyState.KILLED])
    assert study.move(StudyState.PAUSED) is False, "a draft is not running: nothing to pause"
    assert reloaded(study).state == "draft"
