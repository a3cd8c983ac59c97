"""The HTML pages, through Django's test client: login is required, users see
only their own studies, typed text is escaped, each page loads its script.
(What the scripts do is tested in a real browser: tests/e2e/.)"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
XSS = "<script>alert(1)</script>"

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def _pages(study, trial):
    return ["/", "/studies/new/", f"/studies/{study.pk}/", f"/trials/{trial.pk}/", "/workers/"]


@pytest.fixture
def study(make_study):
    return make_study(start=True)


@pytest.fixture
def trial(study):
    t = study.trials.order_by("number").first()
    assert t is not None, "starting the study creates its first trials"
    return t


def test_every_page_sends_an_anonymous_visitor_to_the_login_page(client, study, trial):
    for path in _pages(study, trial):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/login/?next="), path


def test_the_login_page_logs_in_and_goes_to_the_studies(client, alice):
    page = client.get("/login/")
    assert page.status_code == 200 and b'name="csrfmiddlewaretoken"' in page.content
    response = client.post("/login/", {"username": "alice", "password": "alice-password"})
    assert response.status_code == 302 and response["Location"] == "/"


def test_a_wrong_password_says_so_on_the_login_page(client, alice):
    response = client.post("/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"didn't match" in response.content


@pytest.mark.parametrize("index, script", [
    (0, "js/list.js"), (1, "js/new.js"), (2, "js/study.js"), (3, "js/trial.js"), (4, "js/workers.js"),
])
def test_each_page_renders_with_its_script_and_a_csrf_token(alice_client, study, trial, index, script):
    response = alice_client.get(_pages(study, trial)[index])
    assert response.status_code == 200
    html = response.content.decode()
    assert f'src="/static/{script}"' in html
    assert 'src="/static/js/common.js"' in html
    assert 'name="csrfmiddlewaretoken"' in html  # the controls' X-CSRFToken comes from it


def test_the_pages_with_charts_load_the_vendored_chart_js(alice_client, study, trial):
    for path in (f"/studies/{study.pk}/", f"/trials/{trial.pk}/"):
        assert 'src="/static/vendor/chart.umd.min.js"' in alice_client.get(path).content.decode()


def test_chart_js_is_vendored_pinned_with_its_licence():
    vendor = ROOT / "static" / "vendor"
    head = (vendor / "chart.umd.min.js").read_text()[:200]
    assert re.search(r"Chart\.js v4\.\d+\.\d+", head)
    version = re.search(r"Chart\.js (4\.\d+\.\d+)", (vendor / "VERSION").read_text()).group(1)
    assert f"v{version}" in head
    assert "MIT" in (vendor / "chart.js.LICENSE.md").read_text()


def test_a_user_gets_404_for_another_users_study_and_trial(client, bob, study, trial):
    client.force_login(bob)
    assert client.get(f"/studies/{study.pk}/").status_code == 404
    assert client.get(f"/trials/{trial.pk}/").status_code == 404
    assert study.name.encode() not in client.get("/").content


def test_staff_see_every_study(client, staff, study):
    client.force_login(staff)
    assert client.get(f"/studies/{study.pk}/").status_code == 200
    assert study.name.encode() in client.get("/").content


def test_a_typed_study_name_is_escaped_on_every_page(alice_client, make_study):
    s = make_study(name=XSS, start=True)
    t = s.trials.first()
    for path in ("/", f"/studies/{s.pk}/", f"/trials/{t.pk}/"):
        html = alice_client.get(path).content.decode()
        assert XSS not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path


def test_the_list_filters_by_state(alice_client, make_study):
    make_study(name="a draft")
    make_study(name="a running one", start=True)
    running = alice_client.get("/?state=running").content.decode()
    assert "a running one" in running and "a draft" not in running
    drafts = alice_client.get("/?state=draft").content.decode()
    assert "a draft" in drafts and "a running one" not in drafts
    everything = alice_client.get("/?state=bogus").content.decode()
    assert "a draft" in everything and "a running one" in everything


def test_the_list_shows_budget_spent_best_score_and_eta(alice_client, study, trial):
    from studies.models import Trial

    spent = trial.iterations * study.meta().plan.epoch_cost(trial.subset_ratio)
    Trial.objects.filter(pk=trial.pk).update(state="completed", best_score=0.8125, last_iteration=trial.iterations,
                                             spent=spent)
    html = alice_client.get("/").content.decode()
    row = re.search(rf'<tr data-id="{study.pk}".*?</tr>', html, re.S).group(0)
    assert "0.8125" in row and f"#{trial.number}" in row
    from studies.progress import summary

    # the share of the budget's compute spent
    s = summary(study)
    progress = s["progress"]
    assert 0 < progress == pytest.approx(spent / s["budget"]["total"])
    assert f"{round(100 * progress, 1)}%" in row
    assert re.search(r'data-field="eta">\d+(s|m \d\ds|h \d\dm)<', row)


def test_the_new_study_page_suggests_the_last_trainer_and_its_measured_time_model(alice_client, study, trial,
                                                                                trainers):
    """The model comes from the intervals between reports (studies.timing):
    4 epochs timed over 8 s, the first report 5 s after the attempt's start,
    so 3 s of it was start-up; the epoch counted in full-data epochs."""
    from studies.models import Trial

    Trial.objects.filter(pk=trial.pk).update(
        state="completed", last_iteration=5, epoch_seconds=8.0, epoch_count=4, first_report=5.0)
    html = alice_client.get("/studies/new/").content.decode()
    hints = re.search(r'<script id="form-hints" type="application/json">(.*?)</script>', html).group(1)
    assert json.loads(hints)["last_trainer"] == "quick"
    model = next(t for t in alice_client.get("/api/trainers").json()["trainers"] if t["name"] == "quick")["time_model"]
    per_full_epoch = 2.0 / study.meta().plan.epoch_cost(trial.subset_ratio)
    assert model["seconds_per_epoch"] == pytest.approx(per_full_epoch)
    assert model["startup_seconds"] == pytest.approx(3.0)
    assert model["description"] == "measured over 4 epochs of 1 trial"


def test_the_scripts_never_write_html():
    """The pages build the DOM with textContent only: no markup from data."""
    for path in (ROOT / "static" / "js").glob("*.js"):
        source = path.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in source, f"{path.name} uses {sink}"
