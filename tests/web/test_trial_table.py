"""GET /api/studies/<id>/trials: the trial table's pages, sorted and filtered
by the database (studies.trial_table), and trials.csv with the same filters."""
import csv
import io

import pytest
from django.utils import timezone

from benchmarks.poll_speed import fill

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(make_study):
    study = make_study(num_trials=300, parallelism=4)
    study.state, study.started = "running", timezone.now()
    study.save()
    fill(study, 300, running=4, seed=3, scores=False)
    return study


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
