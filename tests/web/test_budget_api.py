"""The budget through the API: given as wall time when a study is made
("budget": "2h", or "done_by" a moment), shown both ways in the preview, kept
(spent never above it), and raised on a running or finished study."""
import datetime

import pytest
from django.utils import timezone

from studies.models import Study
from tests.conftest import study_data

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _trainers(trainers):
    return trainers


def test_a_wall_clock_budget_becomes_expected_time_ratio_through_the_time_model(api):
    body = study_data(seconds_per_epoch=30, startup_seconds=15, num_full_iterations=8, budget="2h")
    body.pop("expected_time_ratio")
    r = api.post("/api/studies", body)
    assert r.status_code == 201, r.json()
    settings = r.json()["settings"]
    assert settings["expected_time_ratio"] == pytest.approx(1 + 7200 / (8 * 30))
    assert settings["startup_epochs"] == pytest.approx(0.5), "15 s of start-up is half a 30 s epoch"
    preview = api.post("/api/plan", {**body, "name": "x"}).json()
    assert preview["budget_seconds"] == pytest.approx(7200)
    assert preview["expected_time_ratio"] == pytest.approx(31)
    assert preview["wall_seconds"] <= 7200 * 1.02


def test_done_by_is_a_moment_with_its_offset_in_the_future(api):
    body = study_data()
    body.pop("expected_time_ratio")
    soon = (timezone.now() + datetime.timedelta(hours=3)).isoformat()
    r = api.post("/api/studies", {**body, "done_by": soon})
    assert r.status_code == 201, r.json()
    past = (timezone.now() - datetime.timedelta(hours=1)).isoformat()
    errors = api.post("/api/studies", {**body, "done_by": past}).json()["errors"]
    assert errors["done_by"].startswith("done_by must be in the future")
    errors = api.post("/api/studies", {**body, "done_by": "18:00"}).json()["errors"]
    assert "offset" in errors["done_by"]


def test_a_budget_given_twice_or_unreadable_is_refused_at_its_field(api):
    errors = api.post("/api/studies", study_data(budget="2h")).json()["errors"]   # the ratio is in study_data too
    assert "give the budget once" in errors["budget"]
    body = study_data()
    body.pop("expected_time_ratio")
    errors = api.post("/api/studies", {**body, "budget": "soon"}).json()["errors"]
    assert errors["budget"].startswith("budget must be a duration such as '3h'")
    assert not Study.objects.exists()


def test_a_finished_study_given_more_budget_runs_again_and_keeps_to_the_new_budget(api, run_burst):
    r = api.post("/api/studies", study_data(start=True))
    study = Study.objects.get(pk=r.json()["id"])
    run_burst()
    study.refresh_from_db()
    assert study.state == "completed"
    before = api.get(f"/api/studies/{study.pk}").json()["study"]
    trials_before = study.trials.count()

    r = api.post(f"/api/studies/{study.pk}/budget", {"expected_time_ratio": 4})
    assert r.status_code == 200, r.json()
    assert r.json()["state"] == "running"
    assert r.json()["settings"]["expected_time_ratio"] == 4
    run_burst()
    after = api.get(f"/api/studies/{study.pk}").json()["study"]
    assert after["state"] == "completed"
    assert study.trials.count() > trials_before
    assert after["budget"]["total"] > before["budget"]["total"]
    assert after["budget"]["spent"] <= after["budget"]["total"] * (1 + 1e-9)


def test_more_budget_is_refused_clearly(api):
    r = api.post("/api/studies", study_data())
    pk = r.json()["id"]
    assert api.post(f"/api/studies/{pk}/budget", {"expected_time_ratio": 4}).status_code == 409, "a draft"
    api.post(f"/api/studies/{pk}/start")
    errors = api.post(f"/api/studies/{pk}/budget", {"expected_time_ratio": 1.5}).json()["errors"]
    assert errors["expected_time_ratio"].startswith("expected_time_ratio must be above the study's 2")
    errors = api.post(f"/api/studies/{pk}/budget", {"budget": "1h", "add_trials": 2}).json()["errors"]
    assert "give one of" in errors["budget"]
    assert api.post(f"/api/studies/{pk}/budget", {"budget": "1h"}).status_code == 200
