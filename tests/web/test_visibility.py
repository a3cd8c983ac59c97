"""Users see and steer only their own studies (another's is a 404); staff see all."""
import pytest

from studies.models import Study
from tests.conftest import token_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices_study(make_study, alice):
    return make_study(owner=alice, name="alice's", start=True)


@pytest.fixture
def bobs_api(bob):
    return token_client(bob)


def test_the_list_shows_only_the_users_own_studies(api, bobs_api, alices_study, make_study, bob):
    make_study(owner=bob, name="bob's")
    assert [s["name"] for s in api.get("/api/studies").json()["studies"]] == ["alice's"]
    assert [s["name"] for s in bobs_api.get("/api/studies").json()["studies"]] == ["bob's"]


@pytest.mark.parametrize("path", ["", "/best-config", "/trials.csv"])
def test_another_users_study_is_not_found(bobs_api, alices_study, path):
    r = bobs_api.get(f"/api/studies/{alices_study.pk}{path}")
    assert r.status_code == 404


@pytest.mark.parametrize("action", ["start", "pause", "resume", "kill"])
def test_another_users_study_cannot_be_steered(bobs_api, alices_study, action):
    assert bobs_api.post(f"/api/studies/{alices_study.pk}/{action}").status_code == 404
    assert Study.objects.get(pk=alices_study.pk).state == "running"


@pytest.mark.parametrize("action", ["", "/pause", "/resume", "/kill"])
def test_another_users_trial_is_not_found(bobs_api, alices_study, action):
    trial = alices_study.trials.get(number=0)
    r = bobs_api.post(f"/api/trials/{trial.pk}{action}") if action else bobs_api.get(f"/api/trials/{trial.pk}")
    assert r.status_code == 404
    trial.refresh_from_db()
    assert trial.state == "queued"


def test_staff_see_every_study(staff, alices_study, make_study, bob):
    make_study(owner=bob, name="bob's")
    staff_api = token_client(staff)
    names = {s["name"] for s in staff_api.get("/api/studies").json()["studies"]}
    assert names == {"alice's", "bob's"}
    body = staff_api.get(f"/api/studies/{alices_study.pk}").json()
    assert body["study"]["owner"] == "alice"


def test_staff_can_steer_any_study(staff, alices_study):
    r = token_client(staff).post(f"/api/studies/{alices_study.pk}/pause")
    assert r.status_code == 200
    assert Study.objects.get(pk=alices_study.pk).state == "paused"


def test_a_missing_study_is_not_found(api):
    assert api.get("/api/studies/999999").status_code == 404
