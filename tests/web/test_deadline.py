"""studies.deadline: a budget given as wall time is also a deadline. A study
that runs slower than the model it was planned with stops handing out new
trials when a new one would end past it (issue 11: the demo study ran 1.2x
and a first study 1.8x the wall time it was given), and its ETA never goes
past it. Without a wall-time budget nothing changes."""
import datetime
import types

import pytest
from django.utils import timezone

import hpopt
from hpopt.timing import TimeModel
from studies import control, deadline
from studies.models import Study
from tests.conftest import study_data

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture(autouse=True)
def _trainers(trainers):
    return trainers


def wall_study(api, budget="20s", **overrides):
    body = study_data(budget=budget, seconds_per_epoch=0.01, **overrides)
    body.pop("expected_time_ratio")
    r = api.post("/api/studies", body)
    assert r.status_code == 201, r.json()
    return Study.objects.get(pk=r.json()["id"])


def test_a_new_trial_is_handed_out_only_while_it_is_expected_to_end_by_the_deadline():
    plan = hpopt.plan(search_alg="bayes_opt", full_dataset_size=1000, num_full_iterations=10, num_trials=4,
                      max_iterations=10, subset_ratio=1.0, startup_epochs=0.5)
    model = TimeModel(2.0, 1.0, "measured", 10, 1)
    assert deadline.new_trial_seconds(plan, model) == pytest.approx(1.0 + 10 * 2.0)
    end = NOW + datetime.timedelta(seconds=30)
    assert deadline.allows_new_trial(end, plan, model, NOW)
    assert deadline.allows_new_trial(end, plan, model, NOW + datetime.timedelta(seconds=9))
    assert not deadline.allows_new_trial(end, plan, model, NOW + datetime.timedelta(seconds=10))
    assert deadline.allows_new_trial(None, plan, model, NOW + datetime.timedelta(days=9)), "no deadline, no limit"


def test_the_eta_never_goes_past_the_deadline():
    end = NOW + datetime.timedelta(seconds=30)
    assert deadline.capped_eta(100.0, end, NOW) == 30
    assert deadline.capped_eta(10.0, end, NOW) == 10
    assert deadline.capped_eta(10.0, end, NOW + datetime.timedelta(seconds=40)) == 0
    assert deadline.capped_eta(100.0, None, NOW) == 100 and deadline.capped_eta(None, end, NOW) is None


def test_a_study_that_will_be_re_measured_up_expects_to_run_to_its_deadline():
    start, end = NOW - datetime.timedelta(seconds=10), NOW + datetime.timedelta(seconds=90)
    # 100 s of wall time; at its pace it ends 30 s from now (40 s in all): once a
    # fifth of its time has passed its budget grows, and it runs to the deadline
    assert deadline.capped_eta(30.0, end, NOW, start, grows=True) == 90
    # ... unless its trials are the user's (more budget buys nothing)
    assert deadline.capped_eta(30.0, end, NOW, start, grows=False) == 30
    # within the margin of the deadline (95 s of 100): no re-measure, its pace
    assert deadline.capped_eta(85.0, end, NOW, start, grows=True) == 85
    # done before a fifth of its time: it ends before anything is re-measured
    assert deadline.capped_eta(5.0, end, NOW, start, grows=True) == 5
    # slower than its deadline: capped, as before
    assert deadline.capped_eta(200.0, end, NOW, start, grows=True) == 90
    # its workers idle for the last 4 s (no new trial ends past the deadline): it runs to 4 s before it
    assert deadline.capped_eta(30.0, end, NOW, start, grows=True, idle=4.0) == 86
    assert deadline.capped_eta(81.0, end, NOW, start, grows=True, idle=4.0) == 81, "within the margin of that end"


def test_more_wall_time_moves_the_deadline_and_more_compute_drops_it():
    end = NOW + datetime.timedelta(seconds=30)
    assert deadline.extended(end, 60, NOW) == end + datetime.timedelta(seconds=60)
    assert deadline.extended(end, 60, NOW + datetime.timedelta(hours=1)) == NOW + datetime.timedelta(seconds=3660)
    assert deadline.extended(end, None, NOW) is None


def test_a_wall_time_budget_starts_its_clock_when_the_study_starts(api):
    study = wall_study(api)
    assert study.wall_budget_seconds == 20 and study.deadline is None, "a draft has no deadline yet"
    control.start(study)
    study.refresh_from_db()
    assert study.deadline == study.started + datetime.timedelta(seconds=20)
    page = api.get(f"/api/studies/{study.pk}").json()["study"]
    assert page["deadline"] == study.deadline.isoformat()
    assert page["eta_seconds"] <= 20


def test_a_budget_given_as_expected_time_ratio_has_no_deadline(api):
    r = api.post("/api/studies", study_data(start=True))
    study = Study.objects.get(pk=r.json()["id"])
    assert study.wall_budget_seconds is None and study.deadline is None


def test_past_its_deadline_a_study_hands_out_no_new_trial_and_completes_when_its_trials_end(api, run_burst):
    study = wall_study(api)
    control.start(study)
    handed_out = study.trials.count()
    assert handed_out >= 1
    # the clock ran out (a slow host, a drifting search) before the plan was handed out
    Study.objects.filter(pk=study.pk).update(deadline=timezone.now() - datetime.timedelta(seconds=1))
    run_burst()
    study.refresh_from_db()
    assert study.state == "completed"
    assert study.trials.count() == handed_out, "the open trials ran; no new one started"
    page = api.get(f"/api/studies/{study.pk}").json()["study"]
    assert page["budget"]["spent"] < page["budget"]["total"], "it stopped by the clock, not the compute"
    assert study.meta().plan.num_trials > handed_out


def test_more_wall_time_lets_a_study_past_its_deadline_go_on(api, run_burst):
    study = wall_study(api)
    control.start(study)
    Study.objects.filter(pk=study.pk).update(deadline=timezone.now() - datetime.timedelta(seconds=1))
    run_burst()
    handed_out = study.trials.count()
    r = api.post(f"/api/studies/{study.pk}/budget", {"budget": "1m"})
    assert r.status_code == 200, r.json()
    study.refresh_from_db()
    assert study.deadline >= timezone.now() + datetime.timedelta(seconds=55)
    run_burst()
    assert study.trials.count() > handed_out
    r = api.post(f"/api/studies/{study.pk}/budget", {"add_trials": 2})
    study.refresh_from_db()
    assert study.deadline is None, "more trials asked for: the user wants the work, not a time"


def test_a_done_by_budget_is_that_moment_even_when_the_study_starts_later(api):
    body = study_data(seconds_per_epoch=0.01)
    body.pop("expected_time_ratio")
    moment = (timezone.now() + datetime.timedelta(hours=2)).replace(microsecond=0)
    r = api.post("/api/studies", {**body, "done_by": moment.isoformat()})
    assert r.status_code == 201, r.json()
    study = Study.objects.get(pk=r.json()["id"])
    assert abs((study.deadline - moment).total_seconds()) < 2
    Study.objects.filter(pk=study.pk).update(created=timezone.now() - datetime.timedelta(minutes=30))
    control.start(study)
    study.refresh_from_db()
    assert abs((study.deadline - moment).total_seconds()) < 2, "starting later does not move the moment"


def test_the_compute_a_wall_time_buys_is_remeasured_at_the_study_s_pace():
    plan = hpopt.plan(search_alg="asha", full_dataset_size=1000, num_full_iterations=10, expected_time_ratio=4,
                      num_workers=2)
    settings = types.SimpleNamespace(expected_time_ratio=4)   # what the rule reads of a study's settings
    start, end = NOW, NOW + datetime.timedelta(seconds=100)
    at = lambda s: NOW + datetime.timedelta(seconds=s)  # noqa: E731
    budget = plan.budget_compute
    remeasured = lambda spent, now: deadline.remeasured_ratio(settings, plan, spent, start, end, now)  # noqa: E731
    assert remeasured(budget, at(19)) is None, "too early: the first start-ups say too little"
    assert remeasured(0.5 * budget, at(50)) is None, "on pace"
    assert remeasured(0.54 * budget, at(50)) is None, "within a tenth"
    assert remeasured(0.8 * budget, at(50)) == pytest.approx(1 + 3 * 1.6), "faster: the wall time buys more"
    assert remeasured(0.3 * budget, at(50)) == pytest.approx(1 + 3 * 0.6), "slower: it buys less"
    assert remeasured(0.8 * budget, at(100)) is None, "past the deadline nothing is planned"
    # the budget is expected_time_ratio - 1 full trainings: a study planned at 1.1 that runs
    # 1.2x its pace buys 1.2x that budget, 1 + 0.12 (taken as proportional: 1.1 * 1.2 = 1.32)
    near = hpopt.plan(search_alg="asha", full_dataset_size=1000, num_full_iterations=10, expected_time_ratio=1.1,
                      num_workers=2)
    assert deadline.remeasured_ratio(types.SimpleNamespace(expected_time_ratio=1.1), near,
                                     0.5 * 1.2 * near.budget_compute, start, end, at(50)) == pytest.approx(1.12)
    assert remeasured(0.8 * budget, at(50)) is not None and deadline.remeasured_ratio(
        settings, plan, 0.8 * budget, start, None, at(50)) is None, "no deadline, nothing re-measured"


def test_time_paused_is_not_time_the_study_ran():
    plan = hpopt.plan(search_alg="asha", full_dataset_size=1000, num_full_iterations=10, expected_time_ratio=4,
                      num_workers=2)
    settings = types.SimpleNamespace(expected_time_ratio=4)
    start, end = NOW, NOW + datetime.timedelta(seconds=100)
    at = lambda s: NOW + datetime.timedelta(seconds=s)  # noqa: E731
    budget = plan.budget_compute
    # a third of its compute in 20 s of running, then paused for 40 s of its 100: the
    # 40 s it has left buy the rest (on pace: nothing changes) ...
    assert deadline.remeasured_ratio(settings, plan, budget / 3, start, end, at(60), paused=40) is None
    # ... where counting the pause as running would cut its budget to 100 / 60 of a third
    assert deadline.remeasured_ratio(settings, plan, budget / 3, start, end, at(60)) == pytest.approx(
        1 + 3 * 100 / 60 / 3), "without the pause it looks slower"
    # 10 s of running in its first 50 s: too early to tell (a fifth of 60 s is 12)
    assert not deadline.remeasure_due(start, end, at(50), paused=40)
    assert deadline.remeasure_due(start, end, at(50))
    # the ETA's look ahead counts the time it runs too: 20 s ran, 25 s to go at its pace,
    # 45 s of the 60 it runs in all: re-measured up, to the deadline
    assert deadline.capped_eta(25.0, end, at(60), start, grows=True, paused=40) == 40
    assert deadline.capped_eta(35.0, end, at(60), start, grows=True, paused=40) == 35


def test_pausing_and_resuming_counts_the_time_paused(api):
    study = wall_study(api, budget="20s")
    control.start(study)
    control.pause(study)
    study.refresh_from_db()
    assert study.paused_at is not None and study.paused_seconds == 0
    Study.objects.filter(pk=study.pk).update(paused_at=timezone.now() - datetime.timedelta(seconds=30))
    study.refresh_from_db()
    control.resume(study)
    study.refresh_from_db()
    assert study.paused_at is None and study.paused_seconds == pytest.approx(30, abs=5)
    control.kill(study)


def test_a_study_faster_than_its_model_goes_on_until_its_wall_time_is_used(api, run_burst):
    study = wall_study(api, budget="20s")
    control.start(study)
    run_burst()
    study.refresh_from_db()
    meta = study.meta()
    spent = api.get(f"/api/studies/{study.pk}").json()["study"]["budget"]["spent"]
    assert spent > 0
    # what it ran took 2 s of its 20 (the model planned 0.01 s per epoch: say it ran 4x as fast)
    started = timezone.now() - datetime.timedelta(seconds=5)
    Study.objects.filter(pk=study.pk).update(started=started, deadline=started + datetime.timedelta(seconds=20),
                                             state="running", finished=None)
    control.fill_slots(study.pk)
    study.refresh_from_db()
    after = study.meta()
    assert after.settings.expected_time_ratio > meta.settings.expected_time_ratio
    assert after.plan.budget_compute == pytest.approx(spent * 4, rel=0.1)
    assert study.trials.filter(state__in=["queued", "running"]).exists(), "new trials for the time left"
    note = api.get(f"/api/studies/{study.pk}").json()["study"]["budget"]["note"]
    assert "re-measured" in note and f"-> {after.settings.expected_time_ratio:.3g}" in note


def test_the_remeasured_compute_leaves_out_the_workers_idle_end():
    # no trial starts that would end past the deadline: the workers' last seconds
    # buy nothing, so the compute the wall time buys is the pace over the rest
    plan = hpopt.plan(search_alg="asha", full_dataset_size=1000, num_full_iterations=10, expected_time_ratio=4,
                      num_workers=2)
    settings = types.SimpleNamespace(expected_time_ratio=4)
    start, end = NOW, NOW + datetime.timedelta(seconds=100)
    budget = plan.budget_compute
    model = TimeModel(1.0, 10.0, "measured")
    idle = deadline.end_idle_seconds(plan, model)
    assert idle == pytest.approx(deadline.new_trial_seconds(plan, model) / 2)

    ratio = deadline.remeasured_ratio(settings, plan, 0.8 * budget, start, end, NOW + datetime.timedelta(seconds=50),
                                      idle=idle)

    assert ratio == pytest.approx(1 + 3 * 0.8 * (100 - idle) / 50)
    assert deadline.remeasured_ratio(settings, plan, 0.96 * budget, start, end, NOW + datetime.timedelta(seconds=96),
                                     idle=idle) is None, "in its idle end: what it spent is what it buys"
