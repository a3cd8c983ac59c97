"""A dashboard study with ASHA's promotion="pause": trials wait at rungs,
paused, and the study's slots resume the promoted ones (their next attempt
continues after the rung); it completes with every trial finished, and
no epoch trained twice."""
import re

import pytest

import hpopt
from hpopt.fields import RULES
from hpopt.plan import epoch_cost
from studies import control
from studies.models import Study
from tests.conftest import claim, study_data
from tests.trainers import curve

PAUSING = dict(search_alg="asha", promotion="pause", num_trials=6, max_iterations=8, seed=3)


def test_a_pausing_study_runs_to_completion_resuming_promoted_trials(api, trainers, run_burst):
    r = api.post("/api/studies", study_data(name="pausing", start=True, **PAUSING))
    assert r.status_code == 201, r.json()

    run_burst()

    study = Study.objects.get(pk=r.json()["id"])
    assert study.state == "completed"
    trials = list(study.trials.order_by("number"))
    assert {t.state for t in trials} <= {"completed", "stopped"}
    assert any(t.attempt > 1 for t in trials), "a trial resumed after waiting at a rung"
    for t in trials:
        cost = epoch_cost(t.subset_ratio, study.plan["non_pure_train_ratio"])
        assert list(t.scores.order_by("iteration").values_list("iteration", flat=True)) == \
            list(range(1, t.last_iteration + 1))
        # each epoch once: a resumed attempt trained on from its rung
        assert t.spent == pytest.approx(t.last_iteration * cost + t.attempt * study.plan["startup_epochs"])
    assert any(t.state == "completed" and t.iterations == study.plan["max_iterations"] for t in trials)


@pytest.mark.django_db
def test_resuming_a_paused_study_leaves_trials_waiting_at_a_rung_to_their_promotion(make_study):
    study = make_study(start=True, parallelism=1, **PAUSING)
    config = claim(study.trials.get(number=0))
    assert hpopt.report(config, curve(config["params"], 1), iteration=1) == hpopt.Status.STOP   # alone at rung 1
    trial = study.trials.get(number=0)
    assert (trial.state, trial.stop_reason) == ("paused", "waiting at rung 1 to be promoted")

    assert control.pause(study) and control.resume(study)

    trial.refresh_from_db()
    assert trial.state == "paused", "still waiting for its promotion"


@pytest.mark.django_db
def test_the_new_study_form_offers_every_promotion_rule(client, alice):
    client.force_login(alice)
    html = client.get("/studies/new/").content.decode()
    select = re.search(r'<select id="f-promotion" name="promotion">(.*?)</select>', html, re.S).group(1)
    assert re.findall(r'<option value="([^"]+)"', select) == list(RULES["promotion"].choices)
