"""GET /api/studies/<id>/trials: the trial table's pages, sorted and filtered
by the database (studies.trial_table), and trials.csv with the same filters."""
import csv
import io

import pytest
from django.db.models import F
from django.utils import timezone

from benchmarks.poll_speed import fill
from tests.trainers import SPACE

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(make_study):
    # a numeric choice beside the trainer's text choice (opt)
    study = make_study(num_trials=300, parallelism=4,
                       search_space={**SPACE, "layers": {"type": "choice", "range": [1, 2, 4]}})
    study.state, study.started = "running", timezone.now()
    study.save()
    fill(study, 300, running=4, seed=3, scores=False)
    # a final score far from the best epoch score (an overfit last epoch), and
    # two trials with no latest report (their final score is the best epoch's)
    study.trials.filter(number__lt=100).update(last_score=F("best_score") - 0.5)
    study.trials.filter(number__in=[150, 151]).update(last_score=None)
    return study


def final(t) -> float:
    """hpopt.best.final_score of a Trial row."""
    return t.best_score if t.last_score is None else t.last_score


def page(api, study, **params):
    response = api.get(f"/api/studies/{study.pk}/trials", **params)
    assert response.status_code == 200, response.content
    return response.json()


def test_a_page_holds_the_newest_trials_and_the_total(api, study):
    body = page(api, study, limit=20)
    assert body["total"] == 300
    assert [t["number"] for t in body["trials"]] == list(range(299, 279, -1))
    assert page(api, study, limit=20, offset=20)["trials"][0]["number"] == 279


def test_it_sorts_by_best_score_either_way_with_unscored_trials_last(api, study):
    study.trials.filter(number__in=[5, 6]).update(best_score=None)
    scores = [t["best_score"] for t in page(api, study, sort="-best_score", limit=500)["trials"]]
    assert scores[:-2] == sorted(scores[:-2], reverse=True) and scores[-2:] == [None, None]
    scores = [t["best_score"] for t in page(api, study, sort="best_score", limit=500)["trials"]]
    assert scores[:-2] == sorted(scores[:-2]) and scores[-2:] == [None, None]


@pytest.mark.parametrize("sort, key", [
    ("epochs", lambda t: t["last_iteration"]),
    ("param.x", lambda t: t["params"]["x"]),
    ("param.bs", lambda t: t["params"]["bs"]),
    ("state", lambda t: t["state"]),
])
def test_it_sorts_by_any_column(api, study, sort, key):
    rows = page(api, study, sort=sort, limit=500)["trials"]
    assert [key(t) for t in rows] == sorted(key(t) for t in rows)
    rows = page(api, study, sort="-" + sort, limit=500)["trials"]
    assert [key(t) for t in rows] == sorted((key(t) for t in rows), reverse=True)


def test_it_sorts_by_worker_with_trials_no_worker_took_last(api, study):
    study.trials.filter(number__in=[5, 6]).update(host="", gpu="")
    for sort, reverse in (("worker", False), ("-worker", True)):
        rows = page(api, study, sort=sort, limit=500)["trials"]
        workers = [f"{t['host']} {t['gpu']}" for t in rows if t["host"]]
        assert workers == sorted(workers, reverse=reverse)
        assert [t["number"] for t in rows[-2:]] == ([5, 6] if not reverse else [6, 5])


def test_it_sorts_by_duration(api, study):
    rows = page(api, study, sort="-duration", state="completed,stopped", limit=500)["trials"]
    durations = [(timezone.datetime.fromisoformat(t["finished"]) - timezone.datetime.fromisoformat(t["started"]))
                 for t in rows]
    assert durations == sorted(durations, reverse=True)


def test_it_filters_by_state_score_and_parameter_range(api, study):
    body = page(api, study, state="completed", score_min="0.3", **{"param.x.min": "-1", "param.x.max": "0.5"},
                limit=500)
    expected = study.trials.filter(state="completed", best_score__gte=0.3)
    expected = [t.number for t in expected if -1 <= t.params["x"] <= 0.5]
    assert expected, "the data has such trials"
    assert sorted(t["number"] for t in body["trials"]) == sorted(expected)
    assert body["total"] == len(expected)


def test_final_score_range_filters_the_final_score_not_the_best_epoch_score(api, study):
    trials = list(study.trials.all())
    expected = sorted(t.number for t in trials if 0.2 <= final(t) <= 0.6)
    by_best_epoch = sorted(t.number for t in trials if 0.2 <= t.best_score <= 0.6)
    assert expected != by_best_epoch, "the data tells the two scores apart"
    body = page(api, study, final_score_min="0.2", final_score_max="0.6", limit=500)
    assert sorted(t["number"] for t in body["trials"]) == expected
    assert body["total"] == len(expected)
    assert all(0.2 <= t["final_score"] <= 0.6 for t in body["trials"])
    # score_min / score_max keep filtering the best epoch score
    body = page(api, study, score_min="0.2", score_max="0.6", limit=500)
    assert sorted(t["number"] for t in body["trials"]) == by_best_epoch


def test_a_trial_without_a_latest_report_is_filtered_by_its_best_epoch_score(api, study):
    study.trials.filter(number=150).update(best_score=5.0)
    assert [t["number"] for t in page(api, study, final_score_min="4")["trials"]] == [150]


def test_param_in_picks_a_text_choices_trials(api, study):
    body = page(api, study, **{"param.opt.in": "adam"}, limit=500)
    assert {t["params"]["opt"] for t in body["trials"]} == {"adam"}
    assert body["total"] == study.trials.filter(params__opt="adam").count() > 0
    both = page(api, study, **{"param.opt.in": "sgd,adam"}, limit=1)
    assert both["total"] == 300


def test_param_in_picks_a_numeric_choices_trials_as_numbers(api, study):
    body = page(api, study, **{"param.layers.in": "1,4"}, limit=500)
    expected = sorted(t.number for t in study.trials.all() if t.params["layers"] in (1, 4))
    assert 0 < len(expected) < 300
    assert sorted(t["number"] for t in body["trials"]) == expected
    assert {t["params"]["layers"] for t in body["trials"]} == {1, 4}
    # "4.0" names the choice 4: values compare as numbers, not text
    assert page(api, study, **{"param.layers.in": "4.0"}, limit=1)["total"] == \
        sum(t.params["layers"] == 4 for t in study.trials.all())


def test_param_in_finds_a_null_choice(api, make_study):
    study = make_study(search_space={"x": {"type": "uniform", "range": [0, 1]},
                                     "init": {"type": "choice", "range": [None, "he"]}})
    study.state, study.started = "running", timezone.now()
    study.save()
    fill(study, 40, running=0, seed=1, scores=False)
    nulls = sum(t.params["init"] is None for t in study.trials.all())
    assert 0 < nulls < 40
    assert page(api, study, **{"param.init.in": "null"}, limit=1)["total"] == nulls
    assert page(api, study, **{"param.init.in": "null,he"}, limit=1)["total"] == 40


def test_param_in_as_a_json_array_names_choices_the_short_form_cannot(api, make_study):
    choices = ["adam, no decay", "None", None, "sgd"]
    study = make_study(search_space={"x": {"type": "uniform", "range": [0, 1]},
                                     "opt": {"type": "choice", "range": choices},
                                     "layers": {"type": "choice", "range": [1, 2.5, 4]}})
    study.state, study.started = "running", timezone.now()
    study.save()
    fill(study, 80, running=0, seed=2, scores=False)
    trials = list(study.trials.all())

    def numbers(**params):
        return sorted(t["number"] for t in page(api, study, **params, limit=500)["trials"])

    def having(*values):
        return sorted(t.number for t in trials if any(type(t.params["opt"]) is type(v) and t.params["opt"] == v
                                                      for v in values))

    for value in choices:
        assert 0 < len(having(value)) < 80, value
    # a text with a comma is one choice, and the text "None" is not the choice none
    assert numbers(**{"param.opt.in": '["adam, no decay"]'}) == having("adam, no decay")
    assert numbers(**{"param.opt.in": '["None"]'}) == having("None")
    assert numbers(**{"param.opt.in": "[null]"}) == having(None)
    assert numbers(**{"param.opt.in": '["None", "sgd"]'}) == having("None", "sgd")
    # numbers compare as numbers here too
    assert numbers(**{"param.layers.in": "[2.5, 4.0]"}) == sorted(
        t.number for t in trials if t.params["layers"] in (2.5, 4))


def test_text_finds_a_host_a_stop_reason_a_choice_and_a_trial_number(api, study):
    hosts = {t["host"] for t in page(api, study, q="gpu-host-2", limit=500)["trials"]}
    assert hosts == {"gpu-host-2"}
    assert page(api, study, q="#42")["trials"][0]["number"] == 42
    adam = page(api, study, q="adam", limit=500)
    assert adam["total"] == study.trials.filter(params__opt="adam").count() > 0


@pytest.mark.parametrize("params, field", [
    ({"sort": "colour"}, "sort"),
    ({"sort": "param.nope"}, "sort"),
    ({"state": "running,sleeping"}, "state"),
    ({"score_min": "high"}, "score_min"),
    ({"score_max": "nan"}, "score_max"),
    ({"param.opt.min": "1"}, "param.opt.min"),
    ({"param.x.between": "1"}, "param.x.between"),
    ({"final_score_min": "high"}, "final_score_min"),
    ({"final_score_max": "inf"}, "final_score_max"),
    ({"param.opt.in": "adam,rmsprop"}, "param.opt.in"),
    ({"param.opt.in": '["adam", "rmsprop"]'}, "param.opt.in"),
    ({"param.opt.in": '["adam"'}, "param.opt.in"),
    ({"param.layers.in": '["4"]'}, "param.layers.in"),
    ({"param.layers.in": "3"}, "param.layers.in"),
    ({"param.x.in": "1"}, "param.x.in"),
    ({"q": "rung\x00"}, "q"),   # PostgreSQL raised for the NUL (a 500)
    ({"limit": "0"}, "limit"),
    ({"limit": "100000"}, "limit"),
    ({"offset": "-3"}, "offset"),
])
def test_bad_input_gets_400_naming_the_field(api, study, params, field):
    response = api.get(f"/api/studies/{study.pk}/trials", **params)
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()


def test_the_csv_has_the_tables_filters_and_order(api, study):
    response = api.get(f"/api/studies/{study.pk}/trials.csv", state="stopped", sort="-best_score")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {r["state"] for r in rows} == {"stopped"}
    assert len(rows) == study.trials.filter(state="stopped").count()
    scores = [float(r["best_score"]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    assert api.get(f"/api/studies/{study.pk}/trials.csv", sort="bad").status_code == 400


@pytest.mark.parametrize("params", [
    {"state": "completed,stopped"},
    {"score_min": "0.3", "score_max": "0.8"},
    {"final_score_min": "0.3", "final_score_max": "0.8"},
    {"param.x.min": "-1", "param.x.max": "0.5"},
    {"param.opt.in": "adam", "param.layers.in": "2,4"},
    {"q": "gpu-host-1"},
    {"state": "stopped", "final_score_max": "0.5", "param.layers.in": "1", "q": "rung"},
])
def test_the_csv_honours_every_filter_of_the_table(api, study, params):
    table = page(api, study, sort="number", limit=500, **params)
    assert 0 < table["total"] < 300, "the filter picks some trials"
    response = api.get(f"/api/studies/{study.pk}/trials.csv", **params)
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [int(r["trial"]) for r in rows] == [t["number"] for t in table["trials"]]
    assert api.get(f"/api/studies/{study.pk}/trials.csv", **{"param.opt.in": "rmsprop"}).status_code == 400
