"""Notes (Markdown) on studies and trials, tags on studies, and the studies
list's search over both (POST /api/studies/<id>/notes, POST /api/trials/<id>/notes,
GET /api/studies?q=&tag=)."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from studies.models import Study, Trial
from studies.validation import LIMITS
from tests.conftest import token_client

pytestmark = pytest.mark.django_db


def _notes(api, study, **body):
    return api.post(f"/api/studies/{study.pk}/notes", body)


def test_notes_are_stored_as_markdown_and_answered_as_safe_html(api, make_study):
    study = make_study()
    r = _notes(api, study, notes="**lr 1e-3** wins <script>alert(1)</script>")
    assert r.status_code == 200
    assert r.json()["notes"] == "**lr 1e-3** wins <script>alert(1)</script>"
    assert r.json()["notes_html"] == "<p><strong>lr 1e-3</strong> wins &lt;script&gt;alert(1)&lt;/script&gt;</p>"
    assert r.json()["notes_doc"] == [["p", {}, [["strong", {}, ["lr 1e-3"]], " wins <script>alert(1)</script>"]]]
    body = api.get(f"/api/studies/{study.pk}").json()["study"]
    assert body["notes"].startswith("**lr") and "<script>" not in body["notes_html"]


def test_tags_are_lowercased_deduplicated_and_kept_in_order(api, make_study):
    study = make_study()
    r = _notes(api, study, tags=["ResNet", "gpu:a100", "resnet", "v1.2_final"])
    assert r.status_code == 200 and r.json()["tags"] == ["resnet", "gpu:a100", "v1.2_final"]
    assert _notes(api, study, tags="baseline, cifar10").json()["tags"] == ["baseline", "cifar10"]
    assert Study.objects.get(pk=study.pk).tags == " baseline cifar10 "
    assert _notes(api, study, tags=[]).json()["tags"] == []
    assert api.get(f"/api/studies/{study.pk}").json()["study"]["tags"] == []


@pytest.mark.parametrize("body, field, message", [
    ({"tags": ["a b"]}, "tags", "tag 'a'"),   # (a string is split; a list item with a space is one bad tag)
    ({"tags": ["<b>"]}, "tags", "tag '<b>': a tag starts with a letter or digit"),
    ({"tags": ["-x"]}, "tags", "tag '-x': a tag starts with a letter or digit"),
    ({"tags": ["x" * (LIMITS.tag + 1)]}, "tags", f"a tag is at most {LIMITS.tag} characters"),
    ({"tags": [f"t{i}" for i in range(LIMITS.tags + 1)]}, "tags", f"a study has at most {LIMITS.tags} tags"),
    ({"tags": [1, 2]}, "tags", "tags must be a list of strings"),
    ({"notes": 5}, "notes", "notes must be a string"),
    ({"notes": "x" * (LIMITS.notes + 1)}, "notes", f"notes must be at most {LIMITS.notes} characters"),
    ({"notes": "a\x00b"}, "notes", "notes must not contain NUL characters"),
    ({}, "__all__", "give notes (Markdown text) and/or tags"),
])
def test_bad_notes_or_tags_are_a_400_naming_the_field_and_save_nothing(api, make_study, body, field, message):
    study = make_study()
    _notes(api, study, notes="kept", tags=["kept"])
    r = _notes(api, study, **body, **({"notes": "changed"} if field == "tags" else {}))
    assert r.status_code == 400
    if field == "tags" and body["tags"] == ["a b"]:
        assert r.json()["errors"]["tags"].startswith("tag 'a b'")
    else:
        assert r.json()["errors"][field].startswith(message), r.json()
    study.refresh_from_db()
    assert (study.notes, study.tags) == ("kept", " kept ")


def test_trial_notes(api, make_study, bob):
    study = make_study(start=True)
    trial = study.trials.get(number=0)
    r = api.post(f"/api/trials/{trial.pk}/notes", {"notes": "diverged at *epoch 3*"})
    assert r.status_code == 200 and r.json()["notes_html"] == "<p>diverged at <em>epoch 3</em></p>"
    detail = api.get(f"/api/trials/{trial.pk}").json()
    assert detail["notes"] == "diverged at *epoch 3*" and detail["notes_html"].startswith("<p>")
    assert api.post(f"/api/trials/{trial.pk}/notes", {"notes": ["x"]}).status_code == 400
    assert token_client(bob).post(f"/api/trials/{trial.pk}/notes", {"notes": "mine"}).status_code == 404
    assert Trial.objects.get(pk=trial.pk).notes == "diverged at *epoch 3*"


def test_the_list_searches_tags_and_notes(api, make_study):
    a, b, c = make_study(name="alpha"), make_study(name="beta"), make_study(name="gamma")
    _notes(api, a, tags=["resnet", "gpu"])
    _notes(api, b, tags=["resnet50"], notes="tried **cosine** schedule")
    names = lambda **q: sorted(s["name"] for s in api.get("/api/studies", **q).json()["studies"])  # noqa: E731
    assert names(tag="resnet") == ["alpha"]                 # a tag exactly
    assert names(tag="RESNET") == ["alpha"]
    assert names(q="resnet") == ["alpha", "beta"]           # a part of a tag
    assert names(q="cosine") == ["beta"]                    # the notes
    assert names(q="gamm") == ["gamma"]
    row = api.get("/api/studies", tag="gpu").json()["studies"][0]
    assert row["tags"] == ["resnet", "gpu"] and row["archived"] is False
    assert c.pk


@pytest.mark.parametrize("params, field", [({"tag": "a b"}, "tag"), ({"tag": "x" * 41}, "tag"),
                                           ({"archived": "yes"}, "archived"),
                                           # a NUL made PostgreSQL raise (a 500)
                                           ({"q": "resnet\x00"}, "q")])
def test_a_bad_tag_or_archived_filter_is_a_400(api, params, field):
    r = api.get("/api/studies", **params)
    assert r.status_code == 400 and field in r.json()["errors"]


def _queries(fetch) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = fetch()
    assert response.status_code == 200
    return len(captured)


def test_searching_tags_notes_and_the_archive_keeps_the_list_at_the_same_queries(api, client, alice, make_study):
    client.force_login(alice)
    searches = [{}, {"q": "resnet"}, {"tag": "resnet"}, {"archived": "1"}, {"archived": "all", "tag": "resnet"}]

    def counts():
        return ([_queries(lambda q=q: api.get("/api/studies", **q)) for q in searches]
                + [_queries(lambda q=q: client.get("/", q)) for q in searches])

    for i in range(3):
        study = make_study(name=f"s{i}", start=True)
        _notes(api, study, tags=["resnet"], notes="resnet notes")
    Study.objects.filter(pk=study.pk).update(archived=True)
    few = counts()
    for i in range(3, 30):
        study = make_study(name=f"s{i}", start=True)
        _notes(api, study, tags=["resnet"], notes="resnet notes")
        if i % 3 == 0:
            Study.objects.filter(pk=study.pk).update(archived=True)
    assert counts() == few
    # a search costs what the plain list costs: it only narrows the same queries
    assert set(few[:len(searches)]) == {few[0]} and set(few[len(searches):]) == {few[len(searches)]}


def test_the_list_page_shows_tags_and_an_archived_chip(client, alice, api, make_study):
    client.force_login(alice)
    kept, shelved = make_study(name="kept"), make_study(name="shelved")
    _notes(api, kept, tags=["resnet"])
    api.post(f"/api/studies/{shelved.pk}/archive")
    html = client.get("/").content.decode()
    assert 'href="?tag=resnet"' in html and "shelved" not in html and "Archived" in html
    assert "shelved" in client.get("/", {"archived": "1"}).content.decode()


def test_the_trial_table_searches_trial_notes(api, make_study):
    study = make_study(start=True)
    trial = study.trials.get(number=1)
    api.post(f"/api/trials/{trial.pk}/notes", {"notes": "loss spiked: bad shard"})
    found = api.get(f"/api/studies/{study.pk}/trials", q="bad shard").json()["trials"]
    assert [t["number"] for t in found] == [1]
