"""Pausing and resuming one trial: a queued trial pauses at once; a running
one at its next report, keeping its progress; resuming queues it again and
its next run continues after its last iteration, in the same checkpoint_dir."""
import pytest

import hpopt
from studies import control
from studies.models import Trial
from tests.conftest import claim, stored_scores
from tests.trainers import curve

pytestmark = pytest.mark.django_db

#: no early stopping: a trial runs all 8 iterations unless paused or killed
STEADY = dict(search_alg="bayes_opt", num_trials=2, max_iterations=8, parallelism=1, start=True)


def report(config, iteration):
    return hpopt.report(config, curve(config["params"], iteration), iteration=iteration)


def test_a_queued_trial_pauses_at_once(api, make_study):
    trial = make_study(**STEADY).trials.get(number=0)
    r = api.post(f"/api/trials/{trial.pk}/pause")
    assert r.status_code == 200
    assert r.json()["state"] == "paused"
    trial.refresh_from_db()
    assert (trial.state, trial.job_id) == ("paused", "")


def test_a_running_trial_pauses_at_its_next_report(api, make_study):
    trial = make_study(**STEADY).trials.get(number=0)
    config = claim(trial)
    assert report(config, 1) == hpopt.Status.RUNNING
    assert report(config, 2) == hpopt.Status.RUNNING

    r = api.post(f"/api/trials/{trial.pk}/pause")
    assert r.status_code == 200
    assert (r.json()["state"], r.json()["pending"]) == ("running", "pause")

    assert report(config, 3) == hpopt.Status.STOP
    trial.refresh_from_db()
    assert trial.state == "paused"
    assert (trial.last_iteration, trial.resume_iteration, trial.pending) == (3, 3, "")
    assert [i for i, _ in stored_scores(trial)] == [1, 2, 3]


def test_a_paused_trial_answers_stop_and_stores_nothing(make_study):
    trial = make_study(**STEADY).trials.get(number=0)
    config = claim(trial)
    report(config, 1)
    control.pause_trial(trial)
    report(config, 2)
    assert report(config, 3) == hpopt.Status.STOP
    trial.refresh_from_db()
    assert trial.state == "paused"
    assert [i for i, _ in stored_scores(trial)] == [1, 2]


def test_a_resumed_trial_continues_after_its_last_iteration_in_the_same_checkpoint_dir(api, make_study):
    trial = make_study(**STEADY).trials.get(number=0)
    first = claim(trial)
    for i in (1, 2):
        report(first, i)
    control.pause_trial(trial)
    report(first, 3)

    r = api.post(f"/api/trials/{trial.pk}/resume")
    assert r.status_code == 200
    assert r.json()["state"] == "queued"
    trial.refresh_from_db()
    assert trial.job_id, "a resumed trial gets a job"

    second = claim(trial)
    assert second["resume_iteration"] == 3
    assert second["checkpoint_dir"] == first["checkpoint_dir"]
    assert second["params"] == first["params"]
    assert second["attempt"] == 2
    for i in range(4, 9):
        status = report(second, i)
    assert status == hpopt.Status.STOP
    trial.refresh_from_db()
    assert trial.state == "completed"
    assert [i for i, _ in stored_scores(trial)] == list(range(1, 9))


def test_checkpoint_dirs_are_per_trial(make_study):
    study = make_study(**{**STEADY, "parallelism": 2})
    a, b = (claim(t) for t in study.trials.order_by("number"))
    assert a["checkpoint_dir"] != b["checkpoint_dir"]
    assert a["checkpoint_dir"].endswith(f"study-{study.pk}/trial-0")


def test_only_a_paused_trial_can_be_resumed(api, make_study):
    trial = make_study(**STEADY).trials.get(number=0)
    r = api.post(f"/api/trials/{trial.pk}/resume")
    assert r.status_code == 409
    assert r.json()["errors"]["__all__"] == "cannot resume a trial that is queued"
    assert Trial.objects.get(pk=trial.pk).state == "queued"


def test_a_finished_trial_cannot_be_paused(api, make_study):
    trial = make_study(**STEADY).trials.get(number=0)
    config = claim(trial)
    for i in range(1, 9):
        report(config, i)
    r = api.post(f"/api/trials/{trial.pk}/pause")
    assert r.status_code == 409
    trial.refresh_from_db()
    assert (trial.state, trial.pending) == ("completed", "")


def test_resuming_a_trial_before_its_next_report_cancels_the_pending_pause(api, make_study):
    trial = make_study(**STEADY).trials.get(number=0)
    config = claim(trial)
    report(config, 1)
    control.pause_trial(trial)
    r = api.post(f"/api/trials/{trial.pk}/resume")
    assert r.status_code == 200
    assert (r.json()["state"], r.json()["pending"]) == ("running", "")
    assert report(config, 2) == hpopt.Status.RUNNING
    assert Trial.objects.get(pk=trial.pk).state == "running"


def test_a_trial_that_ends_with_a_pause_pending_shows_no_pending_pause(api, make_study):
    from hpopt import engine
    from studies.storage import DbStorage

    trial = make_study(**STEADY).trials.get(number=0)
    config = claim(trial)
    report(config, 1)
    control.pause_trial(trial)
    engine.finish(DbStorage(trial.study_id), config["trial_id"])  # the trainer returned
    body = api.get(f"/api/trials/{trial.pk}").json()
    assert body["state"] == "completed"
    assert body["pending"] == ""
