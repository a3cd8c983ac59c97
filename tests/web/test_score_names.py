"""The two scores under honest names everywhere the API and the downloads
give them: ``final_score`` (the latest report, which ranks the best config:
hpopt.best) and ``best_epoch_score`` (the best any epoch reported, the older
``best_score``, kept). The CSV also gains the final score and the times."""
import csv
import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from studies.models import Study
from tests.trial_rows import add_trial

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(make_study):
    s = make_study(search_alg="bayes_opt", num_trials=3, max_iterations=3)
    Study.objects.filter(pk=s.pk).update(state="running", started=timezone.now() - timedelta(hours=1))
    s.refresh_from_db()
    # a lucky second epoch (0.9), trained on to 0.7: ranked by 0.7
    add_trial(s, 0, {"x": 1}, [0.5, 0.9, 0.7], finished=s.started + timedelta(seconds=90))
    add_trial(s, 1, {"x": 2}, [0.6, 0.65, 0.68], finished=s.started + timedelta(seconds=120))
    add_trial(s, 2, {"x": 3}, [0.1], state="running")
    return s


def test_the_study_and_its_trials_name_both_scores(api, study):
    body = api.get(f"/api/studies/{study.pk}").json()
    best = body["study"]["best"]
    assert (best["trial"], best["final_score"], best["best_epoch_score"]) == (0, 0.7, 0.9)
    assert (best["score"], best["best_score"]) == (0.7, 0.9), "the older names keep their meaning"
    zero = next(t for t in body["trials"] if t["number"] == 0)
    assert (zero["final_score"], zero["best_epoch_score"], zero["best_score"]) == (0.7, 0.9, 0.9)
    table = api.get(f"/api/studies/{study.pk}/trials", sort="-final_score").json()["trials"]
    assert [t["number"] for t in table] == [0, 1, 2]
    assert api.get(f"/api/trials/{zero['id']}").json()["final_score"] == 0.7


def test_the_study_list_names_both_scores_of_the_best_trial(api, study):
    row = next(s for s in api.get("/api/studies").json()["studies"] if s["id"] == study.pk)
    assert row["best"] == {"trial": 0, "score": 0.7, "final_score": 0.7, "best_score": 0.9, "best_epoch_score": 0.9}


def test_the_best_config_download_names_both_scores(api, study):
    data = json.loads(api.get(f"/api/studies/{study.pk}/best-config").content)
    assert (data["trial"], data["final_score"], data["best_epoch_score"]) == (0, 0.7, 0.9)
    assert (data["score"], data["best_score"]) == (0.7, 0.9)


def test_the_csv_has_final_score_and_time_columns_after_the_old_ones(api, study):
    text = api.get(f"/api/studies/{study.pk}/trials.csv").content.decode()
    header = text.splitlines()[0].split(",")
    assert header == ["trial", "x", "bs", "opt", "best_score", "iterations", "state", "bracket", "host", "gpu",
                      "error", "final_score", "started", "finished", "duration_seconds", "hand_picked",
                      "best_epoch_score"]
    rows = list(csv.DictReader(io.StringIO(text)))
    assert (rows[0]["final_score"], rows[0]["best_epoch_score"], rows[0]["best_score"]) == ("0.7", "0.9", "0.9")
    assert (rows[1]["final_score"], rows[1]["best_epoch_score"]) == ("0.68", "0.68")
    assert rows[0]["started"].startswith(str(study.trials.get(number=0).started.date()))
    # finished 90 s after the study started, the trial itself started a minute before now
    t0 = study.trials.get(number=0)
    assert float(rows[0]["duration_seconds"]) == pytest.approx((t0.finished - t0.started).total_seconds(), abs=0.01)
    running = rows[2]
    assert running["finished"] == "" and float(running["duration_seconds"]) >= 59
