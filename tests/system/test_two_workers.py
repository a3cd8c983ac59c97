"""Two worker processes race on one ASHA study (the issue's "two worker
processes against PostgreSQL and Redis on one study": the suite runs once on
SQLite and once with DATABASE_URL on PostgreSQL, and the workers use the same
database as the test).

Afterwards every trial ran exactly once, numbers are 0..n-1, no score was
lost or doubled, and replaying each rung in the order trials reached it gives
exactly the promotions the workers made: no rung let more trials continue
than its quota allowed at the time, and the study kept to its budget."""
import pytest

from studies.models import Study
from tests.conftest import study_data, wait_for
from tests.system.invariants import check_asha_quotas, check_budget

pytestmark = pytest.mark.system


def test_two_workers_run_one_asha_study_consistently(api, trainers, workers):
    workers.start()
    workers.start()
    r = api.post("/api/studies", study_data(name="race", search_alg="asha", parallelism=4, num_brackets=2,
                                            expected_time_ratio=3, start=True))
    assert r.status_code == 201, r.json()
    study = Study.objects.get(pk=r.json()["id"])
    wait_for(lambda: Study.objects.get(pk=study.pk).state not in ("running",), 120,
             message="the study to finish")
    study.refresh_from_db()
    assert study.state == "completed", study.error

    trials = list(study.trials.order_by("number"))
    # the budget decides how many trials run; ASHA's backfill trials are shorter
    assert [t.number for t in trials] == list(range(len(trials)))
    assert all(t.iterations <= study.plan["max_iterations"] for t in trials)
    assert {t.owner for t in trials} == {w.name for w in workers.started}, "both workers took trials"
    for t in trials:
        assert t.state in ("completed", "stopped"), (t.number, t.state, t.error)
        assert t.attempt == 1, f"trial {t.number} ran {t.attempt} times"
        iterations = list(t.scores.order_by("iteration").values_list("iteration", flat=True))
        assert iterations == list(range(1, t.last_iteration + 1)), f"trial {t.number} lost or doubled a score"
        if t.state == "completed":
            assert t.last_iteration == t.iterations
    check_asha_quotas(study, trials)
    check_budget(study)


def test_a_worker_joining_late_shares_the_work(api, trainers, workers):
    workers.start()
    r = api.post("/api/studies", study_data(name="late", search_alg="bayes_opt", num_trials=12,
                                            num_init_trial=12, parallelism=2, start=True))
    study = Study.objects.get(pk=r.json()["id"])
    wait_for(lambda: study.trials.exclude(state="queued").exists(), 60, message="the first trial to start")
    workers.start()
    wait_for(lambda: Study.objects.get(pk=study.pk).state != "running", 120, message="the study to finish")
    assert Study.objects.get(pk=study.pk).state == "completed"
    assert study.trials.count() == 12
    assert set(study.trials.values_list("state", flat=True)) == {"completed"}
    assert set(study.trials.values_list("attempt", flat=True)) == {1}
