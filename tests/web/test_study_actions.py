"""POST /api/studies/<id>/start|pause|resume|kill."""
import pytest

from studies import control
from studies.models import Study

pytestmark = pytest.mark.django_db


def url(study, action):
    return f"/api/studies/{study.pk}/{action}"


def test_it_starts_a_draft(api, make_study):
    study = make_study()
    r = api.post(url(study, "start"))
    assert r.status_code == 200
    assert r.json()["state"] == "running"
    assert study.trials.count() == study.parallelism


def test_it_pauses_resumes_and_kills(api, make_study):
    study = make_study(start=True)
    assert api.post(url(study, "pause")).json()["state"] == "paused"
    assert api.post(url(study, "resume")).json()["state"] == "running"
    r = api.post(url(study, "kill"))
    assert r.status_code == 200
    assert r.json()["state"] == "killed"
    assert set(Study.objects.get(pk=study.pk).trials.values_list("state", flat=True)) == {"killed"}


@pytest.mark.parametrize("action, state", [
    ("start", "running"), ("resume", "running"), ("pause", "killed"), ("kill", "killed"), ("start", "killed"),
])
def test_an_action_the_state_does_not_allow_gets_409(api, make_study, action, state):
    study = make_study(start=True)
    if state == "killed":
        control.kill(study)
    r = api.post(url(study, action))
    assert r.status_code == 409
    assert r.json()["errors"]["__all__"] == f"cannot {action} a study that is {state}"
    assert Study.objects.get(pk=study.pk).state == state


def test_pausing_a_draft_gets_409(api, make_study):
    study = make_study()
    r = api.post(url(study, "pause"))
    assert r.status_code == 409
    assert Study.objects.get(pk=study.pk).state == "draft"


def test_an_unknown_action_gets_404(api, make_study):
    study = make_study()
    r = api.post(url(study, "explode"))
    assert r.status_code == 404
    assert "explode" in r.json()["errors"]["__all__"]


def test_actions_need_post(api, make_study):
    study = make_study()
    r = api.get(url(study, "start"))
    assert r.status_code == 405
    assert Study.objects.get(pk=study.pk).state == "draft"
