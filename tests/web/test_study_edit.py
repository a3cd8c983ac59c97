"""POST /api/studies/<id>/edit: a draft's definition changes, checked whole
by the create path's validation; a study that has started refuses."""
import pytest

from studies.models import Study
from tests.conftest import study_data, token_client

pytestmark = pytest.mark.django_db

NEW_SPACE = {"lr": {"type": "loguniform", "range": [1e-4, 1e-1]}, "opt": {"type": "choice", "range": ["sgd", "adam"]}}


@pytest.fixture(autouse=True)
def _trainers(trainers):
    return trainers


def test_a_drafts_search_space_and_settings_change(api, make_study):
    draft = make_study()
    r = api.post(f"/api/studies/{draft.pk}/edit", {"search_space": NEW_SPACE, "search_alg": "bayes_opt",
                                                   "parallelism": 4, "name": "renamed"})
    assert r.status_code == 200, r.json()
    draft.refresh_from_db()
    assert (draft.name, draft.algorithm, draft.parallelism, draft.state) == ("renamed", "bayes_opt", 4, "draft")
    assert draft.initial_space == draft.space == NEW_SPACE
    assert draft.settings["search_space"] == NEW_SPACE and draft.settings["num_workers"] == 4
    assert draft.plan["search_alg"] == "bayes_opt", "the plan is made again from the new settings"
    assert r.json()["search_space"] == NEW_SPACE


def test_fields_not_named_keep_their_values(api, make_study):
    draft = make_study(seed=5, expected_time_ratio=3)
    r = api.post(f"/api/studies/{draft.pk}/edit", {"num_init_trial": 2})
    assert r.status_code == 200
    draft.refresh_from_db()
    assert (draft.settings["seed"], draft.settings["expected_time_ratio"], draft.name) == (5, 3, "quick asha")


def test_an_edit_may_start_the_draft(api, make_study):
    draft = make_study()
    r = api.post(f"/api/studies/{draft.pk}/edit", {"parallelism": 3, "start": True})
    assert r.json()["state"] == "running"
    assert Study.objects.get(pk=draft.pk).trials.count() == 3


def test_a_broken_rule_names_its_field_and_nothing_is_half_saved(api, make_study):
    draft = make_study()
    before = Study.objects.filter(pk=draft.pk).values().get()
    r = api.post(f"/api/studies/{draft.pk}/edit", {
        "name": "should not stay", "search_space": {**NEW_SPACE, "bs": {"type": "qloguniform", "range": [8, 4, 8]}},
        "reduction_factor": 1})
    assert r.status_code == 400
    errors = r.json()["errors"]
    assert "low must be <= high" in errors["search_space.bs"]
    assert errors["reduction_factor"].startswith("reduction_factor must be")
    assert Study.objects.filter(pk=draft.pk).values().get() == before, "nothing is half-saved"


def test_a_batch_size_parameter_the_new_space_lacks_is_named(api, make_study):
    draft = make_study(batch_size_name="bs")
    r = api.post(f"/api/studies/{draft.pk}/edit", {"search_space": NEW_SPACE})
    assert r.status_code == 400
    assert "batch_size_name must name a parameter of the search space" in r.json()["errors"]["batch_size_name"]


@pytest.mark.parametrize("state", ["running", "paused", "killed"])
def test_a_study_that_started_refuses_with_409_naming_its_state(api, make_study, state):
    from studies import control

    study = make_study(start=True)
    if state == "paused":
        control.pause(study)
    if state == "killed":
        control.kill(study)
    before = Study.objects.get(pk=study.pk).initial_space
    r = api.post(f"/api/studies/{study.pk}/edit", {"search_space": NEW_SPACE})
    assert r.status_code == 409
    assert r.json()["errors"]["__all__"].startswith(f"cannot edit a study that is {state}: only a draft")
    assert Study.objects.get(pk=study.pk).initial_space == before == study_data()["search_space"]


def test_only_the_owner_or_staff_edit(bob, staff, make_study):
    draft = make_study()
    assert token_client(bob).post(f"/api/studies/{draft.pk}/edit", {"name": "bob's"}).status_code == 404
    assert Study.objects.get(pk=draft.pk).name == "quick asha"
    assert token_client(staff).post(f"/api/studies/{draft.pk}/edit", {"name": "staff's"}).status_code == 200
    assert Study.objects.get(pk=draft.pk).name == "staff's"


def test_the_edit_page_opens_the_builder_on_the_draft(client, alice, make_study):
    draft = make_study()
    client.force_login(alice)
    page = client.get(f"/studies/{draft.pk}/edit/")
    assert page.status_code == 200
    assert page.context["source"]["kind"] == "edit" and page.context["source"]["body"]["name"] == "quick asha"
    assert b"Edit draft" in page.content


def test_the_edit_page_of_a_started_study_says_it_cannot_be_edited(client, alice, make_study):
    study = make_study(start=True)
    client.force_login(alice)
    page = client.get(f"/studies/{study.pk}/edit/")
    assert page.status_code == 409
    assert b"only a draft can be edited" in page.content


def test_a_field_set_to_null_goes_back_to_its_default_or_to_auto_config(api, make_study):
    draft = make_study(seed=5, num_trials=12)
    r = api.post(f"/api/studies/{draft.pk}/edit", {"seed": None, "num_trials": None})
    assert r.status_code == 200, r.json()
    draft.refresh_from_db()
    assert (draft.settings["seed"], draft.settings["num_trials"]) == (None, None)
    assert "num_trials" in draft.plan["auto"]


def test_a_wall_clock_budget_replaces_the_drafts_ratio(api, make_study):
    draft = make_study(seconds_per_epoch=2.0)
    r = api.post(f"/api/studies/{draft.pk}/edit", {"budget": "2h", "expected_time_ratio": None})
    assert r.status_code == 200, r.json()
    assert r.json()["settings"]["expected_time_ratio"] == pytest.approx(1 + 7200 / (8 * 2.0))
