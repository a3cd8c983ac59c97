"""Fenced attempts on the database: once a trial runs as a later attempt,
the old attempt's reports, end, heartbeats and log change nothing; a
finished trial never changes; a write based on a stale read writes nothing."""
import pytest

import hpopt
from hpopt import engine
from hpopt.errors import FinishedTrialError, StaleWrite
from hpopt.status import Status
from studies import control
from studies.models import Trial
from studies.storage import DbStorage
from tests.conftest import claim, stored_scores

pytestmark = pytest.mark.django_db

ONE_TRIAL = dict(search_alg="bayes_opt", num_trials=1, max_iterations=8, parallelism=1, start=True)


@pytest.fixture
def two_attempts(make_study):
    """Trial 0 paused at its 3rd report by attempt 1, resumed, and taken by attempt 2."""
    trial = make_study(**ONE_TRIAL).trials.get()
    first = claim(trial)
    hpopt.report(first, 0.1)
    hpopt.report(first, 0.2)
    control.pause_trial(trial)
    assert hpopt.report(first, 0.3) is Status.STOP
    control.resume_trial(trial)
    second = claim(trial, owner="another-worker")
    assert (second["attempt"], second["resume_iteration"]) == (2, 3)
    hpopt.report(second, 0.4)
    return trial, first, second


def test_the_old_attempt_is_told_stop_and_stores_nothing(two_attempts):
    trial, first, _ = two_attempts
    assert hpopt.report(first, 0.99, iteration=4) is Status.STOP
    assert hpopt.report(first, 0.99) is Status.STOP
    assert stored_scores(trial) == [(1, 0.1), (2, 0.2), (3, 0.3), (4, 0.4)]


def test_the_old_attempt_cannot_end_the_trial_nor_beat_for_it(two_attempts):
    trial, first, second = two_attempts
    storage = DbStorage(trial.study_id)
    assert engine.finish(storage, trial.number, first["attempt"]).value == "running"
    assert engine.finish(storage, trial.number, first["attempt"], error="late crash").value == "running"
    assert not trial.beat(first["attempt"])
    assert trial.beat(second["attempt"])
    trial.refresh_from_db()
    assert (trial.state, trial.attempt, trial.error, trial.owner) == ("running", 2, "", "another-worker")
    for epoch in range(5, 9):
        status = hpopt.report(second, epoch / 10, iteration=epoch)
    assert status is Status.STOP
    trial.refresh_from_db()
    assert (trial.state, trial.last_iteration) == ("completed", 8)


def test_a_finished_trial_never_changes_on_the_database(make_study):
    trial = make_study(**ONE_TRIAL).trials.get()
    config = claim(trial)
    hpopt.report(config, 0.5, iteration=8)
    storage = DbStorage(trial.study_id)
    with storage.locked():
        done = storage.get_trial(trial.number)
        with pytest.raises(FinishedTrialError):
            storage.update_trial(done, done.replace(best_score=0.9))
    assert control.kill_trial(trial) is False
    assert Trial.objects.get(pk=trial.pk).state == "completed"


def test_a_write_based_on_a_stale_read_writes_nothing_on_the_database(make_study):
    trial = make_study(**ONE_TRIAL).trials.get()
    claim(trial)
    storage = DbStorage(trial.study_id)
    with storage.locked():
        read = storage.get_trial(trial.number)
    control.kill_trial(trial)
    with pytest.raises(StaleWrite), storage.locked():
        storage.update_trial(read, read.replace(last_iteration=5))
    assert Trial.objects.get(pk=trial.pk).state == "killed"
