"""ASHA keeps a study within its time budget when trials pass rungs more
often than Auto Config's 1/eta model says (a sampler that improves over time
makes later trials outrank earlier ones): the plan then ends early, at fewer
trials, and says so. A num_trials the user fixed is kept."""
from conftest import create, run_loop

from hpopt import engine


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
        return engine.epochs_spent(hpo.storage)


def test_an_auto_planned_study_ends_early_instead_of_overspending(tmp_path):
    hpo = create(tmp_path, search_alg="asha", expected_time_ratio=6, num_full_iterations=9, subset_ratio=1.0)
    planned = hpo.plan
    assert "num_trials" in planned.auto

    configs = run_loop(hpo, improving)

    assert len(configs) < planned.num_trials
    # every trial trains to the end: within one trial of the budget
    assert planned.expected_epochs - planned.max_iterations <= spent(hpo) <= planned.expected_epochs + planned.max_iterations
    with hpo.storage.locked():
        stored_plan = engine.load(hpo.storage).plan
        meta = hpo.storage.load_meta()
    assert stored_plan.num_trials == len(configs)
    assert meta["plan"]["planned_trials"] == planned.num_trials
    assert hpo.get_progress() == 1.0


def test_a_num_trials_the_user_fixed_runs_in_full(tmp_path):
    hpo = create(tmp_path, search_alg="asha", expected_time_ratio=6, num_full_iterations=9, subset_ratio=1.0,
                 num_trials=12)

    configs = run_loop(hpo, improving)

    assert len(configs) == 12
    assert spent(hpo) == 12 * hpo.plan.max_iterations  # over the plan's model: the user asked for it
