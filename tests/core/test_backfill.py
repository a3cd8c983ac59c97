"""ASHA's backfill: once num_trials are handed out while trials still run,
idle workers get extra, shorter trials that end before the plan's trials do.

Several workers are simulated by interleaving engine.next_sample and
engine.report on one FileStorage in an event loop: each worker trains its
trial epoch by epoch, at its own speed per epoch."""
import heapq

import pytest
from conftest import accuracy, create, run_loop, stored

from hpopt import best, engine, progress
from hpopt.snapshot import Meta
from hpopt.status import Status, TrialState
from hpopt.storage.base import TrialRecord
from hpopt.storage.file import FileStorage

NUM_TRIALS, MAX_IT = 12, 8   # one bracket, rungs 1, 2, 4 (eta 2)
RUNGS = (1, 2, 4)


def expected_bound(trials, num_trials) -> int:
    """The budget of a backfill trial, recomputed from the rule: over the
    plan's running or queued trials, the epochs to the next rung (or the end),
    less the epoch a running trial is in the middle of."""
    best = 0
    for t in trials[:num_trials]:
        if t.state is TrialState.RUNNING:
            at = t.last_iteration
            best = max(best, next((m for m in RUNGS if m > at), t.iterations) - at - 1)
        elif t.state is TrialState.QUEUED:
            at = t.resume_iteration
            best = max(best, next((m for m in RUNGS if m > at), t.iterations) - at)
    return best


def simulate(save_path, workers: int, speeds=None, **kwargs):
    """Runs the study on ``workers`` simulated workers; returns (storage, log)
    where log holds, per trial handed out, (trial_id, iterations, trials
    before it, the bound then, how many of the plan's trials were active)."""
    kwargs.setdefault("num_brackets", 1)   # expected_bound reads bracket 0's RUNGS
    hpo = create(save_path, search_alg="asha", num_trials=NUM_TRIALS, max_iterations=MAX_IT,
                 num_workers=workers, seed=3, **kwargs)
    storage = hpo.storage
    speeds = speeds or [1.0 + 0.37 * w for w in range(workers)]
    events = [(0.0, w, w, None) for w in range(workers)]
    heapq.heapify(events)
    seq, log = workers, []
    while events:
        now, _, w, run = heapq.heappop(events)
        if run is None:
            with storage.locked():
                before = storage.trials()
                bound = expected_bound(before, NUM_TRIALS)
                active = sum(t.state.is_active() for t in before[:NUM_TRIALS])
            config = engine.next_sample(storage, f"w{w}")
            if config is None:
                continue
            log.append((config["trial_id"], config["iterations"], len(before), bound, active))
            run = {"config": config, "epoch": 1}
        else:
            config = run["config"]
            status = engine.report(storage, config["trial_id"], accuracy(config["params"], run["epoch"]), run["epoch"])
            if status == Status.STOP:
                engine.finish(storage, config["trial_id"])
                seq += 1
                heapq.heappush(events, (now, seq, w, None))
                continue
            run["epoch"] += 1
        seq += 1
        heapq.heappush(events, (now + speeds[w], seq, w, run))
    return storage, log


@pytest.mark.parametrize("workers", [3, 4, 7])
def test_backfill_trials_come_only_after_the_plan_and_within_the_bound(save_path, workers):
    storage, log = simulate(save_path, workers)
    trials, scores = stored(save_path)
    backfill = [entry for entry in log if entry[0] >= NUM_TRIALS]

    assert backfill, "idle workers got extra trials while the last ones ran"
    assert [entry[0] for entry in log] == list(range(len(trials)))
    for tid, iterations, before, bound, active in log:
        if tid < NUM_TRIALS:
            assert iterations == MAX_IT
        else:
            assert before >= NUM_TRIALS, "backfill only once the plan is handed out"
            assert active >= 1, "backfill only while trials of the plan run"
            assert 1 <= iterations == bound < MAX_IT
    for t in trials:
        assert t.state in (TrialState.COMPLETED, TrialState.STOPPED)
        assert t.last_iteration <= t.iterations
        assert [i for i, _ in scores[t.trial_id]] == list(range(1, t.last_iteration + 1))
        if t.trial_id >= NUM_TRIALS:
            assert all(m < t.iterations for m in t.rungs), "its rungs end below its budget"


def test_a_backfill_trial_stops_once_the_plan_is_done(save_path):
    """Trial 0 reaches rung 4 alone (4 certain epochs left, one in progress),
    trial 1 stops at rung 1: the idle worker gets a 3-epoch backfill trial
    with rungs 1 and 2. When trial 0 ends, the study is over: the backfill
    trial is told STOP at its next report, and nothing more is handed out."""
    hpo = create(save_path, search_alg="asha", num_trials=2, max_iterations=MAX_IT, num_workers=2, seed=0)
    storage = hpo.storage
    first, second = engine.next_sample(storage, "a"), engine.next_sample(storage, "b")
    for epoch in range(1, 5):
        assert engine.report(storage, first["trial_id"], 0.9, epoch) == Status.RUNNING
    assert engine.report(storage, second["trial_id"], 0.1, 1) == Status.STOP

    extra = engine.next_sample(storage, "b")
    assert (extra["trial_id"], extra["iterations"], extra["rungs"]) == (2, 3, [1, 2])
    assert engine.report(storage, 2, 0.95, 1) == Status.RUNNING   # tops rung 1
    engine.finish(storage, first["trial_id"], error="the trainer crashed")
    assert engine.report(storage, 2, 0.96, 2) == Status.STOP      # tops rung 2, but the plan is done
    assert engine.next_sample(storage, "a") is None
    with storage.locked():
        assert storage.get_trial(2).state is TrialState.STOPPED
        assert progress.of_trials(Meta.from_dict(storage.load_meta()), storage.trials()).fraction == 1.0


def test_no_backfill_while_the_plan_has_no_whole_epoch_left_to_start(save_path):
    hpo = create(save_path, search_alg="asha", num_trials=1, max_iterations=MAX_IT, num_workers=2, seed=0)
    storage = hpo.storage
    engine.next_sample(storage, "a")
    assert engine.next_sample(storage, "b") is None   # 1 epoch to rung 1, in progress
    engine.report(storage, 0, 0.5, 1)
    assert engine.next_sample(storage, "b") is None   # 1 epoch to rung 2, in progress
    engine.report(storage, 0, 0.5, 2)
    assert engine.next_sample(storage, "b")["iterations"] == 1   # 2 epochs to rung 4


def test_a_single_process_loop_creates_exactly_num_trials(save_path):
    hpo = create(save_path, search_alg="asha", num_trials=NUM_TRIALS, max_iterations=MAX_IT, seed=1)
    configs = run_loop(hpo)
    trials, _ = stored(save_path)
    assert len(configs) == len(trials) == NUM_TRIALS
    assert {t.iterations for t in trials} == {MAX_IT}
    assert hpo.get_progress() == 1.0


def test_without_backfill_several_workers_create_exactly_num_trials(save_path):
    simulate(save_path, 4, backfill=False)
    trials, _ = stored(save_path)
    assert len(trials) == NUM_TRIALS and {t.iterations for t in trials} == {MAX_IT}


def test_progress_reaches_one_with_backfill_trials(save_path):
    simulate(save_path, 4)
    storage = FileStorage(str(save_path))
    with storage.locked():
        assert progress.of_trials(Meta.from_dict(storage.load_meta()), storage.trials()).fraction == 1.0
        assert len(storage.trials()) > NUM_TRIALS


def _trial(tid, iterations, state, score):
    return TrialRecord(trial_id=tid, params={"lr": 0.01, "bs": 8}, iterations=iterations, subset_ratio=1.0,
                       state=state, best_score=score, last_iteration=iterations)


@pytest.mark.parametrize("mode, sign", [("max", 1), ("min", -1)])
def test_best_trial_prefers_full_length_trainings(save_path, mode, sign):
    hpo = create(save_path, search_alg="asha", num_trials=2, max_iterations=MAX_IT, mode=mode)
    storage = hpo.storage
    with storage.locked():
        add = storage.add_trial
        add(_trial(-1, MAX_IT, TrialState.RUNNING, sign * 0.99))       # 0: full length, still running
        add(_trial(-1, 3, TrialState.COMPLETED, sign * 0.95))          # 1: backfill, completed
        assert best.best_trial(storage.trials(), mode, MAX_IT).trial_id == 1, "only completed trial so far"
        add(_trial(-1, MAX_IT, TrialState.COMPLETED, sign * 0.60))     # 2: full length, completed
        add(_trial(-1, MAX_IT, TrialState.STOPPED, sign * 0.97))       # 3: stopped early
        add(_trial(-1, 2, TrialState.COMPLETED, sign * 0.99))          # 4: backfill, completed
        assert best.best_trial(storage.trials(), mode, MAX_IT).trial_id == 2
        add(_trial(-1, MAX_IT, TrialState.COMPLETED, sign * 0.70))     # 5: a better full training
        assert best.best_trial(storage.trials(), mode, MAX_IT).trial_id == 5
    assert hpo.get_best_config() == {"lr": 0.01, "bs": 8}
