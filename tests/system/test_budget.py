"""A short real study on real workers keeps to its budget, and what the
study page shows (GET /api/studies/<id>, which the page renders) is what the
database holds: the compute spent, the budget, the trial counts, the epochs
trained and the time model measured from the trials' reports."""
import pytest
from django.db.models import Sum

from studies.models import Study
from tests.conftest import study_data, wait_for

pytestmark = pytest.mark.system


@pytest.mark.parametrize("alg", ["asha", "bayes_opt"])
def test_a_real_study_spends_no_more_than_its_budget_and_the_page_agrees(api, trainers, workers, alg):
    for _ in range(2):
        workers.start(HPOPT_TEST_EPOCH_SECONDS=0.05)
    r = api.post("/api/studies", study_data(name=f"budget {alg}", trainer="slow", search_alg=alg, parallelism=2,
                                            expected_time_ratio=3, seconds_per_epoch=0.05, num_init_trial=3,
                                            start=True))
    assert r.status_code == 201, r.json()
    study = Study.objects.get(pk=r.json()["id"])
    wait_for(lambda: Study.objects.get(pk=study.pk).state != "running", 180, message="the study to finish")
    study.refresh_from_db()
    assert study.state == "completed", study.error

    answer = api.get(f"/api/studies/{study.pk}").json()
    page = answer["study"]
    trials = study.trials.all()
    spent = trials.aggregate(s=Sum("spent"))["s"]
    budget = page["budget"]
    assert budget["hard"] and budget["spent"] == pytest.approx(spent)
    assert spent <= budget["total"] * (1 + 1e-9), budget
    assert budget["total"] == pytest.approx(study.meta().plan.budget_compute)
    assert page["progress"] == 1.0 and page["eta_seconds"] is None
    assert page["counts"] == {s: trials.filter(state=s).count() for s in set(trials.values_list("state", flat=True))}
    assert page["epochs_trained"] == trials.aggregate(s=Sum("last_iteration"))["s"]
    model = page["time_model"]
    assert model["source"] == "measured" and model["trials"] >= 1
    assert model["epochs"] == trials.aggregate(s=Sum("epoch_count"))["s"]
    # every trial's compute and why it stopped, as stored
    assert {t["number"]: (t["spent"], t["stop_reason"]) for t in answer["trials"]} == {
        t.number: (t.spent, t.stop_reason) for t in trials}
    assert all(t.stop_reason for t in trials if t.state == "stopped"), "a stopped trial says why"
    best = study.best_trial()
    assert page["best"]["trial"] == best.number
