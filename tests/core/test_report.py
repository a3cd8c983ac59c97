"""hpopt.report(): what it stores, what it answers, what it refuses."""
import math

import numpy as np
import pytest
from conftest import create, stored

import hpopt
from hpopt import controls


@pytest.fixture
def running(save_path):
    """A study with trial 0 handed out and not yet reported: (hpo, config)."""
    hpo = create(save_path, search_alg="asha", num_trials=4, max_iterations=6, seed=0)
    return hpo, hpo.get_next_sample()


def scores_of(save_path, trial_id):
    return stored(save_path)[1].get(trial_id, [])


def trial(save_path, trial_id):
    return stored(save_path)[0][trial_id]


@pytest.mark.parametrize("name, value", [
    ("UNKNOWN", -1), ("READY", 0), ("RUNNING", 1), ("STOP", 2), ("CUDAOOM", 3),
    ("NORESULT", 4), ("PARTIALRESULT", 5), ("COMPLETERESULT", 6),
])
def test_status_keeps_the_original_values(name, value):
    assert hpopt.Status[name] == value
    assert hpopt.Status(value).name == name


def test_status_has_no_other_members():
    assert len(hpopt.Status) == 8


@pytest.mark.parametrize("score", [
    math.nan, math.inf, -math.inf, np.float64("nan"), np.float32("inf"), "0.5", None, True, False, [0.5], 1 + 0j,
    # beyond a float's range: was OverflowError, not the documented ValueError
    pytest.param(10**400, id="10**400"), pytest.param(-(10**400), id="-10**400"),
])
def test_a_score_that_is_not_a_finite_number_raises_and_stores_nothing(running, save_path, score):
    hpo, config = running

    with pytest.raises(ValueError, match="score"):
        hpopt.report(config=config, score=score)

    assert scores_of(save_path, 0) == []
    t = trial(save_path, 0)
    assert (t.state.value, t.last_iteration, t.best_score) == ("running", 0, None)


@pytest.mark.parametrize("score", [1, 0.25, np.float32(0.5), np.float64(-2.0), np.int64(3)])
def test_ints_floats_and_numpy_scalars_are_stored_as_floats(running, save_path, score):
    hpo, config = running

    assert hpopt.report(config=config, score=score) == hpopt.Status.RUNNING

    assert scores_of(save_path, 0) == [(1, float(score))]


def test_reports_number_iterations_from_one(running, save_path):
    hpo, config = running

    for value in (0.1, 0.3, 0.2):
        hpopt.report(config=config, score=value)

    assert scores_of(save_path, 0) == [(1, 0.1), (2, 0.3), (3, 0.2)]
    t = trial(save_path, 0)
    assert (t.last_iteration, t.best_score) == (3, 0.3)


def test_an_explicit_iteration_is_stored_as_given_and_the_next_report_follows_it(running, save_path):
    hpo, config = running

    hpopt.report(config=config, score=0.4, iteration=3)
    hpopt.report(config=config, score=0.5)

    assert scores_of(save_path, 0) == [(3, 0.4), (4, 0.5)]


@pytest.mark.parametrize("iteration", [0, -1, 1.5, "2", True, 2**31])
def test_an_invalid_iteration_raises_and_stores_nothing(running, save_path, iteration):
    hpo, config = running

    with pytest.raises(ValueError, match="iteration"):
        hpopt.report(config=config, score=0.5, iteration=iteration)

    assert scores_of(save_path, 0) == []


def test_a_repeated_iteration_replaces_its_score_and_the_best_follows(running, save_path):
    hpo, config = running
    hpopt.report(config=config, score=0.9)
    hpopt.report(config=config, score=0.3)

    hpopt.report(config=config, score=0.1, iteration=1)

    assert scores_of(save_path, 0) == [(1, 0.1), (2, 0.3)]
    assert trial(save_path, 0).best_score == 0.3


def test_the_last_iteration_answers_stop_and_completes_the_trial(running, save_path):
    hpo, config = running
    answers = [hpopt.report(config=config, score=0.5) for _ in range(config["iterations"])]

    assert answers == [hpopt.Status.RUNNING] * (config["iterations"] - 1) + [hpopt.Status.STOP]
    assert trial(save_path, 0).state.value == "completed"


def test_a_report_on_a_finished_trial_answers_stop_and_stores_nothing(running, save_path):
    hpo, config = running
    for _ in range(config["iterations"]):
        hpopt.report(config=config, score=0.5)
    before = scores_of(save_path, 0)

    assert hpopt.report(config=config, score=0.9) == hpopt.Status.STOP
    assert hpopt.report(config=config, score=0.9, iteration=1) == hpopt.Status.STOP

    assert scores_of(save_path, 0) == before
    assert trial(save_path, 0).best_score == 0.5


def test_a_report_after_the_loop_moved_on_answers_stop_and_stores_nothing(running, save_path):
    """get_next_sample() ends the trial it handed out before (here: failed,
    since its trainer never reported)."""
    hpo, config = running
    hpo.get_next_sample()

    assert hpopt.report(config=config, score=0.5) == hpopt.Status.STOP

    assert scores_of(save_path, 0) == []
    assert trial(save_path, 0).state.value == "failed"


NOT_CONFIGS = [
    None, [], "config", {}, {"params": {"lr": 0.01}, "iterations": 3},
    {"trial_id": 0}, {"trial_id": 0, "storage": {"kind": "nowhere"}}, {"trial_id": 0, "storage": None},
]


@pytest.mark.parametrize("config", NOT_CONFIGS)
def test_report_with_something_that_is_not_a_train_config_raises(running, save_path, config):
    with pytest.raises(ValueError, match="config"):
        hpopt.report(config=config, score=0.5)

    assert scores_of(save_path, 0) == []


@pytest.mark.parametrize("trial_id", [99, -1, "0"])
def test_report_for_a_trial_the_study_does_not_have_raises(running, save_path, trial_id):
    hpo, config = running

    with pytest.raises(ValueError, match="config"):
        hpopt.report(config=dict(config, trial_id=trial_id), score=0.5)

    assert stored(save_path)[1] == {}


@pytest.mark.parametrize("config", NOT_CONFIGS)
def test_report_oom_with_something_that_is_not_a_train_config_raises(running, config):
    with pytest.raises(ValueError, match="config"):
        hpopt.reportOOM(config)


def test_a_rerun_that_scores_lower_does_not_keep_the_replaced_best(running, save_path):
    """An interrupted trial runs again from scratch (what resume does when its
    process died); its new scores replace the old ones iteration by iteration,
    and its best score is the best of what is stored."""
    hpo, config = running
    hpopt.report(config=config, score=0.9)
    hpopt.report(config=config, score=0.8)
    assert controls.requeue(hpo.storage, config["trial_id"], keep_progress=False)

    again = hpo.get_next_sample()
    assert again["trial_id"] == config["trial_id"]
    hpopt.report(config=again, score=0.5)

    assert scores_of(save_path, 0) == [(1, 0.5), (2, 0.8)]
    assert trial(save_path, 0).best_score == 0.8
