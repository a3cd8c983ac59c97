"""ASHA: rung decisions, brackets, and the loop's stop/continue answers."""
import pytest
from conftest import create, run_loop, stored, train
from hypothesis import given, settings
from hypothesis import strategies as st

from hpopt.algorithms.asha import continues, rung_quota
from hpopt.plan import asha_rungs, plan


@pytest.mark.parametrize("recorded, eta, quota", [
    (1, 2, 1), (2, 2, 1), (3, 2, 1), (4, 2, 2), (5, 2, 2), (8, 2, 4),
    (2, 3, 1), (5, 3, 1), (6, 3, 2), (9, 3, 3), (3, 4, 1), (8, 4, 2),
])
def test_the_top_1_over_eta_of_a_rung_continues_and_at_least_one(recorded, eta, quota):
    assert rung_quota(recorded, eta) == quota


@pytest.mark.parametrize("score, others, eta, expected", [
    (0.5, [], 2, True),                          # the first to arrive never waits
    (0.9, [0.5], 2, True),
    (0.1, [0.5], 2, False),
    (0.5, [0.5], 2, True),                       # ties rank in the trial's favour
    (0.7, [1.0, 0.5, 0.2], 2, True),             # 2nd of 4, quota 2
    (0.4, [1.0, 0.7, 0.2], 2, False),            # 3rd of 4, quota 2
    (0.7, [1.0, 0.5, 0.2], 4, False),            # 2nd of 4, quota 1
    (0.7, [1.0, 0.9, 0.5, 0.2, 0.1], 3, False),  # 3rd of 6, quota 2
    (0.95, [1.0, 0.9, 0.5, 0.2, 0.1], 3, True),  # 2nd of 6, quota 2
])
def test_continues_ranks_the_score_among_the_rung(score, others, eta, expected):
    assert continues(score, others, eta) is expected


SCORES = st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(score=SCORES, others=st.lists(SCORES, min_size=1, max_size=30), eta=st.integers(2, 5))
def test_the_strict_worst_stops_and_the_best_continues(score, others, eta):
    if all(o > score for o in others):
        assert not continues(score, others, eta)
    if all(o <= score for o in others):
        assert continues(score, others, eta)


@settings(max_examples=200, deadline=None)
@given(scores=st.lists(SCORES, min_size=1, max_size=30, unique=True), eta=st.integers(2, 5))
def test_exactly_the_rung_quota_of_distinct_scores_continues(scores, eta):
    kept = [s for i, s in enumerate(scores) if continues(s, scores[:i] + scores[i + 1:], eta)]
    assert len(kept) == rung_quota(len(scores), eta)
    assert sorted(kept) == sorted(scores)[len(scores) - len(kept):]


def test_brackets_take_trials_round_robin_with_their_own_rungs(save_path):
    hpo = create(save_path, search_alg="asha", num_trials=8, max_iterations=8, num_brackets=3)

    configs = run_loop(hpo)

    assert [c["bracket"] for c in configs] == [0, 1, 2, 0, 1, 2, 0, 1]
    assert hpo.plan.brackets == tuple(tuple(asha_rungs(1, 8, 2, b)) for b in range(3))
    for config in configs:
        assert config["rungs"] == list(hpo.plan.brackets[config["bracket"]])
    assert [t.bracket for t in stored(save_path)[0]] == [c["bracket"] for c in configs]


def test_get_next_sample_never_waits_for_running_trials_and_ends_at_num_trials(save_path):
    """Each HPO object holds one trial that never reports; the next object
    still gets a trial at once, until the plan is handed out."""
    holders = [create(save_path, search_alg="asha", num_trials=5, resume=True) for _ in range(6)]

    configs = [h.get_next_sample() for h in holders]

    assert [c["trial_id"] for c in configs[:5]] == [0, 1, 2, 3, 4]
    assert configs[5] is None
    assert [t.state.value for t in stored(save_path)[0]] == ["running"] * 5


#: each trial's score at every epoch, by trial id (one bracket, rungs 1, 2, 4; eta 2)
PER_TRIAL = [0.5, 0.9, 0.1, 0.95, 0.05, 0.7]
EXPECTED = {
    0: ("completed", 8),   # alone at every rung
    1: ("completed", 8),   # best at every rung
    2: ("stopped", 1),     # 3rd of 3 at rung 1 (quota 1)
    3: ("completed", 8),   # the top trial
    4: ("stopped", 1),     # 5th of 5 at rung 1 (quota 2)
    5: ("stopped", 2),     # 3rd of 6 at rung 1 (quota 3), 3rd of 4 at rung 2 (quota 2)
}


@pytest.mark.parametrize("mode, sign", [("max", 1.0), ("min", -1.0)])
def test_worse_trials_stop_at_rungs_and_the_top_trial_runs_to_the_end(mode, sign, save_path):
    """mode='min' gets the negated scores: lower is better, the same trials win."""
    hpo = create(save_path, search_alg="asha", mode=mode, num_trials=6, max_iterations=8)
    assert hpo.plan.brackets == ((1, 2, 4),)
    reports = {}

    def trainer(config):
        tid = config["trial_id"]
        reports[tid] = train(config, lambda params, epoch: sign * PER_TRIAL[tid])

    run_loop(hpo, trainer)

    trials = stored(save_path)[0]
    assert {t.trial_id: (t.state.value, t.last_iteration) for t in trials} == EXPECTED
    # the trainer was told STOP at exactly the report that ended the trial
    assert reports == {tid: iterations for tid, (_, iterations) in EXPECTED.items()}
    assert trials[5].rungs == {1: sign * 0.7, 2: sign * 0.7}
    assert hpo.get_best_config() == trials[3].params


def test_trials_are_compared_with_their_own_bracket_once_eta_scores_are_there(save_path):
    hpo = create(save_path, search_alg="asha", num_trials=4, max_iterations=8, num_brackets=2)
    assert hpo.plan.brackets == ((1, 2, 4), (2, 4))
    per_trial = [0.9, 0.9, 0.1, 0.1]   # brackets 0, 1, 0, 1

    run_loop(hpo, lambda c: train(c, lambda params, epoch: per_trial[c["trial_id"]]))

    trials = stored(save_path)[0]
    assert [(t.bracket, t.state.value, t.last_iteration) for t in trials] == [
        (0, "completed", 8), (1, "completed", 8), (0, "stopped", 1), (1, "stopped", 2)]


def test_a_rung_records_the_score_at_that_epoch_not_the_best_so_far(save_path):
    """The best config is ranked by its final score (hpopt.best), so rungs rank
    by the score at the milestone: a curve that peaked at epoch 1 and fell
    back is judged by where it is now."""
    hpo = create(save_path, search_alg="asha", num_trials=2, max_iterations=8)
    assert hpo.plan.brackets == ((1, 2, 4),)

    def score(tid, epoch):
        return 0.5 if tid == 0 else (0.9 if epoch == 1 else 0.3)

    run_loop(hpo, lambda c: train(c, lambda params, epoch: score(c["trial_id"], epoch)))

    trials = stored(save_path)[0]
    assert trials[1].rungs == {1: 0.9, 2: 0.3}
    assert (trials[1].state.value, trials[1].last_iteration) == ("stopped", 2)


def test_a_brackets_first_arrival_ranks_against_every_bracket_at_that_epoch(save_path):
    """Bracket 1's first trial meets no score of its own bracket at epoch 2:
    it ranks against bracket 0's there instead of training to the end unranked."""
    hpo = create(save_path, search_alg="asha", num_trials=2, max_iterations=8, num_brackets=2)
    assert hpo.plan.brackets == ((1, 2, 4), (2, 4))
    per_trial = [0.9, 0.1]   # brackets 0, 1

    run_loop(hpo, lambda c: train(c, lambda params, epoch: per_trial[c["trial_id"]]))

    trials = stored(save_path)[0]
    assert [(t.bracket, t.state.value, t.last_iteration) for t in trials] == [
        (0, "completed", 8), (1, "stopped", 2)]


@pytest.mark.parametrize("ratio, workers, brackets", [
    (2, 1, 1), (9, 1, 1),       # budgets of 1 and 8 full trainings: one bracket
    (13, 1, 2), (31, 1, 5),     # 12 and 30: as many as Hyperband's accounting holds (6 each)
    (9, 4, 5), (101, 1, 6),     # 8 on 4 workers holds 5; never more than exist (6)
])
def test_auto_config_chooses_brackets_from_the_budget(ratio, workers, brackets):
    """20 epochs, eta 2: rungs 1, 2, 4, 8, 16, so 6 brackets exist, and each of
    Hyperband's costs about 6 full trainings."""
    p = plan("asha", 10_000, 20, expected_time_ratio=ratio, num_workers=workers)
    assert p.num_brackets == brackets
    assert len(p.brackets) == brackets


def test_brackets_the_user_sets_are_kept_whatever_the_budget():
    assert plan("asha", 10_000, 20, expected_time_ratio=31, num_brackets=1).num_brackets == 1
    assert plan("asha", 10_000, 20, expected_time_ratio=2, num_brackets=3).num_brackets == 3
