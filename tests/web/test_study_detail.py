"""GET /api/studies/<id>?since=<cursor>: the live page's poll. The first call
returns everything; a call with the returned cursor only what is new."""
from datetime import timedelta

import pytest
from django.utils import timezone

import hpopt
from studies import control
from studies.models import Trial
from tests.conftest import claim

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(make_study):
    return make_study(search_alg="bayes_opt", num_trials=4, max_iterations=8, parallelism=2, start=True)


def age_everything(study):
    """As if the study had last changed an hour ago."""
    study.trials.update(updated=timezone.now() - timedelta(hours=1))


def test_the_first_poll_returns_the_study_every_trial_and_every_score(api, study):
    config = claim(study.trials.get(number=0))
    hpopt.report(config, 0.25)
    hpopt.report(config, 0.5)
    body = api.get(f"/api/studies/{study.pk}").json()
    assert body["study"]["id"] == study.pk
    assert body["study"]["state"] == "running"
    assert body["study"]["plan"]["num_trials"] == 4
    assert 0 < body["study"]["progress"] < 1
    assert body["study"]["eta_seconds"] > 0
    assert [t["number"] for t in body["trials"]] == [0, 1]
    assert body["scores"] == [[0, 1, 0.25], [0, 2, 0.5]]
    assert body["cursor"]


def test_a_poll_with_the_cursor_returns_only_new_scores_and_changed_trials(api, study):
    config = claim(study.trials.get(number=0))
    hpopt.report(config, 0.25)
    age_everything(study)
    cursor = api.get(f"/api/studies/{study.pk}").json()["cursor"]

    hpopt.report(config, 0.5)
    hpopt.report(config, 0.75)
    body = api.get(f"/api/studies/{study.pk}", since=cursor).json()
    assert body["scores"] == [[0, 2, 0.5], [0, 3, 0.75]]
    assert [(t["number"], t["last_iteration"]) for t in body["trials"]] == [(0, 3)]

    again = api.get(f"/api/studies/{study.pk}", since=body["cursor"]).json()
    assert again["scores"] == []


def test_a_poll_shows_a_trial_changed_by_a_click(api, study):
    age_everything(study)
    cursor = api.get(f"/api/studies/{study.pk}").json()["cursor"]
    control.pause_trial(study.trials.get(number=1))
    body = api.get(f"/api/studies/{study.pk}", since=cursor).json()
    assert [(t["number"], t["state"]) for t in body["trials"]] == [(1, "paused")]
    assert body["scores"] == []


def test_a_poll_with_nothing_new_returns_no_trials_and_no_scores(api, study):
    age_everything(study)
    cursor = api.get(f"/api/studies/{study.pk}").json()["cursor"]
    age_everything(study)
    body = api.get(f"/api/studies/{study.pk}", since=cursor).json()
    assert (body["trials"], body["scores"]) == ([], [])


@pytest.mark.parametrize("cursor", ["abc", "-1:0", "3:-5", "1:x", "1.5:0", ":"])
def test_a_malformed_cursor_gets_400(api, study, cursor):
    r = api.get(f"/api/studies/{study.pk}", since=cursor)
    assert r.status_code == 400
    assert "since" in r.json()["errors"]


def test_a_trial_shows_its_scores_log_and_state(api, study):
    trial = study.trials.get(number=0)
    config = claim(trial)
    hpopt.report(config, 0.25)
    body = api.get(f"/api/trials/{trial.pk}").json()
    assert (body["number"], body["state"], body["study"]) == (0, "running", study.pk)
    assert body["scores"] == [[1, 0.25]]
    assert body["attempt"] == 1
    assert body["heartbeat"] is not None
    assert Trial.objects.get(pk=trial.pk).best_score == body["best_score"] == 0.25


def test_a_poll_shows_a_pause_pending_on_a_running_trial(api, study):
    trial = study.trials.get(number=0)
    claim(trial)
    age_everything(study)
    cursor = api.get(f"/api/studies/{study.pk}").json()["cursor"]
    control.pause_trial(trial)
    body = api.get(f"/api/studies/{study.pk}", since=cursor).json()
    assert [(t["number"], t["state"], t["pending"]) for t in body["trials"]] == [(0, "running", "pause")]


def test_a_poll_returns_a_score_that_a_re_run_replaced(api, study):
    from studies.sweeps import sweep_lost

    trial = study.trials.get(number=0)
    config = claim(trial)
    hpopt.report(config, 0.25)
    hpopt.report(config, 0.5)
    cursor = api.get(f"/api/studies/{study.pk}").json()["cursor"]
    # the worker vanished; the trial runs again from scratch and reports iteration 1 anew
    assert sweep_lost(now=timezone.now() + timedelta(hours=1)) == 1
    config = claim(trial)
    hpopt.report(config, 0.125)
    body = api.get(f"/api/studies/{study.pk}", since=cursor).json()
    assert body["scores"] == [[0, 1, 0.125]]
    assert api.get(f"/api/trials/{trial.pk}").json()["scores"] == [[1, 0.125], [2, 0.5]]


def test_the_first_load_of_a_big_study_sends_the_curves_worth_drawing(api, make_study, monkeypatch):
    """With more trials than FIRST_LOAD_CURVES, the first load sends every
    trial but only the curves of running trials and then the best ones; the
    cursor still covers every stored score, so the next poll repeats none."""
    from studies.api import cursor

    monkeypatch.setattr(cursor, "FIRST_LOAD_CURVES", 2)
    study = make_study(search_alg="asha", num_trials=6, max_iterations=8, parallelism=6, start=True)
    configs = [claim(t) for t in study.trials.order_by("number")[:4]]
    for config, score in zip(configs, (0.1, 0.9, 0.3, 0.5)):
        hpopt.report(config, score, iteration=8)  # trials 0-3 complete with these scores
    running = claim(study.trials.get(number=4))
    hpopt.report(running, 0.2)
    body = api.get(f"/api/studies/{study.pk}").json()
    assert len(body["trials"]) == 6
    assert body["scores_complete"] is False
    assert sorted({s[0] for s in body["scores"]}) == [1, 4], "the running trial, then the best"
    later = api.get(f"/api/studies/{study.pk}?since={body['cursor']}").json()
    assert later["scores"] == [] and later["scores_complete"] is True
