"""POST /api/studies: a valid study is saved (and started when asked);
invalid input gets 400 with a message per field, and nothing is saved."""
import pytest

from studies.models import Study
from tests.conftest import study_data

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _trainers(trainers):
    return trainers


def test_it_creates_a_draft(api, alice):
    r = api.post("/api/studies", study_data(name="lr sweep"))
    assert r.status_code == 201
    body = r.json()
    study = Study.objects.get(pk=body["id"])
    assert (study.name, study.owner, study.trainer, study.state) == ("lr sweep", alice, "quick", "draft")
    assert study.trials.count() == 0
    assert body["plan"]["search_alg"] == "asha"
    assert body["plan"]["num_trials"] == study.plan["num_trials"] > 0
    assert body["search_space"] == study_data()["search_space"]


def test_it_starts_the_study_when_asked(api):
    r = api.post("/api/studies", study_data(start=True, parallelism=3))
    assert r.status_code == 201
    assert r.json()["state"] == "running"
    study = Study.objects.get(pk=r.json()["id"])
    assert list(study.trials.values_list("state", flat=True)) == ["queued"] * 3


def test_it_keeps_every_create_argument(api):
    r = api.post("/api/studies", study_data(mode="min", reduction_factor=3, seed=11, batch_size_name="bs",
                                            num_init_trials=4))
    assert r.status_code == 201
    settings = Study.objects.get(pk=r.json()["id"]).settings
    assert (settings["mode"], settings["reduction_factor"], settings["seed"]) == ("min", 3, 11)
    assert (settings["batch_size_name"], settings["num_init_trial"]) == ("bs", 4)
    assert settings["num_workers"] == 2, "the parallelism is the plan's number of workers"


def rejected(api, body, raw=None) -> dict:
    before = Study.objects.count()
    r = api.post("/api/studies", body, raw=raw)
    assert r.status_code == 400, r.content
    assert Study.objects.count() == before, "nothing is saved"
    return r.json()["errors"]


def test_an_unregistered_trainer_is_rejected(api):
    errors = rejected(api, study_data(trainer="resnet9000"))
    assert "trainer must be one of the registered trainers" in errors["trainer"]
    assert "quick" in errors["trainer"]


def test_a_missing_dataset_size_is_rejected(api):
    body = study_data()
    del body["full_dataset_size"]
    assert rejected(api, body)["full_dataset_size"] == "full_dataset_size is required"


def test_a_range_whose_low_is_not_below_its_high_is_rejected_at_its_parameter(api):
    space = {**study_data()["search_space"], "lr": {"type": "loguniform", "range": [0.1, 0.01]}}
    errors = rejected(api, study_data(search_space=space))
    assert set(errors) == {"search_space.lr"}
    assert "low" in errors["search_space.lr"] and "high" in errors["search_space.lr"]


def test_a_misspelled_argument_suggests_the_right_one(api):
    errors = rejected(api, study_data(ealry_stop="median_stop"))
    assert "ealry_stop" in errors
    assert "did you mean 'early_stop'" in errors["ealry_stop"]


def test_an_invalid_mode_is_rejected(api):
    errors = rejected(api, study_data(mode="maximum"))
    assert errors["mode"] == "mode must be 'max' or 'min' (got 'maximum')"


@pytest.mark.parametrize("value", [0, -1, 1.5, "4", True, 100_000])
def test_a_parallelism_that_is_not_a_positive_integer_is_rejected(api, value):
    errors = rejected(api, study_data(parallelism=value))
    assert errors["parallelism"].startswith("parallelism must be an integer from 1 to")


def test_a_body_that_is_not_json_is_rejected(api):
    errors = rejected(api, None, raw="name=my+study&trainer=quick")
    assert errors["__all__"].startswith("the body must be JSON")


@pytest.mark.parametrize("raw", ["[1, 2]", '"a study"', "null", ""])
def test_a_body_that_is_not_a_json_object_is_rejected(api, raw):
    errors = rejected(api, None, raw=raw)
    assert errors["__all__"] == "the body must be a JSON object"


def test_every_invalid_field_is_reported_at_once(api):
    body = study_data(name="", trainer="nope", parallelism=0, mode="maximum", seconds_per_epoch=-1, start="yes")
    errors = rejected(api, body)
    assert {"name", "trainer", "parallelism", "mode", "seconds_per_epoch", "start"} <= set(errors)


def test_an_invalid_budget_argument_is_reported_at_its_field(api):
    errors = rejected(api, study_data(expected_time_ratio=0.5))
    assert "expected_time_ratio" in errors


def test_an_unknown_parameter_type_is_reported_at_its_parameter(api):
    space = {"x": {"type": "gaussian", "range": [0, 1]}}
    errors = rejected(api, study_data(search_space=space))
    assert "search_space.x" in errors


def test_a_batch_size_name_outside_the_space_is_rejected(api):
    errors = rejected(api, study_data(batch_size_name="batch"))
    assert "batch_size_name" in errors


def test_a_bad_search_space_does_not_hide_the_other_fields_errors(api):
    """Every broken rule at once: a parameter's range, the budget, the
    algorithm's own arguments and a misspelled name, each at its field."""
    space = {"lr": {"type": "loguniform", "range": [0.1, 0.01]}, "bs": {"type": "quniform", "range": [8, 64, 0]},
             "act": {"type": "choice", "range": ["relu"]}}
    errors = rejected(api, study_data(search_space=space, expected_time_ratio=0.5, reduction_factor=1,
                                      kappa=-1, ealry_stop="median_stop", num_trials=0))
    assert {"search_space.lr", "search_space.bs", "expected_time_ratio", "reduction_factor", "kappa",
            "ealry_stop", "num_trials"} <= set(errors), errors
    assert "search_space.act" not in errors
    assert errors["expected_time_ratio"] == "expected_time_ratio must be a number in (1, 1e+06] (got 0.5)"
    assert errors["reduction_factor"].startswith("reduction_factor must be an integer from 2 to")
    assert not Study.objects.exists()


def test_rules_that_join_fields_are_checked_once_the_fields_are_valid(api):
    errors = rejected(api, study_data(min_iterations=6, max_iterations=4))
    assert set(errors) == {"min_iterations"}
    assert errors["min_iterations"] == "min_iterations (6) must be <= max_iterations (4)"
