"""Trainers that misbehave in a real worker: one that hangs without
reporting fails after HPOPT_REPORT_TIMEOUT and its job is stopped; a trainer
module that fails to import leaves the worker running, its error recorded,
and a study of that trainer says why nothing runs it."""
import pytest
from rq.job import Job

from runner.models import Trainer
from studies.models import Study, Trial
from tests.conftest import study_data, wait_for

pytestmark = pytest.mark.system


def test_a_hanging_trainer_fails_after_the_report_timeout_and_its_job_is_stopped(api, trainers, workers, redis_conn):
    worker = workers.start(HPOPT_REPORT_TIMEOUT=2, HPOPT_HEARTBEAT_TIMEOUT=4)
    r = api.post("/api/studies", study_data(trainer="hang", search_alg="bayes_opt", num_trials=1, parallelism=1,
                                            start=True))
    study = Study.objects.get(pk=r.json()["id"])
    trial = study.trials.get()
    wait_for(lambda: trial.scores.exists(), 30, message="the first report")
    trial.refresh_from_db()
    job = Job.fetch(trial.job_id, connection=redis_conn)

    # the heartbeat thread keeps beating while the trainer hangs: only the report timeout ends it
    wait_for(lambda: Trial.objects.get(pk=trial.pk).state != "running", 30, message="the trial to time out")
    body = api.get(f"/api/trials/{trial.pk}").json()
    assert body["state"] == "failed"
    assert body["error"].startswith("no report for 2 s")
    wait_for(lambda: job.get_status() in ("stopped", "failed"), 10, message="its job to stop")
    wait_for(lambda: not worker.horse_pids(), 10, message="the work horse to exit")
    wait_for(lambda: Study.objects.get(pk=study.pk).state == "failed", 10, message="the study to end")
    assert "no report for 2 s" in Study.objects.get(pk=study.pk).error


def test_a_trainer_module_that_fails_to_import_is_reported_where_it_matters(api, trainers, workers):
    worker = workers.start(HPOPT_TRAINERS="tests.trainers,tests.broken_trainers", HPOPT_HEARTBEAT_TIMEOUT=4)
    assert worker.proc.poll() is None, "the worker runs the trainers it could import"
    assert "trainer module tests.broken_trainers failed to import: ModuleNotFoundError" in worker.log()
    (row,) = [w for w in api.get("/api/workers").json()["workers"] if w["name"] == worker.name]
    assert row["import_errors"] == {
        "tests.broken_trainers": "ModuleNotFoundError: No module named 'hpopt_test_dependency_that_is_not_installed'"}
    assert "hpopt-quick" in row["queues"]

    # nobody offers 'broken': creating a study of it says why
    r = api.post("/api/studies", study_data(trainer="broken"))
    assert r.status_code == 400
    assert f"worker {worker.name} could not import tests.broken_trainers" in r.json()["errors"]["trainer"]

    # a study made while another host offered it (that host is gone): its trials wait, saying why
    Trainer.objects.create(name="broken")
    r = api.post("/api/studies", study_data(trainer="broken", search_alg="bayes_opt", num_trials=1, parallelism=1,
                                            start=True))
    assert r.status_code == 201, r.json()
    trial = Study.objects.get(pk=r.json()["id"]).trials.get()
    wait_for(lambda: Trial.objects.get(pk=trial.pk).error, 15, message="the waiting trial to say why")
    body = api.get(f"/api/trials/{trial.pk}").json()
    assert body["state"] == "queued"
    assert body["error"].startswith("waiting: no live worker offers trainer 'broken'")
    assert "could not import tests.broken_trainers (ModuleNotFoundError" in body["error"]
