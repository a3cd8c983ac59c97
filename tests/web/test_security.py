"""Security, point by point (issue 6, part 3):

* every page and API route requires login, except the login pages and
  static files: the URL patterns are enumerated and each is requested
  anonymously (302 to a login page, 401, or 405; never 200 or 500);
* control actions need POST, and CSRF with a session (a token needs none);
* tokens are stored hashed: neither the key nor anything that works as one is kept;
* users see and control only their own studies; staff see all;
* workers run only registered trainers: a trainer named like an import path
  never imports or runs anything;
* API answers are JSON with nosniff (pages escape user text: tests/web/test_pages.py);
* SECRET_KEY is required outside debug and demo, and ``check --deploy`` is
  clean with production settings.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from runner.jobs import run_trial
from studies.api.views import STUDY_ACTIONS, TRIAL_ACTIONS
from studies.models import ApiToken, Study, Trial
from tests.conftest import ROOT, study_data, token_client

pytestmark = pytest.mark.django_db

#: routes anyone may open: the login pages (static files are served before URL routing)
PUBLIC = {"/login/", "/admin/login/"}
#: a sample value per URL parameter name
SAMPLES = {"pk": "1", "action": "start", "object_id": "1", "id": "1", "content_type_id": "1", "queue_index": "0",
           "connection_index": "0", "scheduler_index": "0", "app_label": "studies", "url": "anything"}


def all_routes() -> list[str]:
    """Every URL pattern of the project, as a concrete path."""
    def walk(patterns, prefix):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern)

    paths = []
    for route in walk(get_resolver().url_patterns, ""):
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: SAMPLES.get(m.group(1), "x"), route)
        path = re.sub(r"\(\?P<(\w+)>[^)]*\)\??", lambda m: SAMPLES.get(m.group(1), "x"), path)
        path = "/" + path.replace("^", "").replace("$", "").replace("/?", "/").replace("\\", "")
        resolve(path)  # the sample really is this route's
        paths.append(path)
    return sorted(set(paths))


def login_redirect(r) -> bool:
    return r.status_code == 302 and re.match(r"^/(admin/)?login/", r["Location"]) is not None


def test_every_route_but_the_login_pages_needs_a_login(client):
    routes = all_routes()
    assert len(routes) > 50 and "/api/studies/1/start" in routes and "/studies/1/" in routes
    opened = []
    for path in routes:
        for method in ("get", "post"):
            r = getattr(client, method)(path)
            if path in PUBLIC:
                assert r.status_code in (200, 302, 405), (method, path, r.status_code)
                continue
            if path.startswith("/api/"):
                ok = r.status_code in (401, 405)
            elif r.status_code == 302 and not login_redirect(r):
                # a logout sends you on to a page, which must want a login itself
                ok = login_redirect(client.get(r["Location"]))
            else:
                ok = login_redirect(r) or r.status_code in (401, 405)
            if not ok:
                opened.append((method.upper(), path, r.status_code, r.get("Location")))
    assert not opened, f"answered without a login: {opened}"


def test_the_login_page_and_static_files_are_public(client):
    assert client.get("/login/").status_code == 200
    r = client.get("/static/js/common.js")
    assert r.status_code == 200
    assert b"".join(r.streaming_content if r.streaming else [r.content])


@pytest.fixture
def alices(make_study, alice):
    study = make_study(owner=alice, name="alice's", start=True)
    return study, study.trials.get(number=0)


def action_routes(study, trial) -> list[tuple[str, object, str]]:
    return ([(f"/api/studies/{study.pk}/{a}", study, a) for a in STUDY_ACTIONS]
            + [(f"/api/trials/{trial.pk}/{a}", trial, a) for a in TRIAL_ACTIONS])


def snapshot(obj):
    """What a control could change: the state (and a trial's pending pause)."""
    fields = ("state", "pending") if isinstance(obj, Trial) else ("state",)
    return type(obj).objects.filter(pk=obj.pk).values(*fields).get()


def test_control_actions_need_a_post(alice, alices):
    browser = Client()
    browser.force_login(alice)
    for path, obj, _ in action_routes(*alices):
        before = snapshot(obj)
        r = browser.get(path)
        assert r.status_code == 405, path
        assert snapshot(obj) == before


def test_control_actions_from_a_session_need_the_csrf_token(alice, alices):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    for path, obj, _ in action_routes(*alices):
        before = snapshot(obj)
        r = browser.post(path, content_type="application/json")
        assert r.status_code == 403, path
        assert r.json() == {"errors": {"__all__": "CSRF token missing or incorrect"}}
        assert snapshot(obj) == before, f"{path} changed something without a CSRF token"
    browser.get("/login/")
    r = browser.post(f"/api/studies/{alices[0].pk}/pause", HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value,
                     content_type="application/json")
    assert r.status_code == 200, "with the token it works"


def test_a_token_needs_no_csrf_token(alice, alices):
    script = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Token {ApiToken.issue(alice)}")
    assert script.post(f"/api/studies/{alices[0].pk}/pause", content_type="application/json").status_code == 200


def test_tokens_are_stored_hashed_and_the_stored_digest_is_no_key(alice):
    key = ApiToken.issue(alice)
    row = ApiToken.objects.filter(user=alice).values().get()
    assert not any(isinstance(v, str) and key in v for v in row.values()), "the key itself is not stored"
    assert row["prefix"] == key[:8] and len(row["digest"]) == 64
    assert Client(HTTP_AUTHORIZATION=f"Token {row['digest']}").get("/api/studies").status_code == 401
    assert Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/studies").status_code == 200


def test_users_reach_only_their_own_studies_and_staff_reach_all(alice, bob, staff, alices):
    study, trial = alices
    reads = [f"/studies/{study.pk}/", f"/trials/{trial.pk}/", f"/api/studies/{study.pk}",
             f"/api/studies/{study.pk}/trials.csv", f"/api/trials/{trial.pk}"]
    other, admin = Client(), Client()
    other.force_login(bob)
    admin.force_login(staff)
    for path in reads:
        assert other.get(path).status_code == 404, path
        assert admin.get(path).status_code == 200, path
    bobs = token_client(bob)
    for path, obj, _ in action_routes(study, trial):
        before = snapshot(obj)
        assert bobs.post(path).status_code == 404, path
        assert snapshot(obj) == before
    assert bobs.get("/api/studies").json()["studies"] == []
    staff_api = token_client(staff)
    assert [s["id"] for s in staff_api.get("/api/studies").json()["studies"]] == [study.pk]
    assert staff_api.post(f"/api/trials/{trial.pk}/kill").status_code == 200


@pytest.mark.parametrize("name", ["os.system", "examples.digits.train", "tests.import_canary.train",
                                  "runner.jobs.run_trial", "__import__('os')"])
def test_a_trainer_named_like_an_import_path_imports_and_runs_nothing(api, trainers, make_study, tmp_path,
                                                                      transactional_db, name, monkeypatch):
    canary = tmp_path / "imported"
    monkeypatch.setenv("HPOPT_TEST_CANARY_FILE", str(canary))
    sys.modules.pop("tests.import_canary", None)

    r = api.post("/api/studies", study_data(trainer=name))
    assert r.status_code == 400, "the API accepts registered trainers only"
    assert "trainer must be one of the registered trainers" in r.json()["errors"]["trainer"]

    # a row that names it anyway (an old database, an admin's edit): the worker's registry refuses it
    study = make_study(search_alg="bayes_opt", num_trials=1, parallelism=1, start=True)
    Study.objects.filter(pk=study.pk).update(trainer=name)
    trial = study.trials.get()
    assert run_trial(trial.pk, trial.job_id) == "failed"
    trial = Trial.objects.get(pk=trial.pk)
    assert trial.state == "failed"
    assert f"no trainer named {name!r} is registered here" in trial.error
    assert "tests.import_canary" not in sys.modules and not canary.exists(), "nothing was imported"


def test_jobs_name_the_trial_only_never_a_function_of_the_study(make_study, redis_conn, transactional_db):
    from rq.job import Job

    study = make_study(search_alg="bayes_opt", num_trials=1, parallelism=1, start=True)
    trial = study.trials.get()
    job = Job.fetch(trial.job_id, connection=redis_conn)
    # the trial and the job's own id (which fences its writes): plain values only
    assert (job.func_name, job.args, job.kwargs) == ("runner.jobs.run_trial", (trial.pk, trial.job_id), {})


def test_api_answers_are_json_with_nosniff_also_for_errors(api, alices, client):
    study, trial = alices
    for r in [api.get("/api/studies"), api.get(f"/api/studies/{study.pk}"), api.get(f"/api/trials/{trial.pk}"),
              api.get("/api/trainers"), api.get("/api/workers"), api.get("/api/studies/999999"),
              api.get("/api/trials/999999"), api.get("/api/studies?state=<script>"),
              api.post("/api/studies", {"name": "<script>alert(1)</script>"}),
              api.post(f"/api/studies/{study.pk}/nope"),
              api.get(f"/api/studies/{study.pk}/start"), client.get("/api/studies")]:
        assert r["Content-Type"] == "application/json", (r.status_code, r["Content-Type"])
        assert r["X-Content-Type-Options"] == "nosniff"
        json.loads(r.content)
    csv = api.get(f"/api/studies/{study.pk}/trials.csv")
    assert csv["Content-Type"] == "text/csv" and csv["X-Content-Type-Options"] == "nosniff"


def test_user_text_in_api_answers_stays_data(api, trainers):
    name = "<script>alert(1)</script>"
    r = api.post("/api/studies", study_data(name=name))
    assert r["Content-Type"] == "application/json"
    assert r.json()["name"] == name  # JSON carries the text as it was; pages escape it


# -- settings, in fresh processes -----------------------------------------------------------
def settings_process(tmp_path, code: str, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("SECRET_KEY", "DEBUG", "HPOPT_DEMO", "HPOPT_HTTPS", "DJANGO_SETTINGS_MODULE", "ALLOWED_HOSTS",
                          "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
                          # set by the browser tests' conftest for Playwright; a deployment never has it
                          "DJANGO_ALLOW_ASYNC_UNSAFE")}
    full = {**clean, "HPOPT_VAR_DIR": str(tmp_path), "PYTHONPATH": str(ROOT), **env}
    return subprocess.run([sys.executable, "-c", code], cwd=str(ROOT), env=full, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("env, ok", [
    ({}, False), ({"DEBUG": "0"}, False), ({"DEBUG": "1"}, True), ({"HPOPT_DEMO": "1"}, True),
    ({"SECRET_KEY": "set-by-the-operator-" + "k" * 40}, True),
])
def test_the_secret_key_is_required_outside_debug_and_demo(tmp_path, env, ok):
    p = settings_process(tmp_path, "import hpopt_web.settings as s; print(len(s.SECRET_KEY))", **env)
    if ok:
        assert p.returncode == 0, p.stderr
    else:
        assert p.returncode != 0
        assert "ImproperlyConfigured: SECRET_KEY is not set and" in p.stderr
        assert not (tmp_path / "secret_key").exists()


PRODUCTION = {"DJANGO_SETTINGS_MODULE": "hpopt_web.settings", "DEBUG": "0", "ALLOWED_HOSTS": "hpopt.example.com"}


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    p = settings_process(tmp_path, "from django.core.management import execute_from_command_line as run; "
                         "run(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])",
                         SECRET_KEY=secrets.token_urlsafe(50), **PRODUCTION)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "System check identified no issues" in p.stdout


def test_check_deploy_fails_with_a_weak_secret_key(tmp_path):
    p = settings_process(tmp_path, "from django.core.management import execute_from_command_line as run; "
                         "run(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])",
                         SECRET_KEY="changeme", **PRODUCTION)
    assert p.returncode != 0
    assert "security.W009" in p.stdout + p.stderr


def test_trials_csv_cells_never_start_a_spreadsheet_formula(api, make_study):
    """Text a trainer or a user wrote (a choice, a parameter's name, a host, an
    error) that a spreadsheet would run as a formula is written with a
    leading apostrophe; numbers, negative ones too, stay numbers."""
    import csv
    import io

    formulas = ['=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3+cmd|x"]
    space = {"=x": {"type": "uniform", "range": [-2.0, 2.0]},
             "opt": {"type": "choice", "range": formulas},
             "bs": {"type": "qloguniform", "range": [8, 256, 8, 2]}}
    study = make_study(search_alg="bayes_opt", num_trials=4, num_init_trial=4, parallelism=4, search_space=space,
                       start=True)
    for trial, formula in zip(study.trials.order_by("number"), formulas):
        Trial.objects.filter(pk=trial.pk).update(params={**trial.params, "opt": formula}, host=formula,
                                                 error=formula, best_score=-0.5)

    rows = list(csv.reader(io.StringIO(api.get(f"/api/studies/{study.pk}/trials.csv").content.decode())))

    assert rows[0][1] == "'=x"
    cells = [c for row in rows for c in row]
    def number(cell):
        try:
            return float(cell) is not None
        except ValueError:
            return False
    assert not [c for c in cells if c.startswith(("=", "+", "@")) or (c.startswith("-") and not number(c))], cells
    for formula in formulas:
        assert sum(c == "'" + formula for c in cells) == 3, formula   # its choice, host and error cells
    assert sum(c == "-0.5" for c in cells) == 12   # scores (best, final, best epoch) stay numbers
