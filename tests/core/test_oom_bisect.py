"""Out-of-memory re-runs bisect (hpopt.oom_bounds): a trial that fits at an
eighth of its sampled size re-runs a handful of times, not once per grid value
below it; what was learned is kept per memory key, so a wide model's OOM
does not lower the batch size of narrow ones; and a model that fits at no
size fails clearly while the others go on."""
import math

import pytest
from conftest import MAX_LOOP, create, stored, train

import hpopt

#: 256 sizes: 32, 64, ..., 8192 (log-uniform sampling, so big sizes are common)
BS = hpopt.search_space("qloguniform", [32, 8192, 32, 2])
GRID_STEPS = math.ceil(math.log2(256))


def loop(hpo, fits):
    """The guide's loop on a fake GPU: ``fits(params)`` says whether a config
    fits. Returns [(config, ran out of memory?)] in hand-out order."""
    handed = []
    while (config := hpo.get_next_sample()) is not None:
        try:
            if not fits(config["params"]):
                raise RuntimeError("CUDA out of memory. Tried to allocate 4.00 GiB")
            train(config)
            handed.append((config, False))
        except RuntimeError as exc:
            if not hpopt.is_out_of_memory(exc):
                raise
            handed.append((config, True))
            hpopt.reportOOM(config)
        assert len(handed) <= MAX_LOOP, "the guide's loop does not end"
    return handed


@pytest.mark.parametrize("seed", [1, 8, 19])   # first samples 6240, 7648, 5440
def test_a_trial_that_fits_at_an_eighth_of_its_sampled_size_reruns_a_few_times(seed, save_path):
    space = {"lr": hpopt.search_space("loguniform", [1e-4, 1e-1]), "bs": BS}
    hpo = create(save_path, search_alg="asha", search_space=space, batch_size_name="bs", num_trials=1, seed=seed)
    first = hpo.get_next_sample()
    sampled = first["params"]["bs"]
    assert sampled >= 2048, "with this seed the first trial samples a large batch size"
    limit = sampled // 8
    hpopt.reportOOM(first)

    handed = [(first, True)] + loop(hpo, lambda p: p["bs"] <= limit)

    reruns = [c for c, oom in handed if oom]
    # one grid step at a time would take (sampled - limit) / 32 re-runs (224 from 8192)
    assert len(reruns) <= GRID_STEPS, [c["params"]["bs"] for c, _ in handed]
    trial = stored(save_path)[0][0]
    assert trial.state.value in ("completed", "stopped") and trial.params["bs"] <= limit
    assert trial.oom_count == len(reruns) < (sampled - limit) // 32
    # halving on a failure: it runs within a factor 2 of the largest size that fits
    assert trial.params["bs"] > limit // 2


@pytest.mark.parametrize("seed", [0, 2, 3])   # seeds that sample narrow models too (not every seed does)
def test_a_wide_models_oom_does_not_lower_the_batch_size_of_narrow_ones(seed, save_path):
    space = {"lr": hpopt.search_space("loguniform", [1e-4, 1e-1]), "bs": BS,
             "width": hpopt.search_space("choice", [64, 512])}
    capacity = 64 * 1024   # a width-64 model fits up to bs 1024, a width-512 one up to 128
    hpo = create(save_path, search_alg="asha", search_space=space, batch_size_name="bs", num_trials=24, seed=seed)

    handed = loop(hpo, lambda p: p["bs"] * p["width"] <= capacity)

    trials = stored(save_path)[0]
    assert all(t.state.value in ("completed", "stopped") for t in trials)
    assert all(t.params["bs"] * t.params["width"] <= capacity for t in trials)
    narrow = [t.params["bs"] for t in trials if t.params["width"] == 64]
    assert len(narrow) >= 3, "with this seed the sampler tries narrow models too"
    assert max(narrow) > 128, "narrow models ran above the wide models' limit"
    for width in (64, 512):
        ooms = sum(1 for c, oom in handed if oom and c["params"]["width"] == width)
        # what was learned carries over between the trials of one width: a bisection, a few more
        # probes of sampled sizes between the largest that fitted and the smallest that failed
        assert ooms <= 2 * GRID_STEPS, (width, ooms)


def test_a_model_that_fits_at_no_size_fails_clearly_and_the_others_go_on(save_path):
    space = {"lr": hpopt.search_space("loguniform", [1e-4, 1e-1]), "bs": BS,
             "width": hpopt.search_space("choice", [64, 4096])}
    capacity = 64 * 1024   # width 4096 needs more than that at bs 32, the smallest size
    hpo = create(save_path, search_alg="asha", search_space=space, batch_size_name="bs", num_trials=12, seed=6)

    handed = loop(hpo, lambda p: p["bs"] * p["width"] <= capacity)

    trials = stored(save_path)[0]
    wide = [t for t in trials if t.params["width"] == 4096]
    narrow = [t for t in trials if t.params["width"] == 64]
    message = "parameter 'bs': even the smallest batch size 32 ran out of memory with width=4096"
    # the first wide trial learns it (halving down to 32), and fails saying so
    assert [t.error for t in wide if t.state.value == "failed"] == [message]
    # later wide trials are not run at all
    ran = {c["trial_id"] for c, _ in handed}
    for t in wide:
        if t.state.value != "failed":
            assert (t.state.value, t.stop_reason, t.attempt) == ("stopped", f"not run: {message}", 0)
            assert t.trial_id not in ran
    assert narrow and all(t.state.value in ("completed", "stopped") and t.attempt >= 1 for t in narrow)
    assert hpo.get_next_sample() is None   # the study ended normally, it did not fail


def test_when_no_model_fits_at_any_size_the_study_fails_clearly(save_path):
    space = {"lr": hpopt.search_space("loguniform", [1e-4, 1e-1]), "bs": BS,
             "width": hpopt.search_space("choice", [2048, 4096])}
    hpo = create(save_path, search_alg="asha", search_space=space, batch_size_name="bs", num_trials=12, seed=6)

    with pytest.raises(hpopt.HpoError, match="no model fits at any batch size; the study cannot continue"):
        loop(hpo, lambda p: p["bs"] * p["width"] <= 1024)

    trials = stored(save_path)[0]
    assert {t.params["width"] for t in trials if t.state.value == "failed"} == {2048, 4096}
    assert len(trials) <= 2 + 12   # it ended: no endless stream of trials that cannot run
