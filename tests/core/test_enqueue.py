"""HPO.enqueue (hpopt.engine.enqueue): a config given by hand is handed out
before any sampled one, as given, at the fidelity of a new trial; it counts
towards the plan, feeds the algorithm, and a bad config stores nothing."""
import io
import os

import pytest
from conftest import accuracy, create, run_loop, stored, train

import hpopt
from hpopt import algorithms, configs, snapshot
from hpopt.algorithms.tpe import ParzenSampler
from hpopt.snapshot import Meta
from hpopt.space import SearchSpace

BEST = {"lr": 0.01, "bs": 64}


@pytest.mark.parametrize("alg", ["asha", "bayes_opt"])
def test_a_hand_picked_config_is_handed_out_first_as_given(alg, save_path):
    hpo = create(save_path, search_alg=alg, num_trials=6, num_init_trial=2, seed=1)
    assert hpo.enqueue({"lr": 0.01, "bs": 64.0}) == 0
    config = hpo.get_next_sample()
    assert (config["trial_id"], config["params"]) == (0, BEST)
    assert type(config["params"]["bs"]) is int
    assert (config["iterations"], config["subset_ratio"]) == (hpo.plan.max_iterations, hpo.plan.subset_ratio)
    train(config)
    configs = run_loop(hpo)
    assert [c["trial_id"] for c in configs] == [1, 2, 3, 4, 5], "it took the place of a sampled trial"
    trials, scores = stored(save_path)
    assert [t.hand_picked for t in trials] == [True] + [False] * 5
    assert [v for _, v in scores[0]] == [accuracy(BEST, e) for e in range(1, config["iterations"] + 1)]
    assert hpo.get_best_config() == BEST, "lr = 0.01 is the curve's optimum"
    out = io.StringIO()
    hpo.print_results(file=out)
    assert [line for line in out.getvalue().splitlines() if "hand-picked" in line] == [
        next(line for line in out.getvalue().splitlines() if line.startswith("*"))], "the best row, marked"


def test_a_config_enqueued_mid_study_waits_for_the_next_hand_out(save_path):
    hpo = create(save_path, search_alg="asha", num_trials=6, seed=2)
    first = hpo.get_next_sample()
    hpo.enqueue(BEST)
    assert hpo.get_next_sample()["params"] == BEST
    train(first)


def test_the_models_learn_from_its_score(save_path):
    """TPE (ASHA's sampler) ranks it first and the GP observes it: both read the stored trials."""
    hpo = create(save_path, search_alg="asha", num_trials=6, seed=3)
    hpo.enqueue(BEST)
    run_loop(hpo)
    with hpo.storage.locked() as raw:
        meta = Meta.from_dict(raw)
        trials = list(snapshot.load(hpo.storage, meta).trials)
    algorithm = algorithms.build(meta)
    assert ParzenSampler(algorithm.space, algorithm.sign).ranked(trials)[0].params == BEST
    bayes = algorithms.BayesOpt(meta.settings, meta.space, meta.plan)
    xs, ys, _ = bayes._encoded([t for t in trials if t.best_score is not None])
    assert tuple(meta.space.encode(BEST)) in {tuple(x) for x in xs}


def journal_bytes(save_path) -> bytes:
    with open(os.path.join(save_path, "hpopt_journal.jsonl"), "rb") as f:
        return f.read()


@pytest.mark.parametrize("params, errors", [
    ({"lr": 0.5, "bs": 64}, {"lr": "parameter 'lr': 0.5 is outside the range [0.0001, 0.1]"}),
    ({"lr": 0.01, "bs": 60}, {"bs": "parameter 'bs': 60 is not on the grid 8 + k*8 (nearest: 56 or 64)"}),
    ({"lr": 0.01}, {"bs": "parameter 'bs': missing (a config gives every parameter of the space)"}),
    ({"lr": 0.01, "bs": 64, "wd": 0}, {"wd": "parameter 'wd': not in the search space (its parameters: lr, bs)"}),
    ({"lr": None, "bs": "64"}, {"lr": "parameter 'lr': must be a finite number (got None)",
                                "bs": "parameter 'bs': must be a finite number (got '64')"}),
    ([0.01, 64], {"params": "params must be an object of parameter -> value (got list)"}),
])
def test_a_bad_config_names_each_parameter_and_stores_nothing(save_path, params, errors):
    hpo = create(save_path, num_trials=4)
    before = journal_bytes(save_path)
    with pytest.raises(hpopt.ConfigError) as caught:
        hpo.enqueue(params)
    assert caught.value.errors == errors
    assert journal_bytes(save_path) == before


def test_a_choice_is_matched_with_its_type(save_path):
    space = {"opt": hpopt.search_space("choice", ["sgd", 1, True])}
    hpo = create(save_path, search_space=space, num_trials=4)
    with pytest.raises(hpopt.ConfigError, match=r"'1' is not one of the choices"):
        hpo.enqueue({"opt": "1"})
    hpo.enqueue({"opt": True})
    assert hpo.get_next_sample()["params"] == {"opt": True}


def test_a_plan_with_no_room_refuses_and_stores_nothing(save_path):
    hpo = create(save_path, search_alg="bayes_opt", num_trials=2, num_init_trial=1)
    run_loop(hpo)
    before = journal_bytes(save_path)
    with pytest.raises(hpopt.NoRoom, match="no room for another trial"):
        hpo.enqueue(BEST)
    assert journal_bytes(save_path) == before
    hpo.add_budget(add_trials=1)
    hpo.enqueue(BEST)
    assert hpo.get_next_sample()["params"] == BEST


def test_a_resumed_study_keeps_the_mark(save_path):
    hpo = create(save_path, num_trials=3)
    hpo.enqueue(BEST)
    again = create(save_path, num_trials=3, resume=True)
    assert [t["hand_picked"] for t in again.trials()] == [True]
    assert again.get_next_sample()["params"] == BEST


def test_a_config_is_given_values_as_the_space_gives_them():
    space = SearchSpace({"lr": hpopt.search_space("loguniform", [1e-4, 1e-1]),
                         "bs": hpopt.search_space("quniform", [0.5, 2.0, 0.5]),
                         "n": hpopt.search_space("quniform", [2, 10, 2])})
    assert configs.check(space, {"n": 4.0, "bs": 1.5, "lr": 1e-3}) == {"lr": 1e-3, "bs": 1.5, "n": 4}
