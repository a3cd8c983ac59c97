"""API tokens, owned by their user: listed, created with a name and an
expiry, and revoked, on the API tokens page, through the API and with
``hpopt-web token``; an expired or revoked key is refused (401); nobody lists
or revokes another user's keys."""
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from hpopt_web.cli import main as cli
from studies.models import ApiToken
from studies.models.token import new_key
from tests.conftest import ApiClient

pytestmark = pytest.mark.django_db


def with_key(key) -> ApiClient:
    return ApiClient(Client(HTTP_AUTHORIZATION=f"Token {key}"))


def test_the_api_lists_creates_and_revokes_the_users_own_tokens(api, alice, bob):
    ApiToken.issue(bob, "bob's")
    r = api.post("/api/tokens", {"name": "nightly CI", "expires_days": 30})
    assert r.status_code == 201, r.json()
    key, token = r.json()["key"], r.json()["token"]
    assert token["name"] == "nightly CI" and key.startswith(token["prefix"])
    assert timedelta(days=29, hours=23) < timezone.datetime.fromisoformat(token["expires"]) - timezone.now() \
        <= timedelta(days=30)
    listed = api.get("/api/tokens").json()["tokens"]
    assert {t["name"] for t in listed} == {"nightly CI", ""}        # alice's two keys (the test's own too)
    assert with_key(key).get("/api/studies").status_code == 200

    assert api.post(f"/api/tokens/{token['id']}/revoke").status_code == 200
    assert with_key(key).get("/api/studies").status_code == 401
    bobs = ApiToken.objects.get(user=bob)
    assert api.post(f"/api/tokens/{bobs.pk}/revoke").status_code == 404   # not hers: not found
    assert ApiToken.objects.filter(pk=bobs.pk).exists()


@pytest.mark.parametrize("days", [0, -1, 3651, "7.5", "a week", True, [7]])
def test_an_expiry_out_of_range_is_refused_naming_the_field(api, days):
    r = api.post("/api/tokens", {"name": "x", "expires_days": days})
    assert r.status_code == 400
    assert r.json()["errors"]["expires_days"].startswith("expires_days: a whole number of days from 1 to 3650")
    assert ApiToken.objects.filter(name="x").count() == 0


def test_an_expired_key_is_refused(alice):
    key = ApiToken.issue(alice, "short", timedelta(days=1))
    assert with_key(key).get("/api/studies").status_code == 200
    ApiToken.objects.filter(name="short").update(expires=timezone.now() - timedelta(seconds=1))
    assert with_key(key).get("/api/studies").status_code == 401


def test_the_page_creates_shows_the_key_once_and_revokes(client, alice):
    client.force_login(alice)
    r = client.post("/tokens/", {"action": "create", "name": "laptop", "expires_days": "7"})
    assert r.status_code == 200
    token = ApiToken.objects.get(user=alice, name="laptop")
    page = r.content.decode()
    key = page.split('<pre class="key"><code>')[1].split("</code>")[0]
    assert key.startswith(token.prefix) and with_key(key).get("/api/studies").status_code == 200
    assert key not in client.get("/tokens/").content.decode()          # shown once
    assert client.post("/tokens/", {"action": "create", "expires_days": "0"}).status_code == 400
    client.post("/tokens/", {"action": "revoke", "id": str(token.pk)})
    assert not ApiToken.objects.filter(pk=token.pk).exists()


def test_the_cli_creates_lists_and_revokes(alice, capsys):
    assert cli(["token", "alice", "--name", "ci", "--expires-days", "90"]) == 0
    key = capsys.readouterr().out.strip()
    assert ApiToken.user_for(key) == alice
    assert cli(["token", "alice", "--list"]) == 0
    listed = capsys.readouterr().out
    assert key[:8] in listed and " ci " in listed and "expires 20" in listed
    assert cli(["token", "alice", "--revoke", key[:8]]) == 0
    assert ApiToken.user_for(key) is None
    assert cli(["token", "alice", "--expires-days", "0"]) == 2
    assert "expires_days: a whole number" in capsys.readouterr().err


def test_no_key_starts_with_a_dash_so_its_prefix_never_reads_as_an_option():
    # one in 64 URL-safe keys began with "-": `token alice --revoke -kDfpmH-` then
    # failed in argparse ("expected one argument"; CI on e6ef38c)
    assert not any(new_key().startswith("-") for _ in range(5000))
