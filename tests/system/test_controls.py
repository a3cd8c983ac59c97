"""Pause, resume and kill on a real worker process running the 'slow' test
trainer (it sleeps between epochs, so a click lands mid-trial)."""
import pytest
from rq.job import Job

from studies.models import Study, Trial
from tests.conftest import stored_scores, study_data, wait_for

pytestmark = pytest.mark.system

EPOCH_SECONDS = 0.4
SLOW = dict(trainer="slow", search_alg="bayes_opt", num_trials=1, max_iterations=8, parallelism=1, start=True)


@pytest.fixture
def worker(workers):
    # heartbeats (and the trial's log with them) every second
    return workers.start(HPOPT_TEST_EPOCH_SECONDS=EPOCH_SECONDS, HPOPT_HEARTBEAT_TIMEOUT=4)


def start_study(api, **overrides) -> Study:
    r = api.post("/api/studies", study_data(**{**SLOW, **overrides}))
    assert r.status_code == 201, r.json()
    return Study.objects.get(pk=r.json()["id"])


def reported(trial, n: int) -> bool:
    return trial.scores.count() >= n


def test_a_kill_stops_the_running_job_within_5_seconds(api, trainers, worker, redis_conn):
    study = start_study(api)
    trial = study.trials.get()
    wait_for(lambda: reported(trial, 1), 30, message="the first report")
    # the output is saved with the heartbeat (every second here), not only when the trainer returns
    wait_for(lambda: "epoch 1" in Trial.objects.get(pk=trial.pk).log, 5, message="the log so far")
    trial.refresh_from_db()
    job = Job.fetch(trial.job_id, connection=redis_conn)
    assert job.get_status() == "started"

    def worker_row():
        (row,) = [w for w in api.get("/api/workers").json()["workers"] if w["name"] == worker.name]
        return row

    assert (worker_row()["state"], worker_row()["current_trial"]) == ("busy", trial.pk)

    r = api.post(f"/api/trials/{trial.pk}/kill")
    assert r.status_code == 200
    assert r.json()["state"] == "killed"
    # RQ's stop-job command ends the work horse; the trainer does not get to its next epoch
    wait_for(lambda: job.get_status() in ("stopped", "failed"), 5, message="the job to stop")
    wait_for(lambda: not worker.horse_pids(), 5, message="the work horse to exit")
    scores = stored_scores(trial)
    trial.refresh_from_db()
    assert trial.state == "killed"
    assert len(scores) < 8
    assert trial.last_iteration == len(scores)
    assert Study.objects.get(pk=study.pk).state == "completed", "nothing was left to run"
    assert "slow trainer: epoch 1" in trial.log, "what the trainer printed before the kill is kept"
    wait_for(lambda: worker_row()["state"] == "idle", 5, message="the worker to show as idle")
    assert worker_row()["current_trial"] is None


def test_the_worker_takes_the_next_trial_after_a_kill(api, trainers, worker):
    study = start_study(api, num_trials=2, max_iterations=3)
    first = study.trials.get(number=0)
    wait_for(lambda: reported(first, 1), 30, message="the first report")
    api.post(f"/api/trials/{first.pk}/kill")
    wait_for(lambda: Study.objects.get(pk=study.pk).state == "completed", 30, message="the study to finish")
    assert list(study.trials.order_by("number").values_list("state", flat=True)) == ["killed", "completed"]
    second = study.trials.get(number=1)
    assert second.owner == worker.name


def test_a_paused_trial_resumes_where_it_stopped(api, trainers, worker):
    study = start_study(api, max_iterations=6)
    trial = study.trials.get()
    wait_for(lambda: reported(trial, 2), 30, message="two reports")
    assert api.post(f"/api/trials/{trial.pk}/pause").status_code == 200
    wait_for(lambda: Trial.objects.get(pk=trial.pk).state == "paused", 10, message="the trial to pause")
    trial.refresh_from_db()
    kept = dict(trial.scores.values_list("iteration", "created"))
    assert trial.resume_iteration == trial.last_iteration == len(kept) >= 2
    assert Study.objects.get(pk=study.pk).state == "running", "a paused trial keeps its study open"

    assert api.post(f"/api/trials/{trial.pk}/resume").status_code == 200
    wait_for(lambda: Study.objects.get(pk=study.pk).state == "completed", 30, message="the study to finish")
    trial.refresh_from_db()
    assert (trial.state, trial.attempt) == ("completed", 2)
    assert [i for i, _ in stored_scores(trial)] == list(range(1, 7))
    # the second run continued after the kept iterations: it did not train them again
    assert {i: c for i, c in trial.scores.values_list("iteration", "created") if i in kept} == kept


def test_a_paused_study_pauses_its_trials_and_resumes_them(api, trainers, worker):
    study = start_study(api, num_trials=3, max_iterations=4, parallelism=2)
    wait_for(lambda: study.scores.exists(), 30, message="a first report")
    assert api.post(f"/api/studies/{study.pk}/pause").status_code == 200
    wait_for(lambda: not study.trials.filter(state="running").exists(), 10, message="the running trial to pause")
    assert set(study.trials.values_list("state", flat=True)) == {"paused"}
    assert study.trials.count() == 2, "a paused study starts no new trial"

    assert api.post(f"/api/studies/{study.pk}/resume").status_code == 200
    wait_for(lambda: Study.objects.get(pk=study.pk).state == "completed", 60, message="the study to finish")
    assert list(study.trials.values_list("state", flat=True)) == ["completed"] * 3
    for trial in study.trials.all():
        assert [i for i, _ in stored_scores(trial)] == [1, 2, 3, 4]


def test_a_killed_study_stops_its_running_trial(api, trainers, worker, redis_conn):
    study = start_study(api, num_trials=3, parallelism=1)
    trial = study.trials.get(number=0)
    wait_for(lambda: reported(trial, 1), 30, message="the first report")
    # the output is saved with the heartbeat (every second here), not only when the trainer returns
    wait_for(lambda: "epoch 1" in Trial.objects.get(pk=trial.pk).log, 5, message="the log so far")
    trial.refresh_from_db()
    job = Job.fetch(trial.job_id, connection=redis_conn)
    assert api.post(f"/api/studies/{study.pk}/kill").json()["state"] == "killed"
    wait_for(lambda: job.get_status() in ("stopped", "failed"), 5, message="the job to stop")
    assert set(study.trials.values_list("state", flat=True)) == {"killed"}
    assert study.trials.count() == 1
