"""API authentication: the browser's session (CSRF on writes), or
``Authorization: Token <key>`` from ``hpopt-web token USERNAME``."""
import hashlib

import pytest
from django.test import Client

from hpopt_web import cli
from studies.models import ApiToken, Study

pytestmark = pytest.mark.django_db


def issue_with_cli(capsys, username) -> str:
    assert cli.main(["token", username]) == 0
    return capsys.readouterr().out.strip()


def test_an_anonymous_request_gets_401_json(client):
    r = client.get("/api/studies")
    assert r.status_code == 401
    assert r["Content-Type"] == "application/json"
    assert "Authorization: Token" in r.json()["errors"]["__all__"]


def test_an_anonymous_post_gets_401_and_changes_nothing(client, make_study):
    study = make_study()
    r = client.post(f"/api/studies/{study.pk}/start")
    assert r.status_code == 401
    assert Study.objects.get(pk=study.pk).state == "draft"


def test_a_logged_in_browser_reads_with_its_session(client, alice, make_study):
    make_study(name="mine")
    client.force_login(alice)
    r = client.get("/api/studies")
    assert r.status_code == 200
    assert [s["name"] for s in r.json()["studies"]] == ["mine"]


def test_a_session_post_without_csrf_token_gets_403(alice, make_study):
    study = make_study()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    r = browser.post(f"/api/studies/{study.pk}/start", content_type="application/json")
    assert r.status_code == 403
    assert r.json()["errors"]["__all__"] == "CSRF token missing or incorrect"
    assert Study.objects.get(pk=study.pk).state == "draft"


def test_a_session_post_with_the_csrf_token_header_is_accepted(alice, make_study):
    study = make_study()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    browser.get("/login/")  # any page with a form sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    r = browser.post(f"/api/studies/{study.pk}/start", content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert r.status_code == 200
    assert Study.objects.get(pk=study.pk).state == "running"


def test_the_token_command_prints_a_key_that_authenticates(capsys, alice, make_study):
    study = make_study()
    key = issue_with_cli(capsys, "alice")
    script = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Token {key}")
    assert [s["id"] for s in script.get("/api/studies").json()["studies"]] == [study.pk]
    # a script needs no CSRF token
    assert script.post(f"/api/studies/{study.pk}/start", content_type="application/json").status_code == 200


def test_a_token_is_stored_hashed(capsys, alice):
    key = issue_with_cli(capsys, "alice")
    token = ApiToken.objects.get(user=alice)
    assert token.digest != key
    assert key not in token.digest
    assert token.digest == hashlib.sha256(key.encode()).hexdigest()
    assert token.prefix == key[:8]


def test_each_token_command_prints_a_new_key(capsys, alice):
    assert issue_with_cli(capsys, "alice") != issue_with_cli(capsys, "alice")
    assert ApiToken.objects.filter(user=alice).count() == 2


def test_the_token_command_refuses_an_unknown_user(capsys):
    assert cli.main(["token", "nobody"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no user named 'nobody'" in captured.err
    assert not ApiToken.objects.exists()


def test_a_wrong_token_gets_401(alice):
    ApiToken.issue(alice)
    r = Client(HTTP_AUTHORIZATION="Token not-a-real-key").get("/api/studies")
    assert r.status_code == 401
    # the answer names the key as the problem, not a missing login
    assert "token is unknown, expired or revoked" in r.json()["errors"]["__all__"]


def test_another_authorization_scheme_leaves_the_session_in_charge(client, alice, make_study):
    """A proxy's Basic auth in front of the dashboard is not a wrong API key."""
    make_study()
    client.force_login(alice)
    r = client.get("/api/studies", HTTP_AUTHORIZATION="Basic YWxpY2U6eA==")
    assert r.status_code == 200 and r.json()["total"] == 1


def test_the_token_of_an_inactive_user_gets_401(capsys, alice):
    key = issue_with_cli(capsys, "alice")
    alice.is_active = False
    alice.save()
    assert Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/studies").status_code == 401


def test_using_a_token_records_when_it_was_last_used(api, alice):
    assert ApiToken.objects.get(user=alice).last_used is None
    api.get("/api/studies")
    assert ApiToken.objects.get(user=alice).last_used is not None


def test_a_session_post_of_json_with_the_csrf_token_header_creates_a_study(alice, trainers):
    import json

    from tests.conftest import study_data

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    browser.get("/login/")
    r = browser.post("/api/studies", json.dumps(study_data(name="from the form")), content_type="application/json",
                     HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value)
    assert r.status_code == 201
    assert Study.objects.get().name == "from the form"


def test_a_session_post_of_a_form_without_csrf_token_gets_403_not_500(alice, make_study):
    study = make_study()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    r = browser.post(f"/api/studies/{study.pk}/start", {"anything": "1"})
    assert r.status_code == 403


def test_a_session_post_of_a_multipart_form_gets_a_json_error_not_a_500(alice, make_study):
    study = make_study()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    browser.get("/login/")
    r = browser.post(f"/api/studies/{study.pk}/start", {"anything": "1"},
                     HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value)
    assert r.status_code == 400
    assert "the body must be JSON" in r.json()["errors"]["__all__"]
    assert Study.objects.get(pk=study.pk).state == "draft"


def test_only_the_token_used_records_its_use(alice):
    used, unused = ApiToken.issue(alice), ApiToken.issue(alice)
    Client(HTTP_AUTHORIZATION=f"Token {used}").get("/api/studies")
    assert ApiToken.objects.get(prefix=used[:8]).last_used is not None
    assert ApiToken.objects.get(prefix=unused[:8]).last_used is None
