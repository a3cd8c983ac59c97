"""The results table and the best-trial queries."""
import io

import pytest
from conftest import create, loss, run_loop, stored, train

import hpopt
from hpopt.results import format_results
from hpopt.status import TrialState
from hpopt.storage.base import TrialRecord


def record(trial_id, best, state=TrialState.COMPLETED, last=3, final=None, **params):
    return TrialRecord(trial_id=trial_id, params=params or {"lr": 0.01, "opt": "adam"},
                       iterations=3, subset_ratio=1.0, state=state, best_score=best,
                       last_iteration=last, last_score=final)


def rows(text):
    lines = text.splitlines()
    return [line.split() for line in lines[2:] if not line.startswith("* best")]


def test_no_trials_says_so():
    assert format_results([], None, "max") == "hpopt: no trials yet"


def test_one_row_per_trial_with_params_score_iterations_and_state():
    trials = [record(0, 0.5, final=0.4, lr=0.001, opt="sgd"),
              record(1, None, TrialState.RUNNING, last=0, lr=0.01, opt="adam"),
              record(2, 0.75, TrialState.STOPPED, last=1, lr=0.1, opt="rmsprop")]

    text = format_results(trials, 2, "max")

    header = text.splitlines()[0].split()
    assert header[:3] == ["trial", "lr", "opt"] and "(max)" in header
    assert rows(text) == [
        ["0", "0.001", "sgd", "0.4", "0.5", "3/3", "completed"],
        ["1", "0.01", "adam", "-", "-", "0/3", "running"],
        ["*", "2", "0.1", "rmsprop", "0.75", "0.75", "1/3", "stopped"],
    ]
    assert text.splitlines()[-1] == "* best trial: 2"


def test_without_a_best_nothing_is_marked():
    text = format_results([record(0, None, TrialState.QUEUED, last=0)], None, "min")

    assert "*" not in text and "(min)" in text


def test_print_results_writes_to_the_file_given(save_path, capsys):
    hpo = create(save_path, search_alg="asha", num_trials=3)
    run_loop(hpo)
    out = io.StringIO()

    hpo.print_results(file=out)

    assert capsys.readouterr().out == ""
    assert len(rows(out.getvalue())) == 3


def test_print_results_before_any_trial(save_path, capsys):
    create(save_path, search_alg="asha", num_trials=3).print_results()

    assert capsys.readouterr().out.strip() == "hpopt: no trials yet"


@pytest.mark.parametrize("alg", ["baye_opt", "asha"])
def test_get_best_trial_is_the_lowest_in_min_mode(alg, save_path):
    hpo = create(save_path, search_alg=alg, mode="min", num_trials=5, num_init_trial=3)
    run_loop(hpo, lambda c: train(c, loss))
    trials, scores = stored(save_path)

    best = hpo.get_best_trial()

    assert best["best_score"] == min(t.best_score for t in trials)
    assert best["params"] == hpo.get_best_config() == trials[best["trial_id"]].params


def test_the_best_so_far_counts_a_running_trial(save_path):
    hpo = create(save_path, search_alg="asha", num_trials=3)
    config = hpo.get_next_sample()
    hpopt.report(config=config, score=0.3)

    assert hpo.get_best_config() == config["params"]
    assert hpo.get_best_trial()["state"] == "running"


def test_trials_lists_every_trial_as_plain_values(save_path):
    hpo = create(save_path, search_alg="asha", num_trials=3)
    run_loop(hpo)

    listed = hpo.trials()

    assert [t["trial_id"] for t in listed] == [0, 1, 2]
    assert all(isinstance(t["state"], str) for t in listed)


def overfits(config) -> None:
    """Trial 0 peaks at epoch 1 and then overfits below trial 1, which ends best."""
    peak, end = {0: (0.9, 0.5), 1: (0.7, 0.8)}.get(config["trial_id"], (0.1, 0.1))
    for epoch in range(1, config["iterations"] + 1):
        score = peak if epoch == 1 else end
        if hpopt.report(config=config, score=score, iteration=epoch) == hpopt.Status.STOP:
            break


def test_the_best_config_is_ranked_by_the_score_training_ended_with(save_path):
    hpo = create(save_path, search_alg="bayes_opt", num_trials=3, num_init_trial=3, max_iterations=4)
    run_loop(hpo, overfits)

    best = hpo.get_best_trial()

    assert best["trial_id"] == 1
    assert (best["last_score"], best["best_score"]) == (0.8, 0.8)
    assert hpo.trials()[0]["best_score"] == 0.9  # its best epoch, not what its training ended with
