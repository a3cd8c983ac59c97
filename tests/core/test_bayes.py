"""Bayesian optimization: reproducible seeds, kappa decay, the constant liar,
median stopping, string choices (defect 1) and the sign in mode 'min' (defect 3)."""
import bayes_opt
import numpy as np
import pytest
from conftest import create, run_loop, stored, train

import hpopt
from hpopt.algorithms.bayes import BayesOpt
from hpopt.algorithms.ucb import BudgetedUCB
from hpopt.plan import plan
from hpopt.settings import make_settings
from hpopt.space import SearchSpace


@pytest.fixture
def registered(monkeypatch):
    """Every (point, target) the optimizer's GP is fitted on (BudgetedUCB
    hands them to bayes_opt's GP in one fit), however hpopt feeds it; also
    counts suggestions."""
    seen = {"points": [], "targets": [], "suggestions": 0}
    fit, suggest = BudgetedUCB._fit_gp, bayes_opt.BayesianOptimization.suggest

    def spy_fit(self, gp, target_space):
        xs, ys = self.observations
        seen["points"] += [np.asarray(x, float) for x in xs]
        seen["targets"] += [float(y) for y in ys]
        return fit(self, gp, target_space)

    def spy_suggest(self, *args, **kwargs):
        seen["suggestions"] += 1
        return suggest(self, *args, **kwargs)

    monkeypatch.setattr(BudgetedUCB, "_fit_gp", spy_fit)
    monkeypatch.setattr(bayes_opt.BayesianOptimization, "suggest", spy_suggest)
    return seen


def one_dim_space():
    return {"x": hpopt.search_space("uniform", [0.0, 1.0])}


def bowl(params, epoch):
    """A loss (lower is better) with its minimum 0.01 at x = 0.3."""
    return (params["x"] - 0.3) ** 2 + 0.01


def params_sequence(save_path, seed):
    hpo = create(save_path, search_alg="baye_opt", num_trials=8, num_init_trial=3, seed=seed,
                 max_iterations=2)
    return [c["params"] for c in run_loop(hpo)]


def test_the_same_seed_gives_the_same_configs_in_a_fresh_study(tmp_path):
    first = params_sequence(tmp_path / "a", seed=11)
    second = params_sequence(tmp_path / "b", seed=11)

    assert first == second
    assert params_sequence(tmp_path / "c", seed=12) != first


def bayes_algorithm(**kwargs):
    settings = make_settings(dict(search_space=one_dim_space(), full_dataset_size=1000,
                                  num_full_iterations=4, **kwargs))
    return BayesOpt(settings, SearchSpace(settings.search_space), plan(**settings.plan_kwargs()))


@pytest.mark.parametrize("registered_count, expected", [
    (0, 2.0), (1, 2.0), (2, 2.0), (3, 1.0), (4, 0.5), (6, 0.125),
])
def test_kappa_decays_by_kappa_decay_after_the_delay(registered_count, expected):
    algorithm = bayes_algorithm(kappa=2.0, kappa_decay=0.5, kappa_decay_delay=2)

    assert algorithm.kappa_at(registered_count) == pytest.approx(expected)


def test_kappa_stays_put_with_the_default_decay():
    algorithm = bayes_algorithm(kappa=1.5)

    assert [algorithm.kappa_at(n) for n in (0, 5, 50)] == [1.5, 1.5, 1.5]


def complete(config, score):
    for _ in range(config["iterations"]):
        if hpopt.report(config=config, score=score) == hpopt.Status.STOP:
            break


def test_two_workers_asking_at_once_get_different_configs(save_path, registered):
    """Constant liar: the trial handed out and not reported yet is modelled
    with the worst observed score, so the next suggestion goes elsewhere."""
    a = create(save_path, search_alg="baye_opt", search_space=one_dim_space(), num_trials=8,
               num_init_trial=3, max_iterations=2, seed=3)
    for _ in range(3):
        config = a.get_next_sample()
        complete(config, -bowl(config["params"], 1))
    pending = a.get_next_sample()
    b = create(save_path, search_alg="baye_opt", search_space=one_dim_space(), resume=True)
    registered["targets"].clear()
    registered["points"].clear()

    other = b.get_next_sample()

    assert (pending["trial_id"], other["trial_id"]) == (3, 4)
    assert other["params"] != pending["params"]
    observed = sorted(t.best_score for t in stored(save_path)[0][:3])
    assert sorted(registered["targets"]) == sorted(observed + [observed[0]])
    at_pending = [y for p, y in zip(registered["points"], registered["targets"])
                  if np.allclose(p, [pending["params"]["x"]])]
    assert at_pending == [observed[0]]   # the pending point, at the worst observed score


# binary fractions, so that running averages are exact
PEERS = [0.75, 0.125, 0.75, 0.75, 0.125, 0.875, 0.75]
MEDIAN_EXPECTED = [
    ("completed", 5),
    ("completed", 5),   # one peer only: median stopping abstains
    ("completed", 5),   # two peers: abstains
    ("completed", 5),   # equal to the median is not below it
    ("stopped", 3),     # 0.125 against a median of 0.75, after the grace (MEDIAN_STOP_GRACE = 2)
    ("completed", 5),
    ("completed", 5),
]


@pytest.mark.parametrize("mode, sign", [("max", 1.0), ("min", -1.0)])
def test_median_stop_stops_a_trial_clearly_below_its_peers(mode, sign, save_path):
    hpo = create(save_path, search_alg="baye_opt", mode=mode, early_stop="median_stop",
                 num_trials=7, max_iterations=5, num_init_trial=7)
    reports = {}

    def trainer(config):
        assert config["early_stop"] == "median_stop"
        reports[config["trial_id"]] = train(config, lambda p, e: sign * PEERS[config["trial_id"]])

    run_loop(hpo, trainer)

    assert [(t.state.value, t.last_iteration) for t in stored(save_path)[0]] == MEDIAN_EXPECTED
    assert [reports[i] for i in range(7)] == [n for _, n in MEDIAN_EXPECTED]


def test_median_stop_keeps_a_trial_that_scores_what_its_peers_score(save_path):
    hpo = create(save_path, search_alg="baye_opt", early_stop="median_stop",
                 num_trials=4, max_iterations=5, num_init_trial=4)

    run_loop(hpo, lambda c: train(c, lambda p, e: 0.8))

    assert [t.state.value for t in stored(save_path)[0]] == ["completed"] * 4


def test_median_stop_spares_a_late_bloomer_its_first_two_epochs(save_path):
    """The grace period: trial 3 is far below its peers at epochs 1 and 2 and
    above them from epoch 3 on (a slow start); the rule without the grace stopped it at epoch 1."""
    hpo = create(save_path, search_alg="baye_opt", early_stop="median_stop",
                 num_trials=4, max_iterations=5, num_init_trial=4)

    def score(config, epoch):
        return 0.5 if config["trial_id"] < 3 else (0.0625 if epoch <= 2 else 0.875)

    run_loop(hpo, lambda c: train(c, lambda p, e: score(c, e)))

    assert [(t.state.value, t.last_iteration) for t in stored(save_path)[0]] == [("completed", 5)] * 4


def test_without_early_stop_no_trial_is_stopped(save_path):
    hpo = create(save_path, search_alg="baye_opt", num_trials=7, max_iterations=5, num_init_trial=7)

    run_loop(hpo, lambda c: train(c, lambda p, e: PEERS[c["trial_id"]]))

    assert {t.state.value for t in stored(save_path)[0]} == {"completed"}


CHOICES = {
    "optimizer": ["sgd", "adam", "rmsprop"],
    "batch": [16, 32, 64],
    "nesterov": [True, False],
    "amsgrad": [False, True],
}


def choice_score(params, epoch):
    return ({"sgd": 0.2, "adam": 0.8, "rmsprop": 0.5}[params["optimizer"]]
            + params["batch"] / 640 + 0.05 * params["nesterov"] - 0.02 * params["amsgrad"])


def test_string_numeric_and_bool_choices_work_past_the_initial_trials(save_path, registered):
    space = {name: hpopt.search_space("choice", values) for name, values in CHOICES.items()}
    hpo = create(save_path, search_alg="baye_opt", search_space=space, num_trials=20,
                 num_init_trial=4, max_iterations=2, seed=5)

    configs = run_loop(hpo, lambda c: train(c, choice_score))

    assert len(configs) == 20
    for config in configs:
        for name, value in config["params"].items():
            assert any(value == c and type(value) is type(c) for c in CHOICES[name]), (name, value)
    keys = {tuple(c["params"][n] for n in CHOICES) for c in configs}
    assert len(keys) == 20
    assert registered["suggestions"] >= 15
    points = np.array(registered["points"])
    assert points.shape[1] == 4 and points.min() >= 0.0 and points.max() <= 1.0


def gp_phase(configs, num_init):
    return [c["params"]["x"] for c in configs[num_init:]]


def test_min_mode_registers_minus_the_score_and_searches_near_the_minimum(save_path, registered):
    hpo = create(save_path, search_alg="baye_opt", mode="min", search_space=one_dim_space(),
                 num_trials=12, num_init_trial=4, max_iterations=2, kappa=0.5, seed=7)

    configs = run_loop(hpo, lambda c: train(c, bowl))

    trials = stored(save_path)[0]
    assert set(registered["targets"]) == {-t.best_score for t in trials[:-1]}
    assert np.median([abs(x - 0.3) for x in gp_phase(configs, 4)]) < 0.1
    assert hpo.get_best_config() == min(trials, key=lambda t: t.best_score).params


def test_min_mode_keeps_its_sign_after_resume(save_path, registered):
    args = dict(search_alg="baye_opt", mode="min", search_space=one_dim_space(), num_trials=12,
                num_init_trial=4, max_iterations=2, kappa=0.5, seed=7)
    first = create(save_path, **args)
    configs = []
    for _ in range(6):
        configs.append(first.get_next_sample())
        train(configs[-1], bowl)
    registered["targets"].clear()

    configs += run_loop(create(save_path, resume=True, **args), lambda c: train(c, bowl))

    trials = stored(save_path)[0]
    assert [c["trial_id"] for c in configs] == list(range(12))
    assert registered["targets"] and set(registered["targets"]) == {-t.best_score for t in trials[:-1]}
    assert np.median([abs(x - 0.3) for x in gp_phase(configs, 6)]) < 0.1


def test_min_mode_keeps_its_sign_after_a_batch_size_shrink(save_path, registered):
    space = dict(one_dim_space(), bs=hpopt.search_space("quniform", [8, 256, 8]))
    hpo = create(save_path, search_alg="baye_opt", mode="min", search_space=space, num_trials=12,
                 num_init_trial=4, max_iterations=2, kappa=0.5, seed=8, batch_size_name="bs")
    ooms = 0

    while (config := hpo.get_next_sample()) is not None:
        if config["params"]["bs"] > 40:
            hpopt.reportOOM(config)
            ooms += 1
            registered["targets"].clear()   # keep what the optimizer is given after the shrink
        else:
            train(config, bowl)

    trials = stored(save_path)[0]
    assert ooms and registered["targets"]
    assert set(registered["targets"]) <= {-t.best_score for t in trials}
    assert hpo.get_best_config() == min(trials, key=lambda t: t.best_score).params


# -- the ARD kernel (one length scale per dimension) ------------------------------------------
def _gp_likelihood(xs, ys):
    """obj_func of a GaussianProcessRegressor fit: negative log marginal
    likelihood of an ARD Matern 2.5 kernel on (xs, ys), as sklearn hands it
    to its ``optimizer``."""
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import Matern

    gp = GaussianProcessRegressor(kernel=Matern(nu=2.5, length_scale=np.ones(xs.shape[1]),
                                                length_scale_bounds=BayesOpt.length_scale_bounds),
                                  alpha=1e-2, normalize_y=True, optimizer=None).fit(xs, ys)

    def obj_func(theta, eval_gradient=True):
        if eval_gradient:
            v, g = gp.log_marginal_likelihood(theta, eval_gradient=True, clone_kernel=False)
            return -v, -g
        return -gp.log_marginal_likelihood(theta, clone_kernel=False)

    return obj_func, gp.kernel.bounds


def test_the_ard_fit_gives_a_short_length_scale_to_the_dimension_that_matters():
    from hpopt.algorithms.bayes import fit_ard_length_scales

    rng = np.random.default_rng(0)
    xs = rng.random((60, 3))
    ys = np.sin(8 * xs[:, 0]) + 0.01 * xs[:, 1]   # only x0 matters
    obj_func, bounds = _gp_likelihood(xs, ys)

    theta, value = fit_ard_length_scales(obj_func, np.zeros(3), bounds)

    scales = np.exp(theta)
    assert scales[0] < 0.5 * min(scales[1], scales[2])
    assert np.all(theta >= bounds[:, 0] - 1e-9) and np.all(theta <= bounds[:, 1] + 1e-9)
    assert value == pytest.approx(float(obj_func(theta, eval_gradient=False)))


def test_the_ard_prior_keeps_the_isotropic_fit_when_the_data_says_little():
    from hpopt.algorithms.bayes import fit_ard_length_scales

    rng = np.random.default_rng(1)
    xs = rng.random((6, 4))
    ys = xs.sum(axis=1)   # every dimension alike
    obj_func, bounds = _gp_likelihood(xs, ys)

    theta, _ = fit_ard_length_scales(obj_func, np.zeros(4), bounds, prior_sd=0.05)

    assert np.ptp(theta) < 0.5   # within a factor ~1.6 of each other


def test_the_fitted_noise_stays_within_its_bounds_and_grows_with_the_scores_noise():
    from hpopt.algorithms.bayes import NOISE_JITTER

    alg = bayes_algorithm(seed=0)
    xs = np.random.default_rng(0).random((30, 1))
    noise = np.random.default_rng(1).standard_normal(30)
    lo, hi = alg.noise_bounds

    alphas = [alg._fit_length_scales(xs, np.sin(6 * xs[:, 0]) + sd * noise)[1] for sd in (0.0, 0.1, 0.3, 1.0)]

    assert all(lo <= a - NOISE_JITTER <= hi * (1 + 1e-9) for a in alphas)
    assert alphas == sorted(alphas) and alphas[0] < 1e-3 < alphas[1] and alphas[-1] > 5 * alphas[1]


def test_without_noise_bounds_the_noise_is_gp_alpha(monkeypatch):
    alg = bayes_algorithm(seed=0)
    monkeypatch.setattr(alg, "noise_bounds", None)
    xs = np.random.default_rng(0).random((30, 1))

    scales, alpha = alg._fit_length_scales(xs, np.sin(6 * xs[:, 0]))

    assert alpha == alg.gp_alpha and scales.shape == (1,)


@pytest.mark.parametrize("noise_sd", [0.0, 0.5, 3.0])
def test_the_noise_prior_pulls_the_fitted_noise_towards_its_mode(noise_sd):
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import Matern, WhiteKernel

    from hpopt.algorithms.bayes import fit_ard_length_scales

    rng = np.random.default_rng(3)
    xs = rng.random((25, 2))
    ys = np.sin(5 * xs[:, 0]) + noise_sd * rng.standard_normal(25)
    kernel = Matern(nu=2.5, length_scale=np.ones(2), length_scale_bounds=BayesOpt.length_scale_bounds) + \
        WhiteKernel(noise_level=1e-2, noise_level_bounds=(1e-6, 1.0))
    gp = GaussianProcessRegressor(kernel=kernel, alpha=1e-6, normalize_y=True, optimizer=None).fit(xs, ys)

    def obj_func(theta, eval_gradient=True):
        if eval_gradient:
            v, g = gp.log_marginal_likelihood(theta, eval_gradient=True, clone_kernel=False)
            return -v, -g
        return -gp.log_marginal_likelihood(theta, clone_kernel=False)

    bounds, prior = gp.kernel.bounds, (1.1, 30.0)
    free, _ = fit_ard_length_scales(obj_func, gp.kernel.theta, bounds, n_scales=2)
    held, _ = fit_ard_length_scales(obj_func, gp.kernel.theta, bounds, n_scales=2, noise_prior=prior)

    for theta in (free, held):
        assert np.all(theta >= bounds[:, 0] - 1e-9) and np.all(theta <= bounds[:, 1] + 1e-9)
    mode = np.log((prior[0] - 1) / prior[1])
    assert abs(held[2] - mode) <= abs(free[2] - mode) + 1e-6


@pytest.mark.parametrize("kernel", ["ard", "isotropic"])
def test_both_kernels_search_near_the_minimum(save_path, registered, kernel, monkeypatch):
    monkeypatch.setattr(BayesOpt, "kernel", kernel)
    space = dict(one_dim_space(), noise=hpopt.search_space("uniform", [0.0, 1.0]),
                 c=hpopt.search_space("choice", ["a", "b"]))
    hpo = create(save_path, search_alg="baye_opt", mode="min", search_space=space, num_trials=16,
                 num_init_trial=5, max_iterations=1, kappa=0.5, seed=3)

    configs = run_loop(hpo, lambda c: train(c, bowl))

    assert len(configs) == 16 and all(SearchSpace(space).contains(c["params"]) for c in configs)
    assert np.median([abs(x - 0.3) for x in gp_phase(configs, 5)]) < 0.1


def test_past_ard_fit_points_the_length_scales_come_from_a_subsample_and_stay_fixed(monkeypatch):
    from sklearn.gaussian_process.kernels import Matern

    alg = bayes_algorithm(seed=0)
    monkeypatch.setattr(alg, "ard_fit_points", 20)
    rng = np.random.default_rng(2)
    xs = rng.random((50, 2))
    ys = np.sin(6 * xs[:, 0])

    kernel = alg._ard_kernel(xs, ys, np.random.default_rng(0))

    assert isinstance(kernel, Matern) and kernel.length_scale_bounds == "fixed"
    assert np.shape(kernel.length_scale) == (2,) and kernel.length_scale[0] < kernel.length_scale[1]
    small = alg._ard_kernel(xs[:20], ys[:20], np.random.default_rng(0))
    assert small.length_scale_bounds != "fixed"   # fitted with the GP itself


def test_the_length_scales_are_refitted_on_a_schedule_never_older_than_a_fifth_of_the_observations():
    from hpopt.algorithms.bayes import refit_count

    steps = [refit_count(n) for n in range(2, 2000)]
    assert all(2 <= s <= n and s >= 0.78 * n for n, s in zip(range(2, 2000), steps))
    # consecutive suggestions share a fit: a few dozen fits up to 2,000 observations
    assert len(set(steps)) < 40


def test_a_suggestion_is_the_same_with_the_fit_memoised_or_made_afresh(tmp_path, monkeypatch):
    """The length scales are memoised by their inputs only: a process that
    finds them in its memo suggests what a new process (empty memo) does, and
    a suggestion between two steps of the schedule fits nothing."""
    from hpopt.algorithms import bayes

    fits = []
    real_fit = BayesOpt._fit_length_scales
    monkeypatch.setattr(BayesOpt, "_fit_length_scales", lambda self, fx, fy: fits.append(len(fy)) or real_fit(
        self, fx, fy))
    space = {"x": hpopt.search_space("uniform", [0.0, 1.0]), "y": hpopt.search_space("loguniform", [1e-3, 1.0])}

    def run(name):
        hpo = create(tmp_path / name, search_space=space, search_alg="bayes_opt", num_trials=14, num_init_trial=3,
                     seed=4, max_iterations=1)
        return [c["params"] for c in run_loop(hpo, trainer=lambda c: train(c, lambda p, e: (p["x"] - 0.3) ** 2))]

    bayes._LENGTH_SCALES.clear()   # a new process
    first = run("a")
    fitted = list(fits)
    assert fitted == sorted(set(fitted)) and len(fitted) < 11   # 11 GP suggestions, one fit per schedule step
    # the same study again in this process: every fit comes from the memo, and the configs are the same
    assert run("b") == first and fits == fitted


def test_the_duplicate_check_finds_what_a_key_per_trial_finds():
    """BayesOpt._tried keys only the trials sharing the suggestion's value of a
    continuous parameter: it must agree with a key for every trial (1 and 1.0
    are one value of an int grid, True is not 1)."""
    from hpopt.storage.base import TrialRecord

    space = {"lr": hpopt.search_space("loguniform", [1e-3, 1.0]), "n": hpopt.search_space("quniform", [1, 4, 1]),
             "c": hpopt.search_space("choice", [True, 1, "a"])}
    settings = make_settings(dict(search_space=space, full_dataset_size=1000, num_full_iterations=4))
    alg = BayesOpt(settings, SearchSpace(space), plan(**settings.plan_kwargs()))
    values = [{"lr": lr, "n": n, "c": c} for lr in (0.01, 0.5) for n in (1, 2.0, 3) for c in (True, 1, "a")]
    trials = [TrialRecord(trial_id=i, params=p, iterations=1, subset_ratio=1.0) for i, p in enumerate(values[::2])]
    keys = {alg.space.key(t.params) for t in trials}
    for params in values + [{"lr": 0.01, "n": 2, "c": "a"}, {"lr": 0.02, "n": 1, "c": True}]:
        assert alg._tried(trials, params) == (alg.space.key(params) in keys)

