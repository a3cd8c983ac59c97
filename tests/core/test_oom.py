"""hpopt.reportOOM(): the trial runs again with a smaller batch size, the bound
sticks (also across resume, defect 2), and the study fails clearly when even
the smallest batch size does not fit. (How few re-runs, and bounds per model:
tests/core/test_oom_bisect.py.)"""
import pytest
from conftest import MAX_LOOP, create, stored, train

import hpopt

#: the fake GPU holds batches of at most this size
FITS = 40


def oom_space():
    # two thirds of the sizes do not fit: the first trials run out of memory
    return {"lr": hpopt.search_space("loguniform", [1e-4, 1e-1]),
            "bs": hpopt.search_space("qloguniform", [16, 256, 8])}


def fake_trainer(config):
    if config["params"]["bs"] > FITS:
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
    train(config)


def guide_loop(hpo, limit=None):
    """The guide's loop with OOM handling; returns [(config, oom?)]."""
    handed = []
    while limit is None or len(handed) < limit:
        config = hpo.get_next_sample()
        if config is None:
            break
        try:
            fake_trainer(config)
            handed.append((config, False))
        except RuntimeError as err:
            if not str(err).startswith("CUDA out of memory"):
                raise
            handed.append((config, True))
            assert hpopt.reportOOM(config) == hpopt.Status.CUDAOOM
        assert len(handed) <= MAX_LOOP, "the guide's loop does not end"
    return handed


@pytest.mark.parametrize("alg, space_type", [("baye_opt", "qloguniform"), ("asha", "qloguniform"),
                                             ("asha", "quniform")])
def test_an_oom_trial_runs_again_below_the_failed_size_and_later_samples_stay_below(
        alg, space_type, save_path):
    space = dict(oom_space(), bs=hpopt.search_space(space_type, [16, 256, 8]))
    hpo = create(save_path, search_alg=alg, search_space=space, batch_size_name="bs",
                 num_trials=8, num_init_trial=3, seed=1)

    handed = guide_loop(hpo)

    assert any(oom for _, oom in handed)
    bound = None
    for (config, oom), (after, _) in zip(handed, handed[1:]):
        if oom:
            # the same trial again, the same config, at a size below the failed one
            assert after["trial_id"] == config["trial_id"]
            assert 16 <= after["params"]["bs"] < config["params"]["bs"]
            assert after["params"]["lr"] == config["params"]["lr"]
            bound = config["params"]["bs"] if bound is None else min(bound, config["params"]["bs"])
        if bound is not None:
            assert after["params"]["bs"] < bound
    trials = stored(save_path)[0]
    assert len(trials) == 8
    assert all(t.state.value in ("completed", "stopped") for t in trials)
    assert all(t.params["bs"] <= FITS for t in trials)
    # a bisection over the 31 sizes: a handful of re-runs in all, not one per size
    assert sum(t.oom_count for t in trials) <= 2 * 5


def test_an_oom_rerun_starts_from_scratch(save_path):
    hpo = create(save_path, search_alg="asha", search_space=oom_space(), num_trials=4, seed=2)
    config = hpo.get_next_sample()
    hpopt.report(config=config, score=0.5)

    hpopt.reportOOM(config)

    trial = stored(save_path)[0][0]
    assert (trial.state.value, trial.last_iteration, trial.best_score) == ("queued", 0, None)
    assert stored(save_path)[1] == {}
    again = hpo.get_next_sample()
    assert (again["trial_id"], again["attempt"]) == (0, 2)


def test_resume_after_an_oom_works_and_keeps_the_shrunk_bound(save_path):
    args = dict(search_alg="asha", search_space=oom_space(), batch_size_name="bs", num_trials=12,
                seed=3)
    handed = guide_loop(create(save_path, **args), limit=8)
    failed = [c["params"]["bs"] for c, oom in handed if oom]
    assert failed, "the first trials should have run out of memory"

    resumed = create(save_path, resume=True, **args)
    rest = guide_loop(resumed)

    assert rest and all(c["params"]["bs"] < min(failed) for c, _ in rest)
    trials = stored(save_path)[0]
    assert [t.trial_id for t in trials] == list(range(12))
    assert all(t.state.is_finished() for t in trials)


def test_resume_with_another_search_space_is_refused(save_path):
    create(save_path, search_alg="asha", search_space=oom_space(), num_trials=3)
    other = dict(oom_space(), bs=hpopt.search_space("qloguniform", [8, 256, 8]))

    with pytest.raises(hpopt.HpoError, match="search space"):
        create(save_path, search_alg="asha", search_space=other, resume=True)


def always_oom(config):
    raise RuntimeError("CUDA out of memory.")


def test_when_even_the_smallest_batch_size_fails_the_study_fails_clearly(save_path):
    space = dict(oom_space(), bs=hpopt.search_space("quniform", [16, 64, 16]))
    hpo = create(save_path, search_alg="asha", search_space=space, batch_size_name="bs",
                 num_trials=4, seed=4)
    sizes = []

    with pytest.raises(hpopt.HpoError, match="smallest batch size 16") as excinfo:
        while (config := hpo.get_next_sample()) is not None:
            sizes.append(config["params"]["bs"])
            try:
                always_oom(config)
            except RuntimeError:
                hpopt.reportOOM(config)

    assert "bs" in str(excinfo.value)
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] == 16
    assert stored(save_path)[0][0].state.value == "failed"
    with pytest.raises(hpopt.HpoError, match="smallest batch size"):
        hpo.get_next_sample()
    again = create(save_path, search_alg="asha", search_space=space, batch_size_name="bs",
                   resume=True)
    with pytest.raises(hpopt.HpoError, match="smallest batch size"):
        again.get_next_sample()


def test_without_batch_size_name_a_trial_that_runs_out_of_memory_three_times_fails(save_path):
    hpo = create(save_path, search_alg="asha", search_space=oom_space(), num_trials=3, seed=5)
    answers, attempts = [], []

    while (config := hpo.get_next_sample()) is not None:
        if config["trial_id"] == 0:
            attempts.append(config["params"])
            answers.append(hpopt.reportOOM(config))
        else:
            train(config)

    assert answers == [hpopt.Status.CUDAOOM, hpopt.Status.CUDAOOM, hpopt.Status.STOP]
    assert attempts == [attempts[0]] * 3   # run again unchanged
    trials = stored(save_path)[0]
    assert trials[0].state.value == "failed" and "out of memory" in trials[0].error
    assert len(trials) == 3 and all(t.state.is_finished() for t in trials)


def test_report_oom_on_a_finished_trial_answers_stop_and_changes_nothing(save_path):
    hpo = create(save_path, search_alg="asha", search_space=oom_space(), batch_size_name="bs",
                 num_trials=2, seed=6)
    config = hpo.get_next_sample()
    train(config)
    before = stored(save_path)

    assert hpopt.reportOOM(config) == hpopt.Status.STOP

    assert stored(save_path) == before


def test_a_queued_rerun_respects_a_bound_lowered_after_it_was_queued(save_path):
    """Two workers: A's trial fails at a large size and waits to run again;
    then B's fails at a smaller size. A's re-run must fit under B's bound."""
    # a wide range: the smaller of two samples is all but surely above the lowest size
    space = dict(oom_space(), bs=hpopt.search_space("quniform", [16, 1024, 8]))
    args = dict(search_alg="asha", search_space=space, batch_size_name="bs", num_trials=4,
                resume=True, seed=7)
    a, b = create(save_path, **args), create(save_path, **args)
    first, second = a.get_next_sample(), b.get_next_sample()
    large, small = sorted([first, second], key=lambda c: -c["params"]["bs"])

    hpopt.reportOOM(large)
    hpopt.reportOOM(small)

    rerun = [a.get_next_sample(), b.get_next_sample()]
    assert {c["trial_id"] for c in rerun} == {0, 1}
    assert all(c["params"]["bs"] < small["params"]["bs"] for c in rerun)
