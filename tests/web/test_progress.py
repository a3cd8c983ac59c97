"""Progress and ETA of a running study (studies.progress.summary)."""
import time

import pytest

import hpopt
from studies.progress import summary
from tests.conftest import claim

pytestmark = pytest.mark.django_db


def per_epoch(study, s) -> float:
    """Seconds of one epoch of the study's trials in its time model."""
    return s["time_model"]["seconds_per_epoch"] * study.meta().plan.epoch_cost()


def test_the_eta_is_never_shorter_than_the_longest_running_trial(make_study):
    # many slots, one running trial with 8 epochs to go: dividing the study's
    # remaining epochs by 64 slots would promise far less than that trial needs
    study = make_study(search_alg="bayes_opt", num_trials=2, max_iterations=8, parallelism=64,
                       seconds_per_epoch=1.0, start=True)
    config = claim(study.trials.get(number=0))
    hpopt.report(config, 0.5)
    s = summary(study)
    assert s["eta_seconds"] >= 7 * per_epoch(study, s)


def test_progress_stays_below_one_while_work_is_committed(make_study):
    study = make_study(search_alg="asha", num_trials=4, max_iterations=8, parallelism=4, start=True)
    configs = [claim(t) for t in study.trials.order_by("number")]
    for config in configs[:3]:
        hpopt.report(config, 0.9, iteration=8)  # three trials complete at once
    s = summary(study)
    assert s["epochs_trained"] >= 24
    assert s["budget"]["remaining"] > 0, "trial 3 is still running towards its next decision"
    assert 0 < s["progress"] < 1
    assert s["eta_seconds"] > 0


def test_certain_epochs_stop_at_the_next_rung_below_the_trials_end():
    from hpopt.algorithms.asha import certain_epochs

    assert certain_epochs(0, 8, [1, 2, 4]) == 1
    assert certain_epochs(4, 8, [1, 2, 4]) == 4
    # a backfill trial of 3 epochs has no rung at 4: it is certain to reach its end
    assert certain_epochs(2, 3, [1, 2, 4]) == 1
    assert certain_epochs(0, 1, [1, 2, 4]) == 1


def test_asha_backfills_free_slots_and_the_best_trial_is_a_full_training(make_study):
    # 4 slots, 2 planned trials: the other slots get backfill trials as long
    # as the planned ones are certain to train (1 epoch to their first rung)
    study = make_study(search_alg="asha", num_trials=2, max_iterations=8, parallelism=4, start=True)
    trials = list(study.trials.order_by("number"))
    assert [(t.number, t.iterations) for t in trials] == [(0, 8), (1, 8), (2, 1), (3, 1)]

    extra = claim(trials[2])
    assert hpopt.report(extra, 0.99) == hpopt.Status.STOP   # its only epoch: completed
    assert study.best_trial().number == 2, "the only completed trial so far"
    planned = claim(trials[0])
    for epoch in range(1, 9):
        hpopt.report(planned, 0.5, iteration=epoch)
    study.refresh_from_db()
    assert study.best_trial().number == 0, "a full-length training beats a backfill trial's higher score"
    s = summary(study)
    assert s["counts"]["completed"] == 2 and 0 < s["progress"] < 1


def test_the_eta_covers_the_drain_of_an_asha_study_with_many_slots(make_study):
    study = make_study(search_alg="asha", num_trials=2, max_iterations=8, parallelism=16,
                       seconds_per_epoch=1.0, start=True)
    config = claim(study.trials.get(number=0))
    for epoch in range(1, 5):   # alone at rungs 1, 2 and 4: it trains to 8
        assert hpopt.report(config, 0.9, iteration=epoch) == hpopt.Status.RUNNING
    s = summary(study)
    # its four epochs left, less what it trained of the fifth since its last report
    since = time.time() - study.trials.get(number=0).last_report.timestamp()
    assert s["eta_seconds"] >= 4 * per_epoch(study, s) - min(since, per_epoch(study, s))
