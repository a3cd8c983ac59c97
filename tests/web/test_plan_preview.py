"""POST /api/plan: the Auto Config preview behind the study form."""
import pytest

import hpopt
from studies.models import Study
from tests.conftest import study_data

pytestmark = pytest.mark.django_db


def preview(api, **overrides):
    data = study_data(**overrides)
    del data["name"]
    return api.post("/api/plan", data)


def test_it_returns_the_plan_and_the_wall_time(api):
    r = preview(api, expected_time_ratio=3, seconds_per_epoch=2.0)
    assert r.status_code == 200
    body = r.json()
    expected = hpopt.plan(search_alg="asha", full_dataset_size=10_000, num_full_iterations=8,
                          expected_time_ratio=3, num_workers=2)
    assert body["plan"] == expected.to_dict()
    assert body["wall_seconds"] == pytest.approx(expected.wall_seconds(2.0))


def test_a_bigger_budget_plans_more_and_takes_longer(api):
    small, big = (preview(api, expected_time_ratio=r).json() for r in (2, 6))
    assert big["plan"]["num_trials"] > small["plan"]["num_trials"]
    assert big["wall_seconds"] > small["wall_seconds"]
    assert big["plan"]["budget"] == 5 and small["plan"]["budget"] == 1


def test_more_parallelism_fits_more_trials_in_the_same_time(api):
    one, four = (preview(api, parallelism=p, expected_time_ratio=3).json() for p in (1, 4))
    assert four["plan"]["num_trials"] > one["plan"]["num_trials"]
    assert four["plan"]["num_workers"] == 4


def test_it_needs_no_registered_trainer_and_saves_nothing(api):
    r = preview(api, trainer="not-registered-yet")
    assert r.status_code == 200
    assert not Study.objects.exists()


def test_invalid_input_gets_400_per_field(api):
    r = preview(api, expected_time_ratio=0, mode="maximum")
    assert r.status_code == 400
    errors = r.json()["errors"]
    assert "expected_time_ratio" in errors
    assert "mode" in errors


def test_a_body_that_is_not_json_gets_400(api):
    assert api.post("/api/plan", raw="{not json").status_code == 400


def test_it_needs_authentication(client):
    assert client.post("/api/plan", "{}", content_type="application/json").status_code == 401
