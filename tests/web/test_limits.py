"""Size limits of a study (studies.validation.LIMITS) and of a request body
(HPOPT_MAX_BODY_BYTES): a clear 400 in JSON naming the field and the limit,
without echoing the oversized text, and nothing saved."""
import json

import pytest
from django.conf import settings

from studies.models import Study
from studies.validation import LIMITS
from tests.conftest import study_data

pytestmark = pytest.mark.django_db

LONG = "y" * (LIMITS.text + 1)


def _refused(api, body) -> dict:
    response = api.post("/api/studies", body)
    assert response.status_code == 400, response.content[:300]
    assert Study.objects.count() == 0
    assert LONG not in response.content.decode(), "the oversized text is not sent back"
    return response.json()["errors"]


def _choices(values) -> dict:
    return {"x": {"type": "uniform", "range": [0, 1]}, "opt": {"type": "choice", "range": values}}


def test_a_study_with_the_most_of_everything_is_accepted(api, trainers):
    space = {f"p{i}": {"type": "uniform", "range": [0, 1]} for i in range(LIMITS.parameters - 1)}
    space["opt"] = {"type": "choice", "range": [f"{i:0{LIMITS.text}d}" for i in range(300)]}
    r = api.post("/api/studies", study_data(name="n" * LIMITS.text, search_space=space))
    assert r.status_code == 201, r.json()


def test_too_many_parameters_are_refused(api, trainers):
    space = {f"p{i}": {"type": "uniform", "range": [0, 1]} for i in range(LIMITS.parameters + 1)}
    errors = _refused(api, study_data(search_space=space))
    assert errors["search_space"] == f"search_space has at most {LIMITS.parameters} parameters (got 101)"


def test_too_many_choices_are_refused_at_their_parameter(api, trainers):
    errors = _refused(api, study_data(search_space=_choices(list(range(LIMITS.choices + 1)))))
    assert errors == {"search_space.opt": f"parameter 'opt': at most {LIMITS.choices} choices (got 1001)"}


def test_a_long_choice_string_is_refused_at_its_parameter(api, trainers):
    errors = _refused(api, study_data(search_space=_choices(["sgd", LONG])))
    assert errors == {"search_space.opt": (f"parameter 'opt': choice strings must be at most {LIMITS.text} "
                                           f"characters (choice 1 has {len(LONG)})")}


def test_a_long_parameter_name_is_refused(api, trainers):
    errors = _refused(api, study_data(search_space={LONG: {"type": "uniform", "range": [0, 1]}}))
    assert f"parameter names must be at most {LIMITS.text} characters" in errors["search_space"]


@pytest.mark.parametrize("field", ["name", "trainer", "mode", "search_alg", "budget"])
def test_a_long_text_field_is_refused_by_name(api, trainers, field):
    errors = _refused(api, study_data(**{field: LONG}))
    assert errors[field] == f"{field} must be at most {LIMITS.text} characters (got {len(LONG)})"


def test_too_many_or_too_long_field_names_are_refused(api, trainers):
    many = study_data(**{f"extra{i}": 1 for i in range(LIMITS.fields)})
    assert _refused(api, many) == {"__all__": f"a study has at most {LIMITS.fields} fields (got {len(many)})"}
    assert _refused(api, study_data(**{LONG: 1})) == {
        "__all__": f"field names must be at most {LIMITS.text} characters"}


def test_the_preview_applies_the_same_limits(api, trainers):
    r = api.post("/api/plan", study_data(search_space=_choices(list(range(LIMITS.choices + 1)))))
    assert r.status_code == 400 and "search_space.opt" in r.json()["errors"]


def test_a_body_over_the_limit_is_a_json_400_naming_the_limit(api, trainers):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = json.dumps(study_data(search_space=_choices(["z" * 100] * (limit // 100 + 1))))
    response = api.post("/api/studies", raw=body)
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert response.json() == {"errors": {"body": f"the request body must be at most {limit} bytes (1 MiB)"}}
    assert Study.objects.count() == 0


def test_the_form_is_served_the_limits(client, alice):
    client.force_login(alice)
    html = client.get("/studies/new/").content.decode()
    assert json.dumps(LIMITS.to_json()) [1:-1] in html
