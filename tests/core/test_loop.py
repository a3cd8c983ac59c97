"""The guide's sample loop, end to end, for every algorithm name it accepts."""
import pytest
from conftest import best_by_scores, create, run_loop, small_space, stored, train

import hpopt
from hpopt.space import SearchSpace

ALGORITHMS = ["baye_opt", "bayes_opt", "smbo", "asha"]
GUIDE_KEYS = {"params", "iterations", "subset_ratio", "trial_id"}
EXTRA_KEYS = {"asha": {"bracket", "rungs"}, "bayes_opt": {"early_stop"}}


def canonical(alg):
    return "asha" if alg == "asha" else "bayes_opt"


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_the_loop_hands_out_the_planned_trials_and_ends(alg, save_path):
    hpo = create(save_path, search_alg=alg, num_trials=8, num_init_trial=3, seed=1)
    assert hpo.plan.search_alg == canonical(alg)

    configs = run_loop(hpo)

    assert [c["trial_id"] for c in configs] == list(range(8))
    assert hpo.get_next_sample() is None
    trials, _ = stored(save_path)
    assert all(t.state.is_finished() for t in trials)


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_train_configs_carry_what_the_guide_reads(alg, save_path):
    hpo = create(save_path, search_alg=alg, num_trials=6, num_init_trial=3, seed=2)
    space = SearchSpace(small_space())

    configs = run_loop(hpo)

    for config in configs:
        assert GUIDE_KEYS | EXTRA_KEYS[canonical(alg)] <= set(config)
        assert space.contains(config["params"])
        assert config["iterations"] == hpo.plan.max_iterations
        assert config["subset_ratio"] == hpo.plan.subset_ratio
    if canonical(alg) == "asha":
        assert all(c["rungs"] == list(hpo.plan.brackets[c["bracket"]]) for c in configs)
    else:
        assert all(c["early_stop"] is None for c in configs)


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_best_config_is_the_best_scored_trial_and_lies_in_the_space(alg, save_path):
    hpo = create(save_path, search_alg=alg, num_trials=8, num_init_trial=3, seed=3)
    assert hpo.get_best_config() is None

    run_loop(hpo)

    trials, scores = stored(save_path)
    best = hpo.get_best_config()
    assert SearchSpace(small_space()).contains(best)
    assert best == trials[best_by_scores(scores, "max")].params


@pytest.mark.parametrize("alg", ["baye_opt", "asha"])
def test_progress_grows_from_zero_to_one(alg, save_path):
    hpo = create(save_path, search_alg=alg, num_trials=6, num_init_trial=3, seed=4)
    seen = [hpo.get_progress()]
    while (config := hpo.get_next_sample()) is not None:
        for epoch in range(1, config["iterations"] + 1):
            status = hpopt.report(config=config, score=0.1 * epoch)
            seen.append(hpo.get_progress())
            if status == hpopt.Status.STOP:
                break

    assert seen[0] == 0.0
    assert all(0.0 <= p <= 1.0 for p in seen)
    assert seen == sorted(seen)
    assert hpo.get_progress() == 1.0


@pytest.mark.parametrize("alg", ["baye_opt", "asha"])
def test_print_results_shows_every_trial_and_marks_the_best(alg, save_path, capsys):
    hpo = create(save_path, search_alg=alg, num_trials=6, num_init_trial=3, seed=5)
    run_loop(hpo)
    trials, scores = stored(save_path)
    best_id = best_by_scores(scores, "max")
    capsys.readouterr()

    hpo.print_results()

    lines = capsys.readouterr().out.splitlines()
    rows = [line.split() for line in lines[2:] if not line.startswith("* best")]
    ids = [int(r[1]) if r[0] == "*" else int(r[0]) for r in rows]
    assert ids == [t.trial_id for t in trials]
    marked = [r for r in rows if r[0] == "*"]
    assert [int(r[1]) for r in marked] == [best_id]
    assert f"* best trial: {best_id}" in lines
    for row, trial in zip(rows, trials):
        assert trial.state.value == row[-1]


@pytest.mark.parametrize("alg", ["baye_opt", "asha"])
def test_a_search_space_smaller_than_the_plan_ends_the_loop_early(alg, save_path):
    """Four distinct configs exist; the loop ends after trying each once and
    the study counts as done."""
    space = {"opt": hpopt.search_space("choice", ["sgd", "adam"]),
             "nesterov": hpopt.search_space("choice", [True, False])}
    hpo = create(save_path, search_space=space, search_alg=alg, num_trials=8, num_init_trial=2, seed=6)

    configs = run_loop(hpo, lambda c: train(c, lambda params, epoch: 0.1 * epoch))

    keys = {(c["params"]["opt"], c["params"]["nesterov"]) for c in configs}
    assert len(configs) == len(keys) == 4
    assert hpo.get_progress() == 1.0
