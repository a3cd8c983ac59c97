"""Killing one trial: the state changes at once; a later report answers STOP
and stores nothing; a job still waiting in its queue is cancelled."""
import pytest
from rq.job import Job

import hpopt
from hpopt import engine
from studies import control
from studies.models import Trial
from studies.storage import DbStorage
from tests.conftest import claim, stored_scores
from tests.trainers import curve

STEADY = dict(search_alg="bayes_opt", num_trials=2, max_iterations=8, parallelism=1, start=True)


def report(config, iteration):
    return hpopt.report(config, curve(config["params"], iteration), iteration=iteration)


@pytest.mark.django_db
def test_a_running_trial_is_killed_at_once(api, make_study):
    trial = make_study(**STEADY).trials.get(number=0)
    config = claim(trial)
    report(config, 1)
    r = api.post(f"/api/trials/{trial.pk}/kill")
    assert r.status_code == 200
    body = r.json()
    assert body["state"] == "killed"
    assert body["finished"] is not None
    assert body["error"] == "killed by the user"


@pytest.mark.django_db
def test_a_report_after_a_kill_answers_stop_and_stores_nothing(make_study):
    trial = make_study(**STEADY).trials.get(number=0)
    config = claim(trial)
    report(config, 1)
    report(config, 2)
    assert control.kill_trial(trial) is True
    assert report(config, 3) == hpopt.Status.STOP
    assert hpopt.reportOOM(config) == hpopt.Status.STOP
    trial.refresh_from_db()
    assert trial.state == "killed"
    assert trial.last_iteration == 2
    assert [i for i, _ in stored_scores(trial)] == [1, 2]


@pytest.mark.django_db
def test_a_killed_trial_stays_killed_when_its_trainer_returns(make_study):
    trial = make_study(**STEADY).trials.get(number=0)
    config = claim(trial)
    report(config, 1)
    control.kill_trial(trial)
    assert engine.finish(DbStorage(trial.study_id), config["trial_id"]) is hpopt.TrialState.KILLED
    assert Trial.objects.get(pk=trial.pk).state == "killed"


@pytest.mark.django_db
@pytest.mark.parametrize("state", ["completed", "killed"])
def test_a_finished_trial_cannot_be_killed(api, make_study, state):
    trial = make_study(**STEADY).trials.get(number=0)
    config = claim(trial)
    if state == "completed":
        for i in range(1, 9):
            report(config, i)
    else:
        control.kill_trial(trial)
    r = api.post(f"/api/trials/{trial.pk}/kill")
    assert r.status_code == 409
    assert r.json()["errors"]["__all__"] == f"cannot kill a trial that is {state}"


@pytest.mark.django_db
def test_a_paused_trial_can_be_killed(make_study):
    trial = make_study(**STEADY).trials.get(number=0)
    control.pause_trial(trial)
    assert control.kill_trial(trial) is True
    assert Trial.objects.get(pk=trial.pk).state == "killed"


def test_killing_a_queued_trial_cancels_its_job_and_frees_its_slot(make_study, redis_conn, transactional_db):
    study = make_study(**STEADY)
    trial = study.trials.get(number=0)
    job = Job.fetch(trial.job_id, connection=redis_conn)
    assert job.get_status() == "queued"

    assert control.kill_trial(trial) is True
    assert job.get_status() == "canceled"
    # the slot went to the study's next trial
    nxt = study.trials.get(number=1)
    assert nxt.state == "queued"
    assert Job.fetch(nxt.job_id, connection=redis_conn).get_status() == "queued"


def test_a_killed_trial_is_not_run_by_a_worker(make_study, run_burst):
    study = make_study(**STEADY)
    trial = study.trials.get(number=0)
    control.kill_trial(trial)
    run_burst()
    trial.refresh_from_db()
    assert trial.state == "killed"
    assert trial.attempt == 0
    assert stored_scores(trial) == []
    assert study.trials.get(number=1).state == "completed"
