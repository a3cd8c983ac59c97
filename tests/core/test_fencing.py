"""Fenced attempts: a train config carries the attempt it was handed out as,
and once the trial runs as a later attempt (paused and resumed, or given up
as lost and run again), the old attempt's reports, out-of-memory reports and
end change nothing and answer STOP, while the current attempt goes on."""
import pytest
from conftest import create, stored

import hpopt
from hpopt import controls, engine
from hpopt.status import Status, TrialState

ITERATIONS = 20


def value(attempt: int, epoch: int) -> float:
    return attempt + epoch / 100


@pytest.fixture
def two_attempts(save_path):
    """Trial 0 paused at iteration 5 by its first attempt and resumed: the
    same loop object hands it out again as attempt 2, which reports 6 to 10."""
    hpo = create(save_path, search_alg="bayes_opt", num_trials=1, max_iterations=ITERATIONS)
    first = hpo.get_next_sample()
    for epoch in range(1, 5):
        assert hpopt.report(first, value(1, epoch)) is Status.RUNNING
    assert controls.pause(hpo.storage, 0)
    assert hpopt.report(first, value(1, 5)) is Status.STOP            # it pauses here
    assert controls.resume(hpo.storage, 0)
    second = hpo.get_next_sample()                                     # ends nothing: attempt 1 is not current
    assert (second["trial_id"], second["attempt"], second["resume_iteration"]) == (0, 2, 5)
    for epoch in range(6, 11):
        assert hpopt.report(second, value(2, epoch)) is Status.RUNNING
    return hpo, first, second


def test_a_late_report_of_the_old_attempt_stores_nothing_and_is_told_stop(two_attempts, save_path):
    hpo, first, _ = two_attempts
    assert hpopt.report(first, 0.0, iteration=6) is Status.STOP      # e.g. a final evaluation
    assert hpopt.report(first, 0.0) is Status.STOP
    _, scores = stored(save_path)
    assert scores[0][5:] == [(e, value(2, e)) for e in range(6, 11)]


def test_the_old_attempt_ending_leaves_the_trial_running_as_the_new_one(two_attempts):
    hpo, first, second = two_attempts
    assert engine.finish(hpo.storage, 0, first["attempt"]) is TrialState.RUNNING
    assert engine.finish(hpo.storage, 0, first["attempt"], error="it crashed late") is TrialState.RUNNING
    assert hpopt.reportOOM(first) is Status.STOP
    with hpo.storage.locked():
        trial = hpo.storage.get_trial(0)
    assert (trial.state, trial.attempt, trial.last_iteration, trial.error, trial.oom_count) == \
        (TrialState.RUNNING, 2, 10, "", 0)


def test_the_new_attempt_completes_with_every_score_it_reported(two_attempts, save_path):
    hpo, first, second = two_attempts
    engine.finish(hpo.storage, 0, first["attempt"])
    for epoch in range(11, ITERATIONS + 1):
        status = hpopt.report(second, value(2, epoch))
    assert status is Status.STOP
    assert hpo.get_next_sample() is None
    trials, scores = stored(save_path)
    assert (trials[0].state, trials[0].last_iteration) == (TrialState.COMPLETED, ITERATIONS)
    assert scores[0] == [(e, value(1 if e <= 5 else 2, e)) for e in range(1, ITERATIONS + 1)]
    assert hpo.get_best_config() == trials[0].params


def test_a_lost_attempt_is_fenced_off_like_a_paused_one(save_path):
    hpo = create(save_path, search_alg="bayes_opt", num_trials=1, max_iterations=ITERATIONS)
    first = hpo.get_next_sample()
    hpopt.report(first, 0.3)
    assert controls.expire(hpo.storage, 0, first["attempt"], max_attempts=3, why="its worker vanished") \
        is TrialState.QUEUED
    assert controls.expire(hpo.storage, 0, first["attempt"], max_attempts=3, why="again") is None
    again = engine.next_sample(hpo.storage, "another host")
    assert again["attempt"] == 2
    assert hpopt.report(first, 0.9) is Status.STOP
    assert hpopt.report(again, 0.4) is Status.RUNNING
    _, scores = stored(save_path)
    assert scores[0] == [(1, 0.4)]
