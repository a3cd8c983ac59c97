"""ASHA with promotion="pause": a trial that reaches a rung waits there,
paused, and resumes from its checkpoint only when it is promoted (it ranks
in the top floor(n/eta) of its rung); the budget holds, no epoch is
trained twice, and the default (on arrival) is unchanged."""
import pytest
from conftest import accuracy, create, run_loop, stored
from hypothesis import given, settings
from hypothesis import strategies as st
from test_hard_budget import ledger, simulate

import hpopt
from hpopt import engine, progress
from hpopt.algorithms.promotion import promotable, promotion_bar, promotion_quota, waiting_rung
from hpopt.status import Status, TrialState
from hpopt.timing import TimeModel


def resuming(score_fn=lambda params, epoch, trial_id: accuracy(params, epoch), trained=None):
    """The guide's trainer, honouring resume_iteration as a trainer that
    loads its checkpoint does: it trains only the epochs after it. Records
    every (trial, epoch) it trains in ``trained``. ``score_fn(params,
    epoch, trial_id)``."""
    def trainer(config):
        for epoch in range(config["resume_iteration"] + 1, config["iterations"] + 1):
            if trained is not None:
                trained.append((config["trial_id"], epoch))
            if hpopt.report(config=config, score=score_fn(config["params"], epoch, config["trial_id"])) \
                    == hpopt.Status.STOP:
                break
    return trainer


@pytest.mark.parametrize("recorded, eta, strict, relaxed", [
    (1, 2, 0, 1), (2, 2, 1, 1), (3, 2, 1, 1), (4, 2, 2, 2), (2, 3, 0, 1), (6, 3, 2, 2),
])
def test_the_quota_is_the_top_floor_n_over_eta_and_relaxed_at_least_one(recorded, eta, strict, relaxed):
    assert promotion_quota(recorded, eta) == strict
    assert promotion_quota(recorded, eta, relaxed=True) == relaxed


@pytest.mark.parametrize("score, others, eta, relaxed, expected", [
    (0.9, [], 2, False, False),          # alone at its rung: nothing to rank against yet
    (0.9, [], 2, True, True),
    (0.9, [0.5], 2, False, True),
    (0.5, [0.9], 2, False, False),
    (0.5, [0.5], 2, False, True),        # ties rank in the trial's favour
    (0.7, [1.0, 0.5, 0.2], 2, False, True),
    (0.4, [1.0, 0.7, 0.2], 2, False, False),
])
def test_promotable_ranks_the_score_among_the_rung(score, others, eta, relaxed, expected):
    assert promotable(score, others, eta, relaxed) is expected


SCORES = st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(scores=st.lists(st.sampled_from([0.0, 0.5, 1.0]) | SCORES, min_size=1, max_size=30),
       eta=st.integers(2, 5), relaxed=st.booleans())
def test_the_rungs_bar_admits_exactly_the_promotable_scores(scores, eta, relaxed):
    """One bar per rung (what a hand-out computes) gives each trial the
    answer its own ranking would (ties included)."""
    bar = promotion_bar(scores, eta, relaxed)
    for i, s in enumerate(scores):
        assert promotable(s, scores[:i] + scores[i + 1:], eta, relaxed) is (bar is not None and s >= bar)


def test_a_trial_that_reaches_a_rung_pauses_there_instead_of_stopping(save_path):
    hpo = create(save_path, search_alg="asha", num_trials=4, max_iterations=8, promotion="pause")
    assert hpo.plan.brackets == ((1, 2, 4),)
    config = hpo.get_next_sample()

    assert hpopt.report(config, 0.9) is Status.STOP   # alone at rung 1: it waits for company

    trial = stored(save_path)[0][0]
    assert (trial.state, trial.resume_iteration, trial.rungs) == (TrialState.PAUSED, 1, {1: 0.9})
    assert trial.stop_reason == "waiting at rung 1 to be promoted"
    assert waiting_rung(trial) == 1


def test_a_waiting_trial_is_promoted_once_it_ranks_in_the_top_1_over_eta_and_handed_back(save_path):
    hpo = create(save_path, search_alg="asha", num_trials=4, max_iterations=8, promotion="pause")
    first = hpo.get_next_sample()
    hpopt.report(first, 0.9)
    second = hpo.get_next_sample()
    assert (second["trial_id"], second["resume_iteration"]) == (1, 0), "nothing promotable: a new trial"

    assert hpopt.report(second, 0.1) is Status.STOP   # 2nd of 2 at rung 1: waits; trial 0 is now 1st of 2

    again = hpo.get_next_sample()
    assert (again["trial_id"], again["resume_iteration"], again["attempt"]) == (0, 1, 2)
    assert again["checkpoint_dir"] == first["checkpoint_dir"]
    # it continues where it paused: the first report of this attempt is epoch 2
    assert hpopt.report(again, 0.9) is Status.STOP   # alone at rung 2: waits again
    trials, scores = stored(save_path)
    assert scores[0] == [(1, 0.9), (2, 0.9)]
    assert (trials[0].state, trials[0].resume_iteration, trials[0].rungs) == (TrialState.PAUSED, 2, {1: 0.9, 2: 0.9})
    assert (trials[1].state, trials[1].resume_iteration) == (TrialState.PAUSED, 1)


def test_a_trial_that_ranks_in_the_quota_on_arrival_continues_at_once(save_path):
    hpo = create(save_path, search_alg="asha", num_trials=4, max_iterations=8, promotion="pause")
    hpopt.report(hpo.get_next_sample(), 0.1)
    config = hpo.get_next_sample()

    assert hpopt.report(config, 0.9) is Status.RUNNING   # 1st of 2 at rung 1: the promotion a request would make

    trials = stored(save_path)[0]
    assert (trials[1].state, trials[1].rungs) == (TrialState.RUNNING, {1: 0.9})
    assert trials[0].state is TrialState.PAUSED


def test_promotion_takes_the_highest_rung_first(save_path):
    """Six workers; when a seventh asks, trial 1 waits at rung 2 and trial 0
    at rung 1, each inside its quota: the deeper one goes first."""
    hpo = create(save_path, search_alg="asha", num_trials=6, max_iterations=8, promotion="pause")
    storage = hpo.storage
    configs = [engine.next_sample(storage, f"w{i}") for i in range(6)]

    def report(tid, iteration, score):
        return engine.report(storage, tid, score, iteration, attempt=configs[tid]["attempt"])

    assert report(0, 1, 0.9) is Status.STOP                                      # alone at rung 1
    assert [report(1, 1, 0.95), report(1, 2, 0.95)] == [Status.RUNNING, Status.STOP]   # alone at rung 2
    assert [report(2, 1, 0.99), report(2, 2, 0.5)] == [Status.RUNNING, Status.STOP]    # 2nd of 2 at rung 2
    for tid, score in ((3, 0.1), (4, 0.05), (5, 0.01)):
        assert report(tid, 1, score) is Status.STOP
    # rung 2: trial 1 is 1st of 2 (quota 1); rung 1: trial 0 is 3rd of 6 (quota 3)

    promoted = [engine.next_sample(storage, "w6") for _ in range(3)]

    assert [(c["trial_id"], c["resume_iteration"]) for c in promoted[:2]] == [(1, 2), (0, 1)]
    assert promoted[2] is None, "the plan is handed out and nothing else ranks in its quota"


def test_a_user_pause_at_a_rung_is_not_taken_for_a_wait(save_path):
    hpo = create(save_path, search_alg="asha", num_trials=1, max_iterations=8, promotion="pause")
    config = hpo.get_next_sample()
    hpopt.controls.pause(hpo.storage, config["trial_id"])

    assert hpopt.report(config, 0.9) is Status.STOP

    trial = stored(save_path)[0][0]
    assert (trial.state, trial.stop_reason, waiting_rung(trial)) == (TrialState.PAUSED, "", None)
    assert hpo.get_next_sample() is None, "the user holds it: neither promoted nor stopped"
    assert stored(save_path)[0][0].state is TrialState.PAUSED


def test_with_the_plan_handed_out_a_lone_trial_is_promoted_by_the_relaxed_rule_to_the_end(save_path):
    hpo = create(save_path, search_alg="asha", num_trials=1, max_iterations=8, promotion="pause")
    trained = []

    configs = run_loop(hpo, resuming(trained=trained))

    assert [c["resume_iteration"] for c in configs] == [0, 1, 2, 4]
    trial = stored(save_path)[0][0]
    assert (trial.state, trial.last_iteration, trial.attempt) == (TrialState.COMPLETED, 8, 4)
    assert trained == [(0, e) for e in range(1, 9)], "every epoch trained once"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_loop_trains_no_epoch_twice_and_ends_with_every_trial_finished(save_path, seed):
    hpo = create(save_path, search_alg="asha", num_trials=12, max_iterations=8, promotion="pause", seed=seed)
    trained = []

    configs = run_loop(hpo, resuming(trained=trained))

    trials, scores = stored(save_path)
    assert len(trained) == len(set(trained)), "an epoch trained twice"
    assert sorted(trained) == sorted((tid, e) for tid, s in scores.items() for e, _ in s)
    assert any(c["resume_iteration"] for c in configs), "some trial was promoted after waiting"
    assert all(t.state in (TrialState.COMPLETED, TrialState.STOPPED) for t in trials)
    leftovers = [t for t in trials if t.stop_reason.startswith("not promoted")]
    assert all(t.last_iteration == max(t.rungs) for t in leftovers)
    best = hpo.get_best_trial()
    assert best["state"] == "completed" and best["last_iteration"] == 8


@pytest.mark.parametrize("workers", [1, 4, 16])
@pytest.mark.parametrize("startup", [0.0, 1.5])
def test_pausing_keeps_to_the_budget_and_counts_only_the_epochs_trained(save_path, workers, startup):
    hpo = create(save_path, search_alg="asha", hard_budget=True, expected_time_ratio=8, num_workers=workers,
                 startup_epochs=startup, seed=workers, promotion="pause")

    simulate(hpo, workers)   # its workers resume a promoted trial after resume_iteration

    meta, trials, spent = ledger(save_path)
    budget = meta.plan.budget_compute
    assert 0.9 * budget <= spent <= budget * (1 + 1e-9), (spent, budget)
    assert any(t.attempt > 1 for t in trials), "some trial resumed after waiting"
    for t in trials:
        # each attempt's start-up, and each epoch once: a resumed attempt trains on from its rung
        assert t.spent == pytest.approx(t.attempt * startup + t.last_iteration * meta.plan.epoch_cost(t.subset_ratio))
    assert all(t.state in (TrialState.COMPLETED, TrialState.STOPPED) for t in trials)


def test_the_default_decides_on_arrival(save_path):
    hpo = create(save_path, search_alg="asha", num_trials=4, max_iterations=8)
    assert hpo.settings.promotion == "on_arrival"
    config = hpo.get_next_sample()

    assert hpopt.report(config, 0.9) is Status.RUNNING   # the first arrival continues at once
    assert hpopt.report(config, 0.9) is Status.RUNNING

    run_loop(hpo)
    assert not any(t.state is TrialState.PAUSED or t.attempt > 1 for t in stored(save_path)[0])


def test_promotion_is_checked_by_name():
    with pytest.raises(ValueError, match="promotion must be 'on_arrival' or 'pause'"):
        create("unused", search_alg="asha", promotion="later")


def test_a_waiting_trial_commits_nothing_and_a_promoted_one_its_next_stretch(save_path):
    hpo = create(save_path, search_alg="asha", num_trials=4, max_iterations=8, promotion="pause")
    hpopt.report(hpo.get_next_sample(), 0.9)
    with hpo.storage.locked() as raw:
        algorithm = hpopt.algorithms.build(hpopt.snapshot.Meta.from_dict(raw))
    waiting = stored(save_path)[0][0]
    # its promotion, if it comes, takes the place of a later arrival's, which the model counts
    assert (algorithm.certain_cost(waiting), algorithm.expected_cost_left(waiting)) == (0.0, 0.0)
    queued = waiting.replace(state=TrialState.QUEUED, stop_reason="")   # promoted: its next stretch
    assert algorithm.certain_cost(queued) == 1 * algorithm.epoch_cost(queued)
    # from rung 1: 1 epoch to rung 2, then 2 of which half are expected, then 4 of which a quarter
    assert algorithm.expected_epochs_left(queued) == pytest.approx(1 + 2 / 2 + 4 / 4)
    engine.next_sample(hpo.storage, "w")   # nothing to promote: a new trial
    assert stored(save_path)[0][0].state is TrialState.PAUSED


def test_a_waiting_trial_adds_no_start_up_to_the_eta(save_path):
    """Its promotion, if it comes, is counted with the new trials' work; a
    piece of start-up per waiting trial would grow the ETA with every one."""
    hpo = create(save_path, search_alg="asha", num_trials=40, max_iterations=8, promotion="pause", startup_epochs=2.0)
    hpopt.report(hpo.get_next_sample(), 0.9)   # waits at rung 1
    with hpo.storage.locked() as raw:
        meta, trials = hpopt.snapshot.Meta.from_dict(raw), hpo.storage.trials()
    model = TimeModel(1.0, 50.0, "measured")
    p = progress.of_trials(meta, trials)
    assert trials[0].state is TrialState.PAUSED

    with_waiting = progress.eta_seconds(meta, p, trials, 1, model)

    assert with_waiting == progress.eta_seconds(meta, p, [], 1, model)
