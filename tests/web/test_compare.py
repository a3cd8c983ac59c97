"""Compare routes: trials of a study side by side (GET /api/studies/<id>/compare),
studies of one trainer overlaid (GET /api/compare), where each later attempt
of a trial began, and the study poll's selected curves (``curves=``)."""
from datetime import timedelta

import pytest
from django.utils import timezone

from studies import compare
from studies.models import Attempt, Score, Study, Trial
from tests.trial_rows import add_trial

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(make_study):
    s = make_study(search_alg="bayes_opt", num_trials=6)
    Study.objects.filter(pk=s.pk).update(state="completed", started=timezone.now() - timedelta(hours=1))
    s.refresh_from_db()
    return s


def test_trials_side_by_side_mark_the_params_that_differ_and_name_both_scores(api, study):
    add_trial(study, 0, {"x": 0.5, "bs": 32, "opt": "sgd"}, [0.2, 0.6, 0.5])
    add_trial(study, 1, {"x": 0.5, "bs": 64, "opt": "sgd"}, [0.3, 0.4, 0.45], state="stopped")
    body = api.get(f"/api/studies/{study.pk}/compare", trials="1,0").json()
    assert [t["number"] for t in body["trials"]] == [1, 0], "in the order asked"
    assert body["differing"] == ["bs"]
    zero = body["trials"][1]
    assert (zero["final_score"], zero["best_epoch_score"], zero["best_epoch"]) == (0.5, 0.6, 2)
    assert zero["curve"] == [[1, 0.2], [2, 0.6], [3, 0.5]]
    assert body["trials"][0]["state"] == "stopped"


def test_a_long_curve_is_thinned_but_its_best_epoch_is_exact(api, study):
    curve = [i / 10_000 for i in range(2000)]
    curve[1233] = 5.0
    add_trial(study, 0, {"x": 1}, curve)
    row = api.get(f"/api/studies/{study.pk}/compare", trials="0").json()["trials"][0]
    assert len(row["curve"]) <= compare.MAX_POINTS
    assert row["curve"][-1] == [2000, curve[-1]]
    assert (row["best_epoch"], row["best_epoch_score"]) == (1234, 5.0)


@pytest.mark.parametrize("query, message", [
    ("", "trials must be comma-separated whole numbers"),
    ("1,x", "trials must be comma-separated whole numbers"),
    (",".join(map(str, range(13))), "trials takes at most 12 at once (got 13)"),
    ("0,7", "this study has no trial #7"),
])
def test_bad_trial_lists_answer_400_naming_the_field(api, study, query, message):
    add_trial(study, 0, {"x": 1}, [0.1])
    r = api.get(f"/api/studies/{study.pk}/compare", trials=query)
    assert r.status_code == 400
    assert message in r.json()["errors"]["trials"]


def test_another_users_study_cannot_be_compared(study, bob):
    from tests.conftest import token_client

    assert token_client(bob).get(f"/api/studies/{study.pk}/compare", trials="0").status_code == 404
    assert token_client(bob).get("/api/compare", studies=str(study.pk)).status_code == 404


def test_studies_of_one_trainer_overlay_their_best_so_far_by_time_and_by_epochs(api, study, make_study):
    t0 = study.started
    add_trial(study, 0, {"x": 1}, [0.3, 0.4], finished=t0 + timedelta(seconds=100), spent=2.0)
    add_trial(study, 1, {"x": 2}, [0.9], state="killed", finished=t0 + timedelta(seconds=150), spent=1.0)
    add_trial(study, 2, {"x": 3}, [0.2, 0.6], state="stopped", finished=t0 + timedelta(seconds=200), spent=2.0)
    add_trial(study, 3, {"x": 4}, [0.1, 0.5], finished=t0 + timedelta(seconds=300), spent=2.0)
    other = make_study(search_alg="bayes_opt", num_trials=3, mode="min")
    body = api.get("/api/compare", studies=f"{study.pk},{other.pk}").json()
    mine, theirs = body["studies"]
    # a killed trial's compute counts, its score does not; the last finish ends the line
    assert mine["by_time"] == [[100.0, 0.4], [200.0, 0.6], [300.0, 0.6]]
    assert mine["by_epochs"] == [[2.0, 0.4], [5.0, 0.6], [7.0, 0.6]]
    assert mine["best"] == {"trial": 3, "final_score": 0.5, "best_epoch_score": 0.5}
    assert (theirs["id"], theirs["by_time"], theirs["best"]) == (other.pk, [], None)


def test_studies_of_different_trainers_are_not_overlaid(api, study, make_study):
    other = make_study(trainer="slow", search_alg="bayes_opt", num_trials=3)
    r = api.get("/api/compare", studies=f"{study.pk},{other.pk}")
    assert r.status_code == 400
    assert "must share one trainer" in r.json()["errors"]["studies"]
    assert api.get("/api/compare", studies="1,2,3,4,5,6,7,8,9").json()["errors"]["studies"] == \
        "studies takes at most 8 at once (got 9)"


def test_a_big_studys_series_stay_bounded(api, study):
    t0 = study.started
    Trial.objects.bulk_create([Trial(study=study, number=i, params={"x": i}, iterations=1, subset_ratio=1.0,
                                     state="completed", best_score=i, last_score=i, spent=1.0,
                                     finished=t0 + timedelta(seconds=i + 1)) for i in range(3000)])
    series = api.get("/api/compare", studies=str(study.pk)).json()["studies"][0]
    assert len(series["by_time"]) <= compare.MAX_POINTS
    assert series["by_epochs"][-1] == [3000.0, 2999.0]


def test_each_later_attempt_is_marked_where_it_began(api, study):
    t0 = timezone.now() - timedelta(minutes=10)
    trial = add_trial(study, 0, {"x": 1}, [0.1, 0.2, 0.3, 0.4, 0.5], state="completed", attempt=3)
    Attempt.objects.create(trial=trial, number=1, started=t0, outcome="paused")
    Attempt.objects.create(trial=trial, number=2, started=t0 + timedelta(minutes=2), outcome="")   # lost
    Attempt.objects.create(trial=trial, number=3, started=t0 + timedelta(minutes=4), outcome="completed")
    # epochs 1-2 from the first attempt, 3 from the second, 4-5 from the third
    for iteration, minute in ((1, 1), (2, 1), (3, 3), (4, 5), (5, 5)):
        Score.objects.filter(trial=trial, iteration=iteration).update(created=t0 + timedelta(minutes=minute))
    expected = [[2, 3, "paused"], [3, 4, "lost"]]
    assert compare.attempt_starts([trial.pk]) == {trial.pk: expected}
    assert api.get(f"/api/studies/{study.pk}/compare", trials="0").json()["trials"][0]["attempt_starts"] == expected
    assert api.get(f"/api/studies/{study.pk}").json()["attempt_starts"] == {"0": expected}


def test_a_poll_brings_the_selected_trials_whole_curves(api, make_study):
    from benchmarks.poll_speed import fill

    big = make_study(num_trials=300, parallelism=4)
    Study.objects.filter(pk=big.pk).update(state="running", started=timezone.now())
    fill(big, 300, running=4, seed=3)
    first = api.get(f"/api/studies/{big.pk}").json()
    sent = {n for n, _, _ in first["scores"]}
    worst = big.trials.exclude(number__in=sent).order_by("best_score").first()
    assert worst is not None, "the first load sends some curves, not all"

    body = api.get(f"/api/studies/{big.pk}", since=first["cursor"], curves=str(worst.number)).json()
    assert worst.number in {t["number"] for t in body["trials"]}
    assert [it for n, it, _ in body["scores"] if n == worst.number] == list(range(1, worst.last_iteration + 1))
    # a first load with a selection sends it too
    again = api.get(f"/api/studies/{big.pk}", curves=str(worst.number)).json()
    assert worst.number in {n for n, _, _ in again["scores"]}
    bad = api.get(f"/api/studies/{big.pk}", curves="1,,x")
    assert bad.status_code == 400 and "curves must be comma-separated" in bad.json()["errors"]["curves"]


def test_an_improvement_in_the_last_finish_is_kept_even_at_the_same_moment(study):
    at = study.started + timedelta(seconds=100)
    add_trial(study, 0, {"x": 1}, [0.4], finished=at)
    add_trial(study, 1, {"x": 2}, [0.6], finished=at)
    add_trial(study, 2, {"x": 3}, [0.6], finished=at)   # a tie: nothing new
    assert compare.best_so_far(study)["by_time"] == [[100.0, 0.4], [100.0, 0.6]]
