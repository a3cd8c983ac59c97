"""A study created and started through the API runs to completion on a
worker; its scores, best config and trials.csv are there to download."""
import csv
import io
import json

import pytest

from studies.models import Score, Study
from tests.conftest import study_data

ALGORITHMS = {
    "asha": dict(search_alg="asha", num_brackets=2),
    "bayes_opt": dict(search_alg="bayes_opt", num_trials=8, num_init_trial=3),
}


@pytest.fixture(params=sorted(ALGORITHMS))
def finished_study(request, api, trainers, run_burst) -> Study:
    body = study_data(name=f"{request.param} run", start=True, seed=7, **ALGORITHMS[request.param])
    r = api.post("/api/studies", body)
    assert r.status_code == 201, r.json()
    assert r.json()["state"] == "running"
    run_burst()
    return Study.objects.get(pk=r.json()["id"])


def test_it_runs_to_completion(finished_study):
    assert finished_study.state == "completed"
    assert finished_study.finished is not None
    trials = list(finished_study.trials.all())
    plan = finished_study.plan
    # ASHA backfills free slots with shorter trials past num_trials while the last ones run
    assert [t.number for t in trials] == list(range(len(trials)))
    assert all(t.iterations == plan["max_iterations"] for t in trials[: plan["num_trials"]])
    if plan["search_alg"] == "bayes_opt":
        assert len(trials) == plan["num_trials"]
    assert all(t.iterations < plan["max_iterations"] for t in trials[plan["num_trials"]:])
    assert {t.state for t in trials} <= {"completed", "stopped"}
    assert all(t.attempt == 1 for t in trials)


def test_every_reported_score_is_stored(finished_study):
    for trial in finished_study.trials.all():
        iterations = list(trial.scores.order_by("iteration").values_list("iteration", flat=True))
        assert iterations == list(range(1, trial.last_iteration + 1))
    assert Score.objects.filter(study=finished_study).count() == sum(
        finished_study.trials.values_list("last_iteration", flat=True)
    )


def test_the_study_endpoint_shows_the_finished_study(api, finished_study):
    body = api.get(f"/api/studies/{finished_study.pk}").json()
    assert body["study"]["state"] == "completed"
    assert body["study"]["progress"] == 1.0
    assert body["study"]["eta_seconds"] is None
    assert len(body["trials"]) == finished_study.trials.count()
    assert len(body["scores"]) == Score.objects.filter(study=finished_study).count()


def test_the_best_config_downloads_with_params_score_trial_and_study_settings(api, finished_study):
    r = api.get(f"/api/studies/{finished_study.pk}/best-config")
    assert r.status_code == 200
    assert r["Content-Disposition"] == f'attachment; filename="study-{finished_study.pk}-best-config.json"'
    data = json.loads(r.content)
    best = max(finished_study.trials.all(), key=lambda t: (t.best_score, -t.number))
    assert (data["trial"], data["score"], data["params"]) == (best.number, best.best_score, best.params)
    assert data["study"]["settings"] == finished_study.settings
    assert data["study"]["trainer"] == "quick"
    assert data["study"]["mode"] == "max"
    assert data["score"] == max(Score.objects.filter(study=finished_study).values_list("value", flat=True))


def test_trials_csv_has_one_row_per_trial_with_a_column_per_parameter(api, finished_study):
    r = api.get(f"/api/studies/{finished_study.pk}/trials.csv")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    trials = list(finished_study.trials.order_by("number"))
    assert len(rows) == len(trials)
    for row, trial in zip(rows, trials):
        assert int(row["trial"]) == trial.number
        assert float(row["x"]) == trial.params["x"]
        assert int(row["bs"]) == trial.params["bs"]
        assert row["opt"] == trial.params["opt"]
        assert float(row["best_score"]) == trial.best_score
        assert row["state"] == trial.state
