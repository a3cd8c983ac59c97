"""A paused trial's old attempt returns late (its trainer kept working after
report() said STOP), after the trial was resumed on another worker: the old
attempt changes nothing, and the trial ends as its new attempt ends, with
every score the new attempt reported stored.

Before attempts were fenced, the old attempt's end marked the trial
completed at the iteration the new attempt had reached, and the new
attempt's next report was answered STOP and lost."""
import pytest

from studies.models import Trial
from tests.conftest import wait_for
from tests.system.invariants import check_invariants, logged_reports, start_study, wait_until_finished

pytestmark = pytest.mark.system

ITERATIONS = 60


@pytest.mark.parametrize("scope", ["trial", "study"])
def test_a_late_old_attempt_cannot_end_a_resumed_trial(api, trainers, workers, tmp_path, scope):
    reports = tmp_path / "reports"
    reports.mkdir()
    env = dict(HPOPT_TEST_EPOCH_SECONDS=0.1, HPOPT_TEST_LINGER_SECONDS=4, HPOPT_TEST_REPORT_DIR=reports)
    first, second = workers.start(**env), workers.start(**env)
    study = start_study(api, trainer="lingers", search_alg="bayes_opt", num_trials=1, max_iterations=ITERATIONS,
                        num_full_iterations=ITERATIONS, parallelism=1)
    trial = study.trials.get()
    wait_for(lambda: trial.scores.count() >= 4, 60, message="a few reports")

    target = f"/api/trials/{trial.pk}" if scope == "trial" else f"/api/studies/{study.pk}"
    assert api.post(f"{target}/pause").status_code == 200
    wait_for(lambda: Trial.objects.get(pk=trial.pk).state == "paused", 30, message="the trial to pause")
    paused_at = Trial.objects.get(pk=trial.pk).resume_iteration
    assert api.post(f"{target}/resume").status_code == 200
    # attempt 2 starts on the other worker while attempt 1's trainer still lingers
    wait_for(lambda: Trial.objects.get(pk=trial.pk).attempt == 2 and trial.scores.count() > paused_at + 3, 30,
             message="the second attempt to report")
    horses = first.horse_pids() + second.horse_pids()
    assert len(horses) == 2, "both attempts' processes run at once"

    study = wait_until_finished(api, study, 120)
    trial.refresh_from_db()
    assert (study.state, trial.state, trial.attempt, trial.last_iteration) == ("completed", "completed", 2, ITERATIONS)
    stored = dict(trial.scores.values_list("iteration", "value"))
    assert sorted(stored) == list(range(1, ITERATIONS + 1))
    made = logged_reports(reports)[0]
    second_attempt = {r.iteration: r.value for r in made if r.attempt == 2 and r.status == "RUNNING"}
    assert {i: stored[i] for i in second_attempt} == second_attempt
    assert all(r.status != "RUNNING" for r in made if r.attempt == 1 and r.iteration > paused_at)
    check_invariants(study, reports)
    # the trial's history keeps both runs: the old one ended after the new one took over
    first_run, second_run = trial.attempts.order_by("number")
    assert (first_run.outcome, first_run.reason) == ("replaced", "attempt 2 took the trial over")
    assert second_run.outcome == "completed"
