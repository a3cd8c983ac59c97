"""Fuzzing what users send (hypothesis): POST /api/studies and POST
/api/plan with random search spaces and arguments, wrong types, huge
numbers, unicode, NUL characters, missing fields and bodies that are not
JSON; and the query strings of every page and GET route. (The new-study form
posts through POST /api/studies, so this covers it.)

Every answer is strict JSON (no NaN or Infinity tokens a browser cannot
parse); an invalid body gets 400 with a message per field and saves nothing;
nothing ever answers 500."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studies.models import Study, Trial
from tests.conftest import study_data
from tests.strategies import FUZZ, create_arg_values, huge, json_junk, text

pytestmark = pytest.mark.django_db

ARGS = create_arg_values(json_junk)
DASHBOARD = {
    "name": text | json_junk,
    "trainer": st.sampled_from(["quick", "slow", "nope", "os.system", "examples.digits.train"]) | json_junk,
    "parallelism": st.integers(-2, 1100) | huge | json_junk,
    "seconds_per_epoch": st.floats(-1, 1e9) | huge | json_junk,
    "start": st.booleans() | json_junk,
    "save_path": json_junk,
    "resume": json_junk,
}
FIELDS = {**ARGS, **DASHBOARD}


@st.composite
def bodies(draw):
    """A valid study body with a few fields changed, dropped or added; now and then any JSON at all."""
    if draw(st.integers(0, 19)) == 0:
        return draw(json_junk)
    body = study_data()
    for name in draw(st.lists(st.sampled_from(sorted(FIELDS)), max_size=4, unique=True)):
        body[name] = draw(FIELDS[name])
    for name in draw(st.lists(st.sampled_from(sorted(body)), max_size=2, unique=True)):
        body.pop(name)
    for name in draw(st.lists(text, max_size=1)):
        body[name] = draw(json_junk)
    if body.get("start") is True and not (isinstance(body.get("parallelism"), int) and body["parallelism"] <= 8):
        body["parallelism"] = 8  # a study started with 1024 slots proposes 1024 trials: slow, not wrong
    return body


def strict_json(content: bytes):
    """json.loads that refuses NaN and Infinity (JavaScript's JSON.parse does)."""
    def refuse(token):
        raise AssertionError(f"the answer holds {token}, which is not JSON")

    return json.loads(content, parse_constant=refuse)


def assert_field_errors(r) -> dict:
    assert r["Content-Type"] == "application/json"
    errors = strict_json(r.content)["errors"]
    assert errors and all(isinstance(k, str) and isinstance(v, str) and v for k, v in errors.items()), errors
    return errors


def post(api, path, body):
    return api.post(path, raw=json.dumps(body))  # NaN, Infinity and 400-digit ints travel as JSON allows


@FUZZ
@given(body=bodies())
def test_creating_a_study_answers_201_or_400_with_field_errors_and_saves_nothing_on_400(api, trainers, body):
    studies, trials = Study.objects.count(), Trial.objects.count()
    r = post(api, "/api/studies", body)
    assert r.status_code in (201, 400), (r.status_code, r.content[:500])
    if r.status_code == 400:
        assert_field_errors(r)
        assert (Study.objects.count(), Trial.objects.count()) == (studies, trials), "nothing half-saved"
        return
    study = Study.objects.get(pk=strict_json(r.content)["id"])
    assert study.state == ("running" if body.get("start") else "draft")
    assert api.get(f"/api/studies/{study.pk}").status_code == 200


@FUZZ
@given(body=bodies())
def test_the_plan_preview_answers_200_or_400_with_field_errors(api, trainers, body):
    studies = Study.objects.count()
    r = post(api, "/api/plan", body)
    assert r.status_code in (200, 400), (r.status_code, r.content[:500])
    if r.status_code == 400:
        assert_field_errors(r)
    else:
        answer = strict_json(r.content)
        assert answer["plan"]["num_trials"] >= 1 and answer["wall_seconds"] >= 0
    assert Study.objects.count() == studies


@FUZZ
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode)
       | st.sampled_from([b"[" * 100_000, b'{"name": "\\ud800"}', b'{"search_space": {"\\u0000": 1}}', b"\xff\xfe",
                          b'{"name": "x", "full_dataset_size": 1e999}', b"NaN", b"-Infinity"]))
def test_a_body_that_is_not_a_study_gets_400(api, trainers, raw):
    studies = Study.objects.count()
    for path in ("/api/studies", "/api/plan"):
        r = api.client.post(path, raw, content_type="application/json")
        assert r.status_code == 400, (path, r.status_code, r.content[:300])
        assert_field_errors(r)
    assert Study.objects.count() == studies


@pytest.mark.parametrize("field, value", [
    ("name", "a\x00b"), ("name", "\ud800"),
    ("search_space", {"x\x00": {"type": "uniform", "range": [0, 1]}}),
    ("search_space", {"opt": {"type": "choice", "range": ["sgd", "ad\x00am"]}}),
    ("search_space", {"opt": {"type": "choice", "range": ["\udfff"]}}),
])
def test_text_no_database_can_store_is_rejected_at_its_field(api, trainers, field, value):
    r = api.post("/api/studies", study_data(**{field: value}))
    assert r.status_code == 400
    errors = assert_field_errors(r)
    assert any(k == field or k.startswith(f"{field}.") for k in errors), errors
    assert not Study.objects.exists()


@pytest.mark.parametrize("field", ["num_full_iterations", "max_iterations"])
def test_iterations_beyond_the_databases_integers_are_rejected_at_their_field(api, trainers, field):
    r = api.post("/api/studies", study_data(**{field: 2**31, "start": True}))
    assert r.status_code == 400
    assert "from 1 to 2147483647" in assert_field_errors(r)[field]


PAGES = ["/", "/studies/new/", "/workers/", "/studies/{study}/", "/trials/{trial}/"]
API_GETS = ["/api/studies", "/api/studies/{study}", "/api/studies/{study}/best-config",
            "/api/studies/{study}/trials.csv", "/api/trials/{trial}", "/api/trainers", "/api/workers"]
query_values = text | st.sampled_from(["running", "paused", "1:2", "-1", "99999999999999999999999:1", "1:" + "9" * 400,
                                       "1e400", "0:0", "%ZZ", "\x00", "NaN"])


@settings(FUZZ, max_examples=max(1, FUZZ.max_examples // 3))  # 24 requests an example
@given(params=st.dictionaries(st.sampled_from(["state", "since", "page", "next"]) | text, query_values, max_size=3),
       raw=st.sampled_from(["", "state=%ZZ%C3", "since=%00", "state=running&state=x", "since=&since=1:1"]))
def test_query_strings_never_break_a_page_or_a_route(alice, make_study, client, api, params, raw):
    # one study for every example (the test's transaction keeps what examples save)
    study = Study.objects.filter(name="fuzzed queries").first() or make_study(name="fuzzed queries", start=True)
    ids = {"study": study.pk, "trial": study.trials.first().pk}
    client.force_login(alice)
    for path in PAGES:
        r = client.get(path.format(**ids), params)
        assert r.status_code == 200, (path, params, r.status_code)
        assert client.get(path.format(**ids) + "?" + raw).status_code == 200
    for path in API_GETS:
        for r in (api.get(path.format(**ids), **params), api.client.get(path.format(**ids) + "?" + raw)):
            assert r.status_code in (200, 400, 404), (path, params, raw, r.status_code, r.content[:300])
            if r["Content-Type"] == "application/json":
                strict_json(r.content)


@pytest.mark.parametrize("depth", [100, 900, 5000, 100_000])
def test_a_deeply_nested_body_gets_400(api, trainers, depth):
    space = '{"x": {"type": "choice", "range": ' + "[" * depth + "]" * depth + "}}"
    nested = "[" * depth + "]" * depth
    body = json.dumps(study_data())[:-1] + ', "search_space": ' + space + ', "name2": ' + nested + "}"
    for path in ("/api/studies", "/api/plan"):
        r = api.client.post(path, body, content_type="application/json")
        assert r.status_code == 400, (depth, r.status_code)
        assert_field_errors(r)
    assert not Study.objects.exists()


def test_a_superscript_digit_is_not_a_page_number(alice, client, api):
    # "²".isdigit() is True but int("²") raises: the query-string fuzz test found the 500
    client.force_login(alice)
    assert client.get("/", {"page": "²"}).status_code == 200
    for field in ("page", "per_page"):
        r = api.get("/api/studies", **{field: "²"})
        assert r.status_code == 400 and field in r.json()["errors"], (r.status_code, r.content[:200])
