"""Heartbeats: a running trial whose worker stopped sending them is queued
again (its slot reused) while attempts remain, and marked lost after
HPOPT_MAX_ATTEMPTS; queued trials whose job vanished from Redis get a new one."""
from datetime import timedelta

import pytest
from django.utils import timezone

import hpopt
from runner.sweeper import reconcile_jobs
from studies.models import Study, Trial
from studies.sweeps import sweep_lost
from tests.conftest import claim, stored_scores
from tests.trainers import curve

TIMEOUT = 2
STEADY = dict(search_alg="bayes_opt", num_trials=2, max_iterations=8, parallelism=1, start=True)


@pytest.fixture(autouse=True)
def short_timeout(settings):
    settings.HPOPT_HEARTBEAT_TIMEOUT = TIMEOUT
    settings.HPOPT_MAX_ATTEMPTS = 2


def later(seconds=TIMEOUT + 1):
    """A sweep's clock this far ahead: the trial's last heartbeat is older than the timeout."""
    return timezone.now() + timedelta(seconds=seconds)


def test_a_trial_with_a_fresh_heartbeat_is_left_alone(make_study, transactional_db):
    trial = make_study(**STEADY).trials.get(number=0)
    config = claim(trial)
    hpopt.report(config, 0.5)
    assert sweep_lost() == 0
    assert Trial.objects.get(pk=trial.pk).state == "running"


def test_a_silent_trial_is_queued_again_and_runs_to_completion(make_study, run_burst):
    study = make_study(**STEADY)
    trial = study.trials.get(number=0)
    config = claim(trial, owner="gpu-host-7:0:123")
    for i in (1, 2, 3):
        hpopt.report(config, curve(config["params"], i), iteration=i)
    # the worker vanished here

    assert sweep_lost(now=later()) == 1
    trial.refresh_from_db()
    assert trial.state == "queued"
    assert trial.job_id, "the lost trial's slot is given back to it"
    assert "attempt 1 lost: worker gpu-host-7:0:123 stopped sending heartbeats" in trial.error
    assert study.trials.count() == 1, "no new trial took the slot while this one waits"

    run_burst()
    trial.refresh_from_db()
    assert (trial.state, trial.attempt) == ("completed", 2)
    assert [i for i, _ in stored_scores(trial)] == list(range(1, 9))
    assert Study.objects.get(pk=study.pk).state == "completed"


def test_a_trial_is_lost_after_its_last_attempt_and_its_slot_is_reused(make_study, transactional_db):
    study = make_study(**STEADY)
    trial = study.trials.get(number=0)
    for attempt in (1, 2):
        config = claim(trial)
        assert config["attempt"] == attempt
        hpopt.report(config, 0.5)
        assert sweep_lost(now=later()) == 1
        trial.refresh_from_db()
    assert trial.state == "lost"
    assert trial.finished is not None
    assert "no attempts left" in trial.error
    nxt = study.trials.get(number=1)
    assert nxt.state == "queued" and nxt.job_id


def test_a_sweep_does_not_touch_a_trial_that_reported_in_time(make_study, transactional_db):
    trial = make_study(**STEADY).trials.get(number=0)
    config = claim(trial)
    Trial.objects.filter(pk=trial.pk).update(heartbeat=timezone.now() - timedelta(seconds=TIMEOUT + 5))
    hpopt.report(config, 0.5)  # a report is a heartbeat
    assert sweep_lost() == 0
    assert Trial.objects.get(pk=trial.pk).state == "running"


def test_queued_trials_whose_jobs_vanished_from_redis_get_new_jobs(make_study, run_burst, redis_conn):
    study = make_study(**{**STEADY, "parallelism": 2})
    old_jobs = set(study.trials.values_list("job_id", flat=True))
    redis_conn.flushdb()  # Redis restarted without its data

    assert reconcile_jobs() == 2
    new_jobs = set(study.trials.filter(number__in=[0, 1]).values_list("job_id", flat=True))
    assert "" not in new_jobs and not new_jobs & old_jobs
    run_burst()
    study.refresh_from_db()
    assert study.state == "completed"
    assert set(study.trials.values_list("state", flat=True)) == {"completed"}


def test_two_sweepers_at_once_give_a_lost_trial_one_new_attempt(make_study, transactional_db):
    """Several sweepers may run (one per host): each change is conditional on
    the trial's state and attempt, so a lost attempt is given up once."""
    import threading

    from django.db import connections

    trial = make_study(**STEADY).trials.get(number=0)
    hpopt.report(claim(trial), 0.5)
    barrier, counts, errors = threading.Barrier(2), [], []

    def sweep():
        try:
            barrier.wait()
            counts.append(sweep_lost(now=later()))
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert sorted(counts) == [0, 1]
    trial.refresh_from_db()
    assert (trial.state, trial.attempt) == ("queued", 1)
    assert trial.error.startswith("attempt 1 lost")


def test_a_sweeper_round_is_skipped_while_another_holds_the_lock(redis_conn):
    from runner import sweeper

    assert sweeper._my_turn("host-a:1") is True
    assert sweeper._my_turn("host-b:2") is False, "one sweeper per round"
    redis_conn.delete(sweeper.LOCK_KEY)
    assert sweeper._my_turn("host-b:2") is True
