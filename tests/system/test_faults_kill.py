"""Fault: a worker host vanishes (SIGKILL to the worker and its work horse)
in the middle of a trial. Another worker's sweep notices the silent trial
within HPOPT_HEARTBEAT_TIMEOUT and runs it again; the study can still be
paused and resumed, completes, and keeps every invariant
(tests/system/invariants.py)."""
import pytest

from studies.models import Trial
from tests.conftest import wait_for
from tests.system.invariants import (
    check_invariants,
    dashboard_answers,
    pause_and_resume,
    start_study,
    wait_until_finished,
)

pytestmark = pytest.mark.system

HEARTBEAT_TIMEOUT = 4  # seconds of silence before a running trial counts as lost


def test_a_study_survives_a_worker_killed_in_the_middle_of_a_trial(api, trainers, workers, tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    env = dict(HPOPT_TEST_EPOCH_SECONDS=0.4, HPOPT_HEARTBEAT_TIMEOUT=HEARTBEAT_TIMEOUT, HPOPT_TEST_REPORT_DIR=reports)
    started = [workers.start(**env) for _ in range(3)]
    study = start_study(api)

    def a_trial_in_the_middle():
        """A running trial whose next report cannot end it (not a rung, not its
        last iteration): killed now, it is surely cut off in the middle."""
        for t in study.trials.filter(state="running", last_iteration__gte=1):
            milestones = set(study.plan["brackets"][t.bracket]) | {t.iterations}
            if t.last_iteration + 1 not in milestones:
                return t
        return None

    victim_trial = wait_for(a_trial_in_the_middle, 60, message="a trial in the middle of its epochs")
    victim = next(w for w in started if w.name == victim_trial.owner)
    assert victim.horse_pids(), "the trial runs in a work horse"
    victim.kill_hard()

    def given_out_again():
        dashboard_answers(api, study)
        victim = Trial.objects.get(pk=victim_trial.pk)
        return victim.attempt >= 2 or victim.state != "running"

    wait_for(given_out_again, HEARTBEAT_TIMEOUT + 30, interval=0.25, message="the lost trial to be given out again")
    pause_and_resume(api, study)
    study = wait_until_finished(api, study, 180)
    assert study.state == "completed", study.error

    victim_trial.refresh_from_db()
    assert victim_trial.attempt >= 2
    assert f"attempt 1 lost: worker {victim.name} stopped sending heartbeats" in victim_trial.error
    assert victim_trial.owner != victim.name
    counts = check_invariants(study, reports)
    assert counts["reports"] > 0, counts
