"""The budget is a promise (hpopt.budget): a study never spends more compute
than its budget buys (every epoch every attempt trained, and a start-up per
attempt, in full-epoch equivalents), and spends most of it; the best config
is a full-length training whenever the budget allows one.

Several workers are simulated by interleaving engine.next_sample and
engine.report on one FileStorage, each worker at its own speed."""
import heapq
import math

import pytest
from conftest import accuracy, create, run_loop, stored

import hpopt
from hpopt import algorithms, engine, plan
from hpopt.snapshot import Meta
from hpopt.status import Status, TrialState


def improving(params, epoch, trial_id=0):
    """Later trials score better at every epoch: every trial passes every
    rung, the most an ASHA study can be tempted to spend."""
    return trial_id + epoch / 1000


def simulate(hpo, workers: int, score=accuracy, speeds=None) -> int:
    """Runs the study on ``workers`` simulated workers; returns how many trials were handed out."""
    storage = hpo.storage
    speeds = speeds or [1.0 + 0.37 * w for w in range(workers)]
    events = [(0.0, w, w, None) for w in range(workers)]
    heapq.heapify(events)
    seq, handed = workers, 0
    while events:
        now, _, w, run = heapq.heappop(events)
        if run is None:
            config = engine.next_sample(storage, f"w{w}")
            if config is None:
                continue   # this worker is idle from now on
            handed += 1
            run = {"config": config, "epoch": config["resume_iteration"] + 1}
        else:
            config = run["config"]
            value = score(config["params"], run["epoch"], config["trial_id"]) if score is improving \
                else score(config["params"], run["epoch"])
            status = engine.report(storage, config["trial_id"], value, run["epoch"], attempt=config["attempt"])
            if status is Status.STOP:
                engine.finish(storage, config["trial_id"], config["attempt"])
                seq += 1
                heapq.heappush(events, (now, seq, w, None))
                continue
            run["epoch"] += 1
        seq += 1
        heapq.heappush(events, (now + speeds[w], seq, w, run))
    return handed


def ledger(save_path):
    trials, _ = stored(save_path)
    storage = hpopt.storage.FileStorage(str(save_path))
    with storage.locked() as raw:
        meta = Meta.from_dict(raw)
    return meta, trials, sum(t.spent for t in trials)


@pytest.mark.parametrize("alg", ["asha", "bayes_opt"])
@pytest.mark.parametrize("workers", [1, 4, 16])
@pytest.mark.parametrize("startup", [0.0, 1.5])
def test_a_study_spends_its_budget_and_never_more(save_path, alg, workers, startup):
    hpo = create(save_path, search_alg=alg, hard_budget=True, expected_time_ratio=8, num_workers=workers,
                 startup_epochs=startup, seed=workers, num_init_trial=3)
    simulate(hpo, workers)
    meta, trials, spent = ledger(save_path)
    budget = meta.plan.budget_compute
    assert spent <= budget * (1 + 1e-9), (spent, budget)
    assert spent >= 0.9 * budget, (spent, budget)
    # what each trial spent is what it trained and started
    for t in trials:
        assert t.spent == pytest.approx(t.attempt * startup + t.last_iteration * meta.plan.epoch_cost(t.subset_ratio))
    assert all(t.state in (TrialState.COMPLETED, TrialState.STOPPED) for t in trials)


@pytest.mark.parametrize("workers", [1, 4, 16])
def test_asha_keeps_to_the_budget_when_every_trial_passes_every_rung(save_path, workers):
    hpo = create(save_path, search_alg="asha", hard_budget=True, expected_time_ratio=6, num_workers=workers,
                 seed=1)
    simulate(hpo, workers, score=improving)
    meta, trials, spent = ledger(save_path)
    assert spent <= meta.plan.budget_compute * (1 + 1e-9)
    stopped = [t for t in trials if t.state is TrialState.STOPPED]
    assert all(t.stop_reason.startswith("budget reached") for t in stopped), \
        "nothing is below its peers here: only the budget stops trials"
    full = [t for t in trials if t.state is TrialState.COMPLETED and t.last_iteration == meta.plan.max_iterations]
    assert full, "the best candidate trained to full length"
    assert hpo.get_best_trial()["trial_id"] in {t.trial_id for t in full}


def test_a_start_up_dominated_plan_buys_fewer_trials_and_keeps_to_it(save_path, tmp_path):
    cheap = create(tmp_path / "cheap", search_alg="asha", hard_budget=True, expected_time_ratio=6)
    costly = create(save_path, search_alg="asha", hard_budget=True, expected_time_ratio=6, startup_epochs=4.0)
    assert costly.plan.num_trials < cheap.plan.num_trials
    assert costly.plan.trial_cost_epochs() >= 4.0
    run_loop(costly)
    meta, trials, spent = ledger(save_path)
    assert spent <= meta.plan.budget_compute * (1 + 1e-9)
    assert spent >= 0.9 * meta.plan.budget_compute
    assert sum(t.attempt for t in trials) * 4.0 <= spent


def test_planned_cost_counts_the_start_ups():
    p = plan("bayes_opt", 10_000, 20, expected_time_ratio=4, num_workers=4, startup_epochs=2.0)
    rounds = math.ceil(p.num_trials / 4)
    c = p.epoch_cost()
    assert p.cost == pytest.approx(rounds * (2.0 + p.max_iterations * c) / 20)
    assert abs(p.budget_used - 1) <= 0.1 and p.budget_used <= 1 + 1e-9
    assert p.expected_compute == pytest.approx(p.num_trials * (2.0 + p.max_iterations * c))
    assert p.budget_compute == pytest.approx(p.budget * 20 * p.num_trials / rounds)
    a = plan("asha", 10_000, 20, expected_time_ratio=4, num_workers=4, startup_epochs=2.0)
    assert a.cost == pytest.approx((a.num_trials * 2.0 + a.expected_epochs * a.epoch_cost()) / 4 / 20)


def test_a_num_trials_the_user_fixed_is_cut_by_the_budget_unless_it_is_off(tmp_path):
    args = dict(search_alg="asha", expected_time_ratio=3, num_trials=40, max_iterations=6)
    capped = create(tmp_path / "on", hard_budget=True, **args)
    assert capped.plan.auto == ("subset_ratio",) and capped.plan.warnings, "40 trials do not fit this budget"
    run_loop(capped, lambda c: [hpopt.report(c, improving(c["params"], e, c["trial_id"])) for e in
                                range(1, c["iterations"] + 1)])
    _, trials, spent = ledger(tmp_path / "on")
    assert len(trials) < 40 and spent <= capped.plan.budget_compute * (1 + 1e-9)
    free = create(tmp_path / "off", hard_budget=False, **args)
    assert len(run_loop(free)) == 40


def test_a_plan_with_every_value_fixed_runs_as_given(save_path):
    hpo = create(save_path, search_alg="bayes_opt", hard_budget=True, expected_time_ratio=2, num_trials=6,
                 max_iterations=6, subset_ratio=1.0)
    assert hpo.plan.auto == () and hpo.plan.warnings
    assert len(run_loop(hpo)) == 6, "nothing to plan: the user's study, with Auto Config's warning"


def test_progress_is_the_share_of_the_budget_spent(save_path):
    hpo = create(save_path, search_alg="asha", hard_budget=True, expected_time_ratio=5, seed=2)
    seen = []
    while (config := hpo.get_next_sample()) is not None:
        for epoch in range(1, config["iterations"] + 1):
            if hpopt.report(config, accuracy(config["params"], epoch)) is Status.STOP:
                break
            seen.append(hpo.get_progress())
    assert seen == sorted(seen) and 0 < seen[0] and seen[-1] < 1
    assert hpo.get_progress() == 1.0
    meta, _, spent = ledger(save_path)
    assert seen[-1] <= spent / meta.plan.budget_compute


def test_an_iteration_beyond_the_trials_iterations_is_refused_and_nothing_is_stored(save_path):
    hpo = create(save_path, search_alg="bayes_opt", num_trials=2, max_iterations=5)
    config = hpo.get_next_sample()
    with pytest.raises(ValueError, match=r"iteration 100 is beyond this trial's iterations \(5\)"):
        hpopt.report(config, 0.5, iteration=100)
    for _ in range(4):
        hpopt.report(config, 0.6)
    with pytest.raises(ValueError, match="beyond"):
        hpopt.report(config, 0.7, iteration=6)
    assert hpopt.report(config, 0.7) is Status.STOP   # iteration 5, its last
    assert hpopt.report(config, 0.8) is Status.STOP, "after its end a report stores nothing, as before"
    _, scores = stored(save_path)
    assert scores[0] == [(1, 0.6), (2, 0.6), (3, 0.6), (4, 0.6), (5, 0.7)]


def test_the_algorithm_says_what_a_trial_is_certain_to_spend(save_path):
    hpo = create(save_path, search_alg="asha", hard_budget=True, expected_time_ratio=6, startup_epochs=0.5)
    with hpo.storage.locked() as raw:
        meta = Meta.from_dict(raw)
    alg = algorithms.build(meta)
    config = hpo.get_next_sample()
    with hpo.storage.locked():
        running = hpo.storage.get_trial(config["trial_id"])
    first_rung = meta.plan.brackets[0][0]
    assert alg.certain_cost(running) == pytest.approx(first_rung * meta.plan.epoch_cost())
    queued = running.replace(state=TrialState.QUEUED, resume_iteration=0)
    assert alg.certain_cost(queued) == pytest.approx(0.5 + first_rung * meta.plan.epoch_cost())


@pytest.mark.parametrize("alg", ["asha", "bayes_opt"])
def test_more_budget_lets_a_finished_study_go_on_from_where_it_stopped(save_path, alg):
    hpo = create(save_path, search_alg=alg, hard_budget=True, expected_time_ratio=4, seed=3, num_init_trial=2)
    first = run_loop(hpo)
    meta, trials, spent = ledger(save_path)
    plan_before = meta.plan
    new_plan = hpo.add_budget(expected_time_ratio=8)
    assert new_plan.budget_compute > plan_before.budget_compute
    assert (new_plan.subset_ratio, new_plan.max_iterations, new_plan.brackets) == \
        (plan_before.subset_ratio, plan_before.max_iterations, plan_before.brackets), "the study goes on as it was"
    more = run_loop(hpo)
    assert more and {c["trial_id"] for c in more}.isdisjoint({c["trial_id"] for c in first})
    meta, trials, spent = ledger(save_path)
    assert spent <= meta.plan.budget_compute * (1 + 1e-9)
    assert spent >= 0.9 * meta.plan.budget_compute
    assert meta.settings.expected_time_ratio == 8


def test_more_trials_raise_the_budget_by_what_they_cost(save_path):
    hpo = create(save_path, search_alg="bayes_opt", hard_budget=True, expected_time_ratio=4, num_trials=5,
                 seed=1)
    run_loop(hpo)
    before = hpo.plan
    after = hpo.add_budget(add_trials=3)
    assert after.num_trials == 8
    assert after.budget_compute == pytest.approx(before.budget_compute + 3 * before.trial_cost_epochs())
    assert len(run_loop(hpo)) == 3
    with pytest.raises(ValueError, match="expected_time_ratio must be above"):
        hpo.add_budget(expected_time_ratio=2)
    with pytest.raises(ValueError, match="give either"):
        hpo.add_budget()
