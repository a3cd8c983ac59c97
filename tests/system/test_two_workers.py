"""Two worker processes race on one ASHA study (the issue's "two worker
processes against PostgreSQL and Redis on one study": the suite runs once on
SQLite and once with DATABASE_URL on PostgreSQL, and the workers use the same
database as the test).

Afterwards every trial ran exactly once, numbers are 0..n-1, no score was
lost or doubled, and replaying each rung in the order trials reached it gives
exactly the promotions the workers made: no rung let more trials continue
than its quota allowed at the time."""
import pytest

from hpopt.algorithms.asha import continues
from studies.models import Score, Study
from tests.conftest import study_data, wait_for
from tests.system.invariants import stopped_as_backfill

pytestmark = pytest.mark.system


def rung_arrivals(study, bracket: int, milestone: int):
    """[(trial, score at the rung)] in the order the trials reached the rung:
    reports are decided one at a time under the study's lock, so the ids of
    the scores stored at the milestone give that order."""
    key = str(milestone)
    trials = [t for t in study.trials.filter(bracket=bracket) if key in t.rungs]
    order = dict(Score.objects.filter(trial__in=trials, iteration=milestone).values_list("trial_id", "id"))
    return [(t, t.rungs[key]) for t in sorted(trials, key=lambda t: order[t.pk])]


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
    # ASHA's backfill may add shorter trials past num_trials while the last ones run
    assert [t.number for t in trials] == list(range(len(trials))) and len(trials) >= study.plan["num_trials"]
    assert all(t.iterations < study.plan["max_iterations"] for t in trials[study.plan["num_trials"]:])
    assert {t.owner for t in trials} == {w.name for w in workers.started}, "both workers took trials"
    for t in trials:
        assert t.state in ("completed", "stopped"), (t.number, t.state, t.error)
        assert t.attempt == 1, f"trial {t.number} ran {t.attempt} times"
        iterations = list(t.scores.order_by("iteration").values_list("iteration", flat=True))
        assert iterations == list(range(1, t.last_iteration + 1)), f"trial {t.number} lost or doubled a score"
        if t.state == "completed":
            assert t.last_iteration == t.iterations

    eta = study.plan["reduction_factor"]
    for bracket, milestones in enumerate(study.plan["brackets"]):
        for milestone in milestones:
            recorded = []
            for trial, score in rung_arrivals(study, bracket, milestone):
                allowed = continues(score, recorded, eta)
                went_on = trial.last_iteration > milestone
                if not went_on and stopped_as_backfill(study, trials, trial):
                    allowed = False   # the plan had ended: backfill trials stop at their next report
                assert went_on == allowed, (
                    f"bracket {bracket} rung {milestone}: trial {trial.number} "
                    f"{'continued' if went_on else 'stopped'} but the rung's quota said otherwise")
                recorded.append(score)


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
