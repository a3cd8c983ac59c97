"""The studies list (GET /api/studies and the list page): a page at a time,
searched and sorted on the server, in the same number of queries whatever
the number of studies, each row with what the list shows and no search space."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from studies import progress
from studies.models import Study, Trial
from studies.validation import LIMITS

pytestmark = pytest.mark.django_db

#: queries one list answer may take (a few per aggregate, none per study)
MAX_QUERIES = 12


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def _scored(study, score: float, done: bool = True) -> None:
    """The study's first trial reported ``score`` (and completed, with ``done``)."""
    trial = study.trials.order_by("number").first()
    Trial.objects.filter(pk=trial.pk).update(
        state="completed" if done else "running", best_score=score, last_score=score,
        last_iteration=trial.iterations, spent=1.0, epoch_seconds=2.0, epoch_count=2, first_report=1.0,
        started=trial.created)


def _make_studies(make_study, n: int, start_at: int = 0) -> list:
    made = []
    for i in range(start_at, start_at + n):
        study = make_study(name=f"study {i:02d}", start=True)
        _scored(study, 0.5 + i / 100, done=i % 2 == 0)
        made.append(study)
    return made


def _queries(fetch) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = fetch()
    assert response.status_code == 200
    return len(captured)


def test_the_list_takes_the_same_queries_for_3_and_40_studies(api, alice_client, make_study,
                                                                django_assert_max_num_queries):
    _make_studies(make_study, 3)
    api_few, page_few = _queries(lambda: api.get("/api/studies")), _queries(lambda: alice_client.get("/"))
    by_best_few = _queries(lambda: api.get("/api/studies", sort="-best"))
    _make_studies(make_study, 37, start_at=3)
    with django_assert_max_num_queries(MAX_QUERIES):
        body = api.get("/api/studies", per_page=40).json()
    assert len(body["studies"]) == 40
    assert _queries(lambda: api.get("/api/studies")) == api_few
    assert _queries(lambda: alice_client.get("/")) == page_few
    assert _queries(lambda: api.get("/api/studies", sort="-best")) == by_best_few


def test_a_row_has_what_the_list_shows_by_the_study_pages_rules(api, make_study):
    study = make_study(name="one", start=True)
    _scored(study, 0.75, done=False)
    row = api.get("/api/studies").json()["studies"][0]
    summary = progress.summary(study)
    best = study.best_trial()
    assert row["progress"] == pytest.approx(summary["progress"])
    assert row["counts"] == summary["counts"]
    assert row["eta_seconds"] == pytest.approx(summary["eta_seconds"])
    assert row["best"] == {"trial": best.number, "score": 0.75, "final_score": 0.75,
                           "best_score": best.best_score, "best_epoch_score": best.best_score}
    assert row["num_trials"] == study.plan["num_trials"] and row["state"] == "running"
    assert row["name"] == "one" and row["trainer"] == "quick" and row["owner"] == "alice"


def test_the_list_sends_no_search_space(api, make_study):
    big = "x" * (LIMITS.text - 5)
    make_study(search_space={"opt": {"type": "choice", "range": [f"{big}{i}" for i in range(100)]}})
    response = api.get("/api/studies")
    assert big not in response.content.decode()
    assert "search_space" not in response.json()["studies"][0]


def test_the_list_comes_a_page_at_a_time(api, make_study):
    _make_studies(make_study, 7)
    first = api.get("/api/studies", per_page=3).json()
    last = api.get("/api/studies", per_page=3, page=3).json()
    assert (first["total"], first["pages"], first["page"]) == (7, 3, 1)
    assert [s["name"] for s in first["studies"]] == ["study 06", "study 05", "study 04"]   # newest first
    assert [s["name"] for s in last["studies"]] == ["study 00"]
    assert api.get("/api/studies", per_page=3, page=9).json()["page"] == 3   # past the end: the last page


def test_the_list_searches_names_and_trainers(api, make_study):
    make_study(name="resnet lr sweep")
    make_study(name="bert warmup")
    assert [s["name"] for s in api.get("/api/studies", q="RESNET").json()["studies"]] == ["resnet lr sweep"]
    assert len(api.get("/api/studies", q="quic").json()["studies"]) == 2   # the trainer is 'quick'
    assert api.get("/api/studies", q="nothing like it").json()["total"] == 0


@pytest.mark.parametrize("sort, expected", [
    ("name", ["study 00", "study 01", "study 02", "study 03"]),
    ("-name", ["study 03", "study 02", "study 01", "study 00"]),
    ("-created", ["study 03", "study 02", "study 01", "study 00"]),
    ("-best", ["study 03", "study 02", "study 01", "study 00"]),
    ("best", ["study 00", "study 01", "study 02", "study 03"]),
])
def test_the_list_sorts_on_the_server(api, make_study, sort, expected):
    _make_studies(make_study, 4)
    assert [s["name"] for s in api.get("/api/studies", sort=sort).json()["studies"]] == expected


def test_the_list_sorts_by_state_and_progress(api, make_study):
    done, running = _make_studies(make_study, 2)
    Study.objects.filter(pk=done.pk).update(state="completed")
    Trial.objects.filter(study=done).update(spent=5.0)   # the older study spent more of its budget
    by_state = [s["state"] for s in api.get("/api/studies", sort="state").json()["studies"]]
    assert by_state == sorted(by_state)
    rows = api.get("/api/studies", sort="-progress").json()["studies"]
    assert [r["progress"] for r in rows] == sorted((r["progress"] for r in rows), reverse=True)
    assert rows[0]["id"] == done.pk


@pytest.mark.parametrize("params, field", [
    ({"sort": "owner"}, "sort"), ({"page": "0"}, "page"), ({"per_page": "1000"}, "per_page"),
    ({"state": "<script>"}, "state"), ({"q": "x" * 201}, "q"),
])
def test_a_bad_list_query_is_a_400_naming_the_field(api, params, field):
    response = api.get("/api/studies", **params)
    assert response.status_code == 400 and field in response.json()["errors"]


def test_the_list_page_searches_sorts_and_pages(alice_client, make_study):
    _make_studies(make_study, 30)
    html = alice_client.get("/").content.decode()
    assert "study 29" in html and "study 04" not in html and "page 1 of 2" in html
    assert 'href="?page=2"' in html
    assert "study 04" in alice_client.get("/?page=2").content.decode()
    found = alice_client.get("/?q=study 1").content.decode()
    assert "study 15" in found, found
    assert "study 29" not in found and "10 studies" in found
    by_name = alice_client.get("/?sort=name").content.decode()
    assert by_name.index("study 00") < by_name.index("study 01")
