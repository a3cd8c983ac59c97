"""Every attempt of a trial is kept: where it ran, how it ended, its own
output and traceback (issue 16: a trial that ran three times showed the last
run alone); the OOM count is in the API; a trainer's output is held only
until it is sent and kept to its tail."""
import pytest

from runner import jobs
from studies.models import Attempt, Trial


@pytest.fixture
def oom_once_trial(api, trainers, run_burst):
    from tests.conftest import study_data

    r = api.post("/api/studies", study_data(trainer="oom-once", search_alg="bayes_opt", num_trials=1,
                                            num_init_trial=1, parallelism=1, start=True))
    assert r.status_code == 201, r.json()
    run_burst()
    return Trial.objects.get(study_id=r.json()["id"])


def test_a_trial_that_ran_twice_shows_both_attempts_with_their_own_output(oom_once_trial, api):
    body = api.get(f"/api/trials/{oom_once_trial.pk}").json()
    assert body["state"] == "completed" and body["oom_count"] == 1
    first, second = body["attempts"]
    assert (first["number"], first["outcome"], first["oom"]) == (1, "queued", True)
    assert "attempt 1 starts" in first["log"] and "attempt 2" not in first["log"]
    assert "CUDA out of memory" in first["traceback"]
    assert (second["number"], second["outcome"], second["oom"]) == (2, "completed", False)
    assert "attempt 2 starts" in second["log"] and second["traceback"] == ""
    for a in (first, second):
        assert a["started"] and a["ended"] and a["seconds"] >= 0 and a["host"]


def test_the_trial_page_lists_the_attempts(oom_once_trial, client, alice):
    client.force_login(alice)
    page = client.get(f"/trials/{oom_once_trial.pk}/")
    assert page.status_code == 200
    assert b'id="attempts"' in page.content


@pytest.mark.parametrize("state, attempt, outcome", [
    ("running", 1, ""),         # it runs
    ("queued", 1, "lost"),      # its worker vanished, the trial waits to run again
    ("running", 2, "lost"),     # ... and runs again
    ("killed", 1, "killed"),    # a kill stopped its process before it could write its end
])
def test_an_attempt_whose_worker_never_wrote_its_end_reads_as_what_became_of_it(make_study, state, attempt,
                                                                              outcome):
    study = make_study(search_alg="bayes_opt", num_trials=1, num_init_trial=1, parallelism=1, start=True)
    trial = study.trials.get()
    Trial.objects.filter(pk=trial.pk).update(attempt=attempt, state=state)
    trial.refresh_from_db()
    first = Attempt.objects.create(trial=trial, number=1, worker="w1")
    assert first.to_dict(trial)["outcome"] == outcome


def test_output_is_handed_over_once_and_only_its_tail_is_held():
    out = jobs.Output(limit=10)
    out.add("abc")
    assert out.take() == "abc"
    assert out.take() == "", "what was sent is not sent again"
    for _ in range(100):
        out.add("0123456789")
    out.add("xyz")
    assert out.take() == "3456789xyz"


def test_output_that_could_not_be_saved_is_sent_with_the_next_beat():
    out = jobs.Output(limit=10)
    out.add("abc")
    chunk = out.take()
    out.add("def")
    out.give_back(chunk)
    assert out.take() == "abcdef"


def test_the_database_keeps_the_tail_of_an_attempts_log(make_study, monkeypatch):
    monkeypatch.setattr(jobs, "LOG_LIMIT", 200)
    study = make_study(search_alg="bayes_opt", num_trials=1, num_init_trial=1, parallelism=1, start=True)
    trial = study.trials.get()
    Attempt.objects.create(trial=trial, number=0)
    rows = Attempt.objects.filter(trial=trial, number=0)
    jobs.save_output(Trial.objects.filter(pk=trial.pk), rows, "a" * 150)
    jobs.save_output(Trial.objects.filter(pk=trial.pk), rows, "b" * 100)
    assert rows.get().log == "a" * 100 + "b" * 100
    assert Trial.objects.get(pk=trial.pk).log == "a" * 100 + "b" * 100


def test_a_trainer_that_prints_more_than_the_limit_keeps_the_tail(api, trainers, run_burst):
    from tests.conftest import study_data

    r = api.post("/api/studies", study_data(trainer="chatty", search_alg="bayes_opt", num_trials=1, num_init_trial=1,
                                            parallelism=1, num_full_iterations=1, max_iterations=1, start=True))
    assert r.status_code == 201, r.json()
    run_burst()
    (attempt,) = Attempt.objects.filter(trial__study_id=r.json()["id"])
    assert len(attempt.log) == jobs.LOG_LIMIT < 5000 * 100
    assert attempt.log.endswith("line 04999 ".ljust(99, ".") + "\n")
    assert Trial.objects.get(study_id=r.json()["id"]).log == attempt.log
