"""ASHA keeps a study within its time budget when trials pass rungs more
often than Auto Config's 1/eta model says (a sampler that improves over time
makes later trials outrank earlier ones): the plan then ends early, at fewer
trials, and says so. A num_trials the user fixed is kept, and a small study
is not cut to one trial because its first trial trained to the end."""
from conftest import create, run_loop

from hpopt import algorithms, progress
from hpopt.snapshot import Meta


def improving(config) -> None:
    """Each trial scores better than every earlier one at every epoch, so every
    trial passes every rung: the most a study can overspend."""
    import hpopt

    for epoch in range(1, config["iterations"] + 1):
        score = config["trial_id"] + epoch / 1000
        if hpopt.report(config=config, score=score, iteration=epoch) == hpopt.Status.STOP:
            break


def spent(hpo) -> int:
    with hpo.storage.locked():
        return progress.epochs_trained(hpo.storage.trials())


def test_an_auto_planned_study_ends_early_instead_of_overspending(tmp_path):
    hpo = create(tmp_path, search_alg="asha", expected_time_ratio=6, num_full_iterations=9, subset_ratio=1.0)
    planned = hpo.plan
    assert "num_trials" in planned.auto

    configs = run_loop(hpo, improving)

    assert len(configs) < planned.num_trials
    with hpo.storage.locked() as meta:
        algorithm = algorithms.build(Meta.from_dict(meta))
        stored_plan = algorithm.plan
    # the budget, plus what the plan's model misses by construction (the
    # first trial of each bracket always trains to the end); every trial
    # trains to the end here, so within one trial of that
    limit = planned.expected_epochs + algorithm.budget_allowance()
    assert 0 < algorithm.budget_allowance() <= planned.num_brackets * planned.max_iterations
    assert limit - planned.max_iterations <= spent(hpo) <= limit + planned.max_iterations
    assert stored_plan.num_trials == len(configs)
    assert meta["plan"]["planned_trials"] == planned.num_trials
    assert hpo.get_progress() == 1.0


def test_a_num_trials_the_user_fixed_runs_in_full(tmp_path):
    hpo = create(tmp_path, search_alg="asha", expected_time_ratio=6, num_full_iterations=9, subset_ratio=1.0,
                 num_trials=12)

    configs = run_loop(hpo, improving)

    assert len(configs) == 12
    assert spent(hpo) == 12 * hpo.plan.max_iterations  # over the plan's model: the user asked for it


def first_ends_best(config) -> None:
    """The first trial is best at every epoch (it always trains to the end);
    later ones rank below it and are stopped at their first rung."""
    import hpopt

    for epoch in range(1, config["iterations"] + 1):
        score = (1.0 if config["trial_id"] == 0 else 0.5) + epoch / 1000
        if hpopt.report(config=config, score=score, iteration=epoch) == hpopt.Status.STOP:
            break


def test_a_small_budget_is_not_cut_to_its_first_trial(tmp_path):
    """One full training of budget on one worker: the first trial alone trains
    that long, as every ASHA does (nothing to rank it against)."""
    hpo = create(tmp_path, search_alg="asha", expected_time_ratio=2, num_full_iterations=9, subset_ratio=1.0)
    assert hpo.plan.num_trials > 2

    configs = run_loop(hpo, first_ends_best)

    assert len(configs) == hpo.plan.num_trials
