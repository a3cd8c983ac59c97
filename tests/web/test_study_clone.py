"""POST /api/studies/<id>/clone and the New-study page opened from a study
(/studies/new/?from=<id>): a new draft defined as the source, changed where
asked; the source never changes."""
import pytest

from studies import control
from studies.definitions import definition
from studies.models import Study
from studies.validation import validate_study
from tests.conftest import study_data, token_client

pytestmark = pytest.mark.django_db

SOURCE = dict(name="lr sweep", search_alg="bayes_opt", mode="min", num_init_trial=4, kappa=3.5, kappa_decay=0.9,
              early_stop="median_stop", seed=11, batch_size_name="bs", parallelism=3, num_trials=9,
              hard_budget=False, seconds_per_epoch=2.5, startup_seconds=5.0, expected_time_ratio=6)


@pytest.fixture(autouse=True)
def _trainers(trainers):
    return trainers


def columns(study):
    study.refresh_from_db()
    return {f: getattr(study, f) for f in ("name", "trainer", "algorithm", "settings", "initial_space", "space",
                                            "plan", "parallelism", "seconds_per_epoch", "startup_seconds",
                                            "state")}


def test_a_clone_is_a_new_draft_with_every_setting_of_its_source(api, alice, make_study):
    source = make_study(start=True, **SOURCE)
    before = columns(source)
    r = api.post(f"/api/studies/{source.pk}/clone")
    assert r.status_code == 201, r.json()
    clone = Study.objects.get(pk=r.json()["id"])
    assert clone.pk != source.pk and (clone.owner, clone.state, clone.name) == (alice, "draft", "lr sweep (copy)")
    assert clone.trials.count() == 0
    after = columns(clone)
    for field in ("trainer", "algorithm", "settings", "initial_space", "plan", "parallelism", "seconds_per_epoch",
                  "startup_seconds"):
        assert after[field] == before[field], field
    assert columns(source) == before, "the source is only read"


def test_the_body_changes_what_it_names_and_can_start_the_clone(api, make_study):
    source = make_study(**SOURCE)
    space = {"x": {"type": "uniform", "range": [-1.0, 1.0]}, "bs": {"type": "quniform", "range": [8, 64, 8]}}
    r = api.post(f"/api/studies/{source.pk}/clone", {"name": "narrower", "search_space": space, "kappa": 1.0,
                                                      "start": True})
    assert r.status_code == 201, r.json()
    body = r.json()
    assert (body["name"], body["state"], body["search_space"]) == ("narrower", "running", space)
    assert (body["settings"]["kappa"], body["settings"]["seed"]) == (1.0, 11)
    assert columns(source)["initial_space"] == study_data()["search_space"]


def test_a_wall_clock_budget_replaces_the_sources_ratio(api, make_study):
    source = make_study(**SOURCE)
    r = api.post(f"/api/studies/{source.pk}/clone", {"budget": "1h"})
    assert r.status_code == 201, r.json()
    # 1 h over full trainings of 8 epochs x 2.5 s
    assert r.json()["settings"]["expected_time_ratio"] == pytest.approx(1 + 3600 / (8 * 2.5))


def test_bad_changes_name_the_field_and_save_nothing(api, make_study):
    source = make_study(**SOURCE)
    before = Study.objects.count()
    r = api.post(f"/api/studies/{source.pk}/clone", {"kappa": -1, "search_space": {"x": {"type": "uniform",
                                                                                           "range": [2, 1]}}})
    assert r.status_code == 400
    errors = r.json()["errors"]
    assert errors["kappa"].startswith("kappa must be")
    assert "low must be < high" in errors["search_space.x"]
    assert Study.objects.count() == before


def test_a_body_that_is_not_an_object_is_400(api, make_study):
    source = make_study()
    r = api.post(f"/api/studies/{source.pk}/clone", [1, 2])
    assert r.status_code == 400
    assert r.json()["errors"] == {"__all__": "the body must be a JSON object"}


def test_another_users_study_cannot_be_cloned(bob, make_study):
    source = make_study()
    r = token_client(bob).post(f"/api/studies/{source.pk}/clone")
    assert r.status_code == 404
    assert Study.objects.count() == 1


def test_staff_clone_any_study_as_their_own(staff, make_study):
    source = make_study()
    r = token_client(staff).post(f"/api/studies/{source.pk}/clone")
    assert r.status_code == 201
    assert Study.objects.get(pk=r.json()["id"]).owner == staff


def test_the_definition_is_a_body_the_create_path_accepts_as_it_is(make_study):
    from hpopt.registry import registered_trainers

    source = make_study(**SOURCE)
    cleaned, errors = validate_study(definition(source), set(registered_trainers()))
    assert not errors
    assert cleaned["settings"].to_dict() == {**source.settings}


def test_a_clone_of_a_study_whose_space_an_oom_shrank_starts_from_its_initial_space(api, make_study):
    source = make_study(batch_size_name="bs", start=True)
    Study.objects.filter(pk=source.pk).update(space={**source.space, "bs": {"type": "qloguniform",
                                                                             "range": [8, 64, 8, 2]}})
    r = api.post(f"/api/studies/{source.pk}/clone")
    assert r.json()["search_space"] == study_data()["search_space"]


def test_the_new_study_page_is_prefilled_from_the_study(client, alice, make_study):
    source = make_study(**SOURCE)
    control.start(source)
    client.force_login(alice)
    page = client.get(f"/studies/new/?from={source.pk}")
    assert page.status_code == 200
    prefill = page.context["source"]
    assert prefill["kind"] == "clone" and prefill["id"] == source.pk
    assert prefill["body"] == {**definition(source), "name": "lr sweep (copy)"}
    assert b"New study from" in page.content


def test_the_new_study_page_ignores_a_study_the_user_cannot_see(client, bob, make_study):
    source = make_study()
    client.force_login(bob)
    assert client.get(f"/studies/new/?from={source.pk}").status_code == 404


def test_a_study_stored_without_a_sampler_runs_and_clones_with_the_tpe(make_study):
    """ASHA's default sampler is the GP; a study stored before the option
    existed ran with the TPE, and reads (and clones) as it ran."""
    assert make_study(search_alg="asha").settings["sampler"] == "gp"
    source = make_study(search_alg="asha")
    Study.objects.filter(pk=source.pk).update(
        settings={k: v for k, v in source.settings.items() if k != "sampler"})
    source.refresh_from_db()
    assert source.meta().settings.sampler == "tpe"
    assert definition(source)["sampler"] == "tpe"
