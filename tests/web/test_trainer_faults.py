"""Trainers that misbehave: each trial ends in a clear state, with the
reason in GET /api/trials/<id> (which the trial page shows).

raise -> failed with the exception (also tests/web/test_failed_trials.py);
return without reporting -> failed, "returned without reporting";
NaN -> report() raises ValueError in the trainer, nothing stored, failed with that message;
report after being killed or stopped -> STOP, nothing stored, the state stays;
hang without reporting -> failed after HPOPT_REPORT_TIMEOUT (studies.sweeps.sweep_silent;
with a real worker in tests/system/test_trainer_faults.py);
a module that fails to import -> tests/system/test_trainer_faults.py."""
from datetime import timedelta

import pytest
from django.utils import timezone

import hpopt
from studies import control
from studies.models import Study, Trial
from studies.sweeps import sweep_silent
from tests.conftest import claim, stored_scores, study_data
from tests.trainers import curve

ONE_AT_A_TIME = dict(search_alg="bayes_opt", num_trials=2, parallelism=1, start=True)


@pytest.fixture
def run_study(api, trainers, run_burst):
    def run(trainer: str, **overrides) -> Study:
        r = api.post("/api/studies", study_data(trainer=trainer, **{**ONE_AT_A_TIME, **overrides}))
        assert r.status_code == 201, r.json()
        run_burst()
        return Study.objects.get(pk=r.json()["id"])

    return run


def trial_api(api, trial) -> dict:
    r = api.get(f"/api/trials/{trial.pk}")
    assert r.status_code == 200
    assert r["Content-Type"] == "application/json"
    return r.json()


@pytest.mark.parametrize("trainer, error", [
    ("crash", "ValueError: boom: the trainer failed"),
    ("silent", "the trainer returned without reporting a score"),
    ("nan", "ValueError: score must be a finite number (got nan); nothing was stored"),
])
def test_a_misbehaving_trainer_fails_its_trials_with_the_reason(run_study, api, trainer, error):
    study = run_study(trainer)
    for trial in study.trials.all():
        body = trial_api(api, trial)
        assert (body["state"], body["error"]) == ("failed", error)
        assert body["finished"] is not None
    assert study.state == "failed"
    assert study.error.endswith(error)


def test_a_trainers_nul_characters_and_bad_bytes_are_stored_visibly(run_study, api):
    """PostgreSQL's text holds no NUL: the failure was not recorded (the trial
    stayed running, ran again, and ended lost with an empty log)."""
    study = run_study("nul", num_trials=1)
    trial = study.trials.get()
    body = trial_api(api, trial)
    assert (body["state"], body["error"], body["attempt"]) == ("failed", "ValueError: bad byte \\x00 in input", 1)
    trial.refresh_from_db()
    assert "a NUL \\x00 here, a bad byte \\udcff" in trial.log
    assert "ValueError: bad byte \\x00 in input" in trial.traceback
    assert stored_scores(trial) == [(1, 0.25)]


def test_a_nan_report_stores_nothing_and_keeps_the_scores_before_it(run_study, api):
    trial = run_study("nan").trials.first()
    body = trial_api(api, trial)
    assert body["scores"] == [[1, 0.25]]
    assert "ValueError: score must be a finite number" in body["traceback"]


def test_reports_after_the_algorithm_said_stop_are_ignored(run_study, api):
    """'ignores-stop' reports every epoch whatever report() answers: once its
    trial ended, each later report answers STOP and stores nothing."""
    study = run_study("ignores-stop", num_trials=1, max_iterations=4)
    trial = study.trials.get()
    # bayes_opt without median_stop never stops early: the trial completes at
    # its last iteration, and the trainer had nothing more to report
    assert (trial.state, trial.last_iteration) == ("completed", 4)

    asha = run_study("ignores-stop", search_alg="asha", num_trials=6, parallelism=1, reduction_factor=3)
    stopped = asha.trials.filter(state="stopped")
    assert stopped.exists(), "ASHA stopped some trials"
    for trial in stopped:
        assert [i for i, _ in stored_scores(trial)] == list(range(1, trial.last_iteration + 1))
        assert trial.last_iteration < trial.iterations, "its later reports stored nothing"


def test_a_report_after_a_kill_is_ignored_and_the_reason_stays(api, make_study, transactional_db):
    trial = make_study(**ONE_AT_A_TIME).trials.get(number=0)
    config = claim(trial)
    assert hpopt.report(config, curve(config["params"], 1)) == hpopt.Status.RUNNING
    assert api.post(f"/api/trials/{trial.pk}/kill").status_code == 200
    assert hpopt.report(config, curve(config["params"], 2)) == hpopt.Status.STOP
    body = trial_api(api, trial)
    assert (body["state"], body["error"], len(body["scores"])) == ("killed", "killed by the user", 1)


def test_a_trial_without_a_report_for_the_timeout_fails_and_frees_its_slot(make_study, settings, transactional_db):
    settings.HPOPT_REPORT_TIMEOUT = 30
    study = make_study(**ONE_AT_A_TIME)
    trial = study.trials.get(number=0)
    config = claim(trial)
    Trial.objects.filter(pk=trial.pk).update(started=timezone.now())  # as run_trial does
    hpopt.report(config, 0.5)

    assert sweep_silent(now=timezone.now() + timedelta(seconds=29)) == 0, "a report within the timeout keeps it"
    assert sweep_silent(now=timezone.now() + timedelta(seconds=31)) == 1
    trial.refresh_from_db()
    assert trial.state == "failed"
    assert trial.error.startswith("no report for 30 s")
    assert trial.finished is not None
    nxt = study.trials.get(number=1)
    assert nxt.state == "queued" and nxt.job_id, "its slot went to the next trial"


def test_the_report_timeout_counts_from_the_start_of_an_attempt(make_study, settings, transactional_db):
    """A trial resumed after a long pause is not timed out by its old last report."""
    settings.HPOPT_REPORT_TIMEOUT = 30
    trial = make_study(**ONE_AT_A_TIME).trials.get(number=0)
    claim(trial)
    long_ago = timezone.now() - timedelta(hours=2)
    Trial.objects.filter(pk=trial.pk).update(started=timezone.now(), last_report=long_ago)
    assert sweep_silent() == 0
    Trial.objects.filter(pk=trial.pk).update(started=long_ago)
    assert sweep_silent() == 1


def test_a_paused_or_queued_trial_never_times_out(make_study, settings, transactional_db):
    settings.HPOPT_REPORT_TIMEOUT = 1
    study = make_study(**{**ONE_AT_A_TIME, "parallelism": 2})
    Trial.objects.filter(study=study).update(started=timezone.now() - timedelta(hours=1))
    control.pause_trial(study.trials.get(number=0))
    assert sweep_silent() == 0
    assert set(study.trials.values_list("state", flat=True)) == {"paused", "queued"}


def test_a_key_error_inside_the_trainer_is_reported_as_the_trainers_own(make_study, transactional_db):
    """Only an unregistered name gets the registry's message; a trainer that
    raises KeyError itself fails with 'KeyError: ...' and its traceback."""
    from runner.jobs import run_trial

    study = make_study(trainer="quick", search_alg="bayes_opt", num_trials=1, parallelism=1, start=True)
    trial = study.trials.get()
    Trial.objects.filter(pk=trial.pk).update(params={"opt": "adam"})  # 'x' is missing: curve() raises KeyError
    assert run_trial(trial.pk, trial.job_id) == "failed"
    trial.refresh_from_db()
    assert trial.error == "KeyError: 'x'"
    assert "Traceback (most recent call last)" in trial.traceback


def test_a_waiting_trial_says_no_worker_offers_its_trainer_until_one_runs_it(make_study, run_burst):
    from runner.sweeper import explain_waiting

    study = make_study(search_alg="bayes_opt", num_trials=1, parallelism=1, start=True)
    assert explain_waiting() == 1, "no worker is alive in this test"
    trial = study.trials.get()
    assert trial.error == ("waiting: no live worker offers trainer 'quick'; "
                           "start one on a host that has it (hpopt-web worker)")
    assert explain_waiting() == 0, "said once"
    run_burst()
    trial.refresh_from_db()
    assert (trial.state, trial.error) == ("completed", "")


def test_a_waiting_trial_says_why_the_live_workers_do_not_offer_its_trainer(make_study, transactional_db):
    from runner.models import Worker
    from runner.sweeper import explain_waiting

    study = make_study(search_alg="bayes_opt", num_trials=1, parallelism=1, start=True)
    Worker.objects.create(name="cpu-1", host="h", queues=["hpopt-slow"],
                          skipped={"quick": "needs a GPU and this worker has none", "other": "needs torch"})
    explain_waiting()
    assert study.trials.get().error == ("waiting: no live worker offers trainer 'quick'; "
                                        "worker cpu-1 does not offer 'quick' (needs a GPU and this worker has none)")
