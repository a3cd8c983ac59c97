"""The time model (hpopt.timing) and the ETA that runs on it (hpopt.progress.eta_seconds)."""
import pytest

import hpopt
from hpopt import progress, timing
from hpopt.plan import epoch_cost
from hpopt.snapshot import Meta
from hpopt.status import TrialState
from hpopt.storage import TrialRecord
from hpopt.timing import TimeModel, measure, own_seconds_per_epoch, pace

P = 0.2   # non_pure_train_ratio


def row(startup, per_full_epoch, epochs, subset=1.0):
    """What the engine records for a trial of ``epochs`` reports: (epoch_seconds,
    epoch_count, first_report, subset, p), its epochs ``per_full_epoch`` each."""
    epoch = per_full_epoch * epoch_cost(subset, P)
    return (epoch * (epochs - 1), epochs - 1, startup + epoch, subset, P)


def test_start_up_and_epoch_time_are_told_apart_and_subsets_count_in_full_epochs():
    rows = [row(3.0, 0.5, 10), row(3.0, 0.5, 4, subset=0.25), row(3.0, 0.5, 2, subset=0.5)]
    model = measure(rows)
    assert model.seconds_per_epoch == pytest.approx(0.5)
    assert model.startup_seconds == pytest.approx(3.0)
    assert (model.epochs, model.trials) == (9 + 3 + 1, 3)
    assert model.describe() == "measured over 13 epochs of 3 trials"


def test_trials_with_one_report_time_no_epoch_and_nothing_timed_is_no_model():
    assert measure([row(3.0, 0.5, 1), row(3.0, 0.5, 1)]) is None
    assert measure([]) is None


def test_latest_counts_only_the_newest_timed_trials():
    newest_first = [row(1.0, 0.2, 5), row(1.0, 0.2, 5), row(1.0, 2.0, 30)]
    assert measure(newest_first, latest=2).seconds_per_epoch == pytest.approx(0.2)
    assert measure(newest_first).seconds_per_epoch > 1.0


def test_pace_follows_the_configs_tried_now_not_the_long_trials_of_the_start():
    """ASHA's first trial trains to the end (nothing to rank it against) and
    weighs most in an epoch-weighted model; the configs drawn since are
    faster and mostly stop after one epoch, which an interval model never times."""
    newest_first = [row(1.0, 0.2, 1)] * 8 + [row(1.0, 0.2, 3)] * 2 + [row(1.0, 2.0, 30)]
    model = measure(newest_first)
    assert model.seconds_per_epoch > 1.5
    assert model.startup_seconds == pytest.approx(1.0)
    fast = pace(model, newest_first, latest=10)
    assert fast.seconds_per_epoch == pytest.approx(0.2)
    assert fast.startup_seconds == model.startup_seconds
    assert pace(model, newest_first).seconds_per_epoch == pytest.approx((10 * 0.2 + 2.0) / 11)


def _study(tmp_path, **kw):
    hpo = hpopt.create(search_alg="asha", search_space={"x": hpopt.search_space("uniform", [0, 1])},
                       full_dataset_size=1000, num_full_iterations=20, expected_time_ratio=4, num_workers=2,
                       save_path=str(tmp_path), hard_budget=True, **kw)
    with hpo.storage.locked() as raw:
        return Meta.from_dict(raw)


def test_a_running_trial_timed_over_two_epochs_runs_out_its_rest_at_its_own_speed(tmp_path):
    meta = _study(tmp_path, num_brackets=1, min_iterations=20)
    subset = meta.plan.subset_ratio
    slow = TrialRecord(0, {"x": 0.5}, 20, subset, state=TrialState.RUNNING, last_iteration=3,
                       epoch_seconds=2 * 10.0 * meta.plan.epoch_cost(subset), epoch_count=2)
    assert own_seconds_per_epoch(slow, meta.plan) == pytest.approx(10.0)
    assert own_seconds_per_epoch(TrialRecord(1, {}, 20, subset, epoch_seconds=1.0, epoch_count=1),
                                 meta.plan) is None
    model = TimeModel(1.0, 0.0, "measured")
    p = progress.progress(meta, slow.spent, [slow], 1)
    eta = progress.eta_seconds(meta, p, [slow], 2, model)
    assert eta >= 17 * meta.plan.epoch_cost(subset) * 10.0, "its 17 epochs left at 10 s, not at the model's 1 s"


def test_the_last_end_is_the_median_of_the_last_trial_to_end():
    # one trial: where its chance to train that far falls to one half
    assert progress.last_end([[(1.0, 1.0), (3.0, 0.5), (7.0, 0.25)]], 0.0) == 3.0
    # two trials, each a quarter's chance of 10 s: none gets there more likely than not (9/16)
    two = [[(2.0, 1.0), (10.0, 0.25)]] * 2
    assert progress.last_end(two, 0.0) == 2.0
    # three: one of them does (1 - 27/64)
    assert progress.last_end(two + two[:1], 0.0) == 10.0
    # ends no later than ``past`` do not count
    assert progress.last_end(two, 5.0) == 0.0


def test_a_fresh_asha_trial_near_the_budget_s_end_is_not_expected_to_run_to_its_end(tmp_path):
    # the budget has left what the one running trial is expected to spend: it will
    # most likely stop at a rung, so its full length is not the ETA
    meta = _study(tmp_path, num_brackets=1)
    algorithm = hpopt.algorithms.build(meta)
    fresh = TrialRecord(9, {"x": 0.5}, 20, meta.plan.subset_ratio, state=TrialState.RUNNING)
    rungs = algorithm.milestones(fresh)
    assert rungs and rungs[0] < 20
    spent = meta.plan.budget_compute - algorithm.expected_cost_left(fresh)
    p = progress.progress(meta, spent, [fresh], 10)
    epoch = algorithm.epoch_cost(fresh)   # at 1 s per full epoch

    eta = progress.eta_seconds(meta, p, [fresh], 2, TimeModel(1.0, 0.0, "measured"))

    assert rungs[0] * epoch <= eta < 20 * epoch


def test_new_trials_cost_what_the_study_s_trials_cost_so_far(tmp_path):
    # four trials spent (or will spend) twice the plan's cost per trial: what is left
    # pays for two more such trials, each as long as theirs, not four of the plan's
    meta = _study(tmp_path)
    cost = meta.plan.trial_cost_epochs()
    p = progress.Progress(0.5, 4 * 2 * cost, 4 * 2 * cost + 2 * 2 * cost, 2 * 2 * cost, created=4)

    eta = progress.eta_seconds(meta, p, [], 64, TimeModel(1.0, 0.0, "measured"))

    assert eta >= 2 * cost


def test_the_eta_of_a_study_whose_trials_spent_nothing_is_finite(tmp_path):
    # trials that failed before their first report spent nothing: the ETA still
    # schedules what is left at a trial's least cost (start-up and one epoch)
    meta = _study(tmp_path)
    p = progress.Progress(0.0, 0.0, meta.plan.budget_compute, meta.plan.budget_compute, created=5)

    eta = progress.eta_seconds(meta, p, [], 2, TimeModel(1.0, 0.0, "measured"))

    budget = meta.plan.budget_compute   # at 1 s per full epoch
    assert budget / 2 <= eta <= budget / 2 + meta.plan.max_iterations


def test_an_eta_over_many_cheap_trials_is_the_work_spread_over_the_workers(tmp_path):
    # more new trials than are scheduled one by one: the rest go in rounds on every
    # worker, and the ETA is still the work left over the workers
    meta = _study(tmp_path)
    cost = meta.plan.startup_epochs + meta.plan.epoch_cost()
    left = 3 * progress.MAX_PIECES * cost
    p = progress.Progress(0.0, 0.0, left, left, created=10 ** 6)

    eta = progress.eta_seconds(meta, p, [], 4, TimeModel(1.0, 0.0, "measured"))

    assert left / 4 <= eta <= left / 4 + meta.plan.max_iterations


def test_no_new_trial_is_scheduled_past_the_deadline(tmp_path):
    # the runner starts a new trial only while it is expected to end by the deadline:
    # the ETA ends with the last trial that fits, not at the deadline
    meta = _study(tmp_path, num_brackets=1, min_iterations=20)   # every trial runs its 20 epochs
    model = TimeModel(1.0, 2.0, "measured")
    one = timing.new_trial_seconds(meta.plan, model)
    p = progress.progress(meta, 0.0, [], 0)
    assert p.remaining > 6 * meta.plan.trial_cost_epochs(), "the compute left pays for more than fits"

    eta = progress.eta_seconds(meta, p, [], 1, model, until=3.5 * one)

    assert eta == pytest.approx(3 * one)
    assert progress.eta_seconds(meta, p, [], 1, model) > 6 * one, "without a deadline the compute decides"


def test_a_running_trial_s_eta_counts_down_between_its_reports(tmp_path):
    # the ETA stood still while a trial trained an epoch, and left out the start-up
    # of a trial that had just started
    meta = _study(tmp_path, num_brackets=1, min_iterations=20)   # every trial runs its 20 epochs
    subset = meta.plan.subset_ratio
    epoch = meta.plan.epoch_cost(subset)   # seconds, at 1 s per full epoch
    model = TimeModel(1.0, 3.0, "measured")
    starting = TrialRecord(0, {"x": 0.5}, 20, subset, state=TrialState.RUNNING, started=100.0)

    def eta(trial, now):
        left = (20 - trial.last_iteration) * epoch   # nothing left for a new trial
        return progress.eta_seconds(meta, progress.Progress(0.5, 0.0, 20 * epoch, left, created=1), [trial], 2,
                                    model, now=now)

    assert eta(starting, 100.0) == pytest.approx(3.0 + 20 * epoch), "its start-up is ahead of it"
    assert eta(starting, 101.0) == pytest.approx(2.0 + 20 * epoch)
    # late for its first report: that report is due now, and 19 epochs follow it
    assert eta(starting, 150.0) == pytest.approx(19 * epoch)
    training = starting.replace(last_iteration=5, reported=200.0)
    assert eta(training, 200.0) == pytest.approx(15 * epoch)
    assert eta(training, 200.0 + epoch / 2) == pytest.approx(14.5 * epoch)


def test_a_new_trial_the_promotion_reserve_pays_for_starts_only_when_the_budget_is_freed(tmp_path):
    # near the end of the hard budget, the best candidate's way to full length is
    # kept from new trials (hpopt.budget): the idle worker gets no new trial until
    # the running one's next rung decides whether it goes on, and with the deadline
    # near that is too late to start one (the ETA gave it one more trial to run)
    meta = _study(tmp_path, num_brackets=1)
    algorithm = hpopt.algorithms.build(meta)
    subset = meta.plan.subset_ratio
    epoch = meta.plan.epoch_cost(subset)
    deep = TrialRecord(0, {"x": 0.5}, 20, subset, state=TrialState.RUNNING, last_iteration=4, rungs={4: 0.5},
                       started=0.0, reported=0.0, spent=4 * epoch)
    assert algorithm.stretches(deep)[0][0] == 4, "its next rung is 8"
    model = TimeModel(1.0, 8.0, "measured")   # a new trial, start-up and all, ends after the running one
    left = algorithm.expected_cost_left(deep)
    spent = deep.spent + 3 * epoch   # three more trials, stopped at rung 1
    cost = (spent + left) / 4   # what a new trial is expected to cost
    held = algorithm.certain_cost(deep) + algorithm.promotion_reserve([deep])
    assert left + cost < held, "the budget's expectation pays for a new trial, its reserve does not"
    until = 4 * epoch + timing.new_trial_seconds(meta.plan, model) - 0.1   # one may start before rung 8 only

    def eta(m, remaining):
        p = progress.Progress(0.5, spent, spent + remaining, remaining, created=4)
        return progress.eta_seconds(m, p, [deep], 2, model, until=until, now=0.0)

    alone = eta(meta, left)
    assert eta(meta, left + cost) == pytest.approx(alone)
    free = meta.replace(settings={**meta.raw["settings"], "hard_budget": False})
    assert eta(free, left + cost) > alone, "without the hard budget the new trial starts now"


def test_a_budget_refusal_while_trials_ran_is_not_the_end_once_they_end_with_room_left(tmp_path):
    # the runner asks for a new trial while others run and the reserve refuses it; when
    # they end, the idle rule may start one more: the bar showed 100% and fell back to 93%
    meta = _study(tmp_path, num_brackets=1).replace(budget_refused=True)
    algorithm = hpopt.algorithms.build(meta)
    first = algorithm.first_stretch_cost(5)
    budget = meta.plan.budget_compute
    room = progress.progress(meta, budget - 2 * first, [], 5)
    assert room.fraction < 1.0 and room.remaining > 0, "one more trial's first stretch fits: not done"
    assert progress.progress(meta, budget - first / 2, [], 5).fraction == 1.0, "nothing fits: done"
    running = TrialRecord(4, {"x": 0.5}, 20, meta.plan.subset_ratio, state=TrialState.RUNNING)
    assert progress.progress(meta, budget - 2 * first, [running], 5).fraction < 1.0
