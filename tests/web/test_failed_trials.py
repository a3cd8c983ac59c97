"""Trainers that crash or never report: the trial fails with its error,
traceback and output stored, and GET /api/trials/<id> shows them."""
import pytest

from studies.models import Study


@pytest.fixture
def run_study(api, trainers, run_burst):
    def run(trainer: str) -> Study:
        from tests.conftest import study_data

        body = study_data(trainer=trainer, search_alg="bayes_opt", num_trials=2, parallelism=1, start=True)
        r = api.post("/api/studies", body)
        assert r.status_code == 201, r.json()
        run_burst()
        return Study.objects.get(pk=r.json()["id"])

    return run


def test_a_crashing_trainer_fails_its_trials_with_the_traceback(run_study, api):
    study = run_study("crash")
    assert study.trials.count() == 2
    for trial in study.trials.all():
        body = api.get(f"/api/trials/{trial.pk}").json()
        assert body["state"] == "failed"
        assert body["error"] == "ValueError: boom: the trainer failed"
        assert "Traceback (most recent call last)" in body["traceback"]
        assert 'raise ValueError("boom: the trainer failed")' in body["traceback"]
        assert body["scores"] == [[1, 0.1]], "the score reported before the crash is kept"
        assert body["finished"] is not None
    # no trial produced a result, so the study did not complete: it failed, saying why
    assert study.state == "failed"
    assert study.error == "no trial produced a result; the first error: ValueError: boom: the trainer failed"


def test_a_trainer_that_never_reports_fails_its_trials_and_keeps_their_output(run_study, api):
    study = run_study("silent")
    for trial in study.trials.all():
        body = api.get(f"/api/trials/{trial.pk}").json()
        assert body["state"] == "failed"
        assert body["error"] == "the trainer returned without reporting a score"
        assert "training, but never reporting" in body["log"]
        assert body["scores"] == []
    assert api.get(f"/api/studies/{study.pk}/best-config").status_code == 404
    study.refresh_from_db()
    assert study.state == "failed"
    assert study.error.startswith("no trial produced a result; the first error: the trainer returned without")


def test_a_trainer_unknown_to_the_worker_fails_the_trial_with_a_clear_error(make_study, transactional_db):
    from runner.jobs import run_trial
    from studies.models import Trial

    study = make_study(search_alg="bayes_opt", num_trials=1, parallelism=1, start=True)
    # as if the study named a trainer this worker's registry does not have
    Study.objects.filter(pk=study.pk).update(trainer="not-on-this-host")
    trial = study.trials.get()
    run_trial(trial.pk, trial.job_id)
    trial = Trial.objects.get(pk=trial.pk)
    assert trial.state == "failed"
    assert "no trainer named 'not-on-this-host'" in trial.error
