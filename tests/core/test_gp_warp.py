"""The score warp of bayes_opt's GP (hpopt.algorithms.gp_warp) and GP-UCB's schedule."""
import numpy as np
import pytest

from hpopt.algorithms import bayes
from hpopt.algorithms.bayes import BayesOpt
from hpopt.algorithms.gp_warp import ucb_kappa, warp_scores


def branin_like(n=30, seed=0):
    """Scores to maximise with a long tail of bad ones (minus a Branin-like bowl)."""
    x = np.random.default_rng(seed).random((n, 2))
    return -(300.0 * ((x[:, 0] - 0.5) ** 2 + (x[:, 1] - 0.3) ** 2) ** 1.5 + 0.4)


def test_the_warp_keeps_the_order_of_the_scores():
    ys = branin_like()
    warped = warp_scores(ys)
    assert (np.argsort(warped, kind="stable") == np.argsort(ys, kind="stable")).all()
    assert np.isfinite(warped).all()


def test_the_warp_gives_the_good_scores_more_of_the_range_under_a_long_bad_tail():
    ys = branin_like()
    warped = warp_scores(ys)
    top = np.sort(ys)[-5:]
    share = np.ptp(top) / np.ptp(ys)
    warped_share = np.ptp(np.sort(warped)[-5:]) / np.ptp(warped)
    assert warped_share > 2 * share


def test_the_warp_does_not_stretch_a_tail_of_good_scores():
    # few very good scores far above the rest: lambda is held at 1 (no warp, up to scale)
    ys = -branin_like()
    warped = warp_scores(ys)
    z = (ys - ys.max()) / ys.std()
    assert warped == pytest.approx(z, rel=1e-2, abs=1e-2)


@pytest.mark.parametrize("ys", [np.array([1.0, 2.0]), np.full(5, 3.0)])
def test_the_warp_leaves_too_few_or_equal_scores_as_they_are(ys):
    assert (warp_scores(ys) == ys).all()


@pytest.mark.parametrize("where, low, high", [(False, 0, 0), ("gp", 5, 5), ("fit", 1, 5), (True, 6, 10)])
def test_output_warp_says_where_the_gp_sees_warped_scores(save_path, monkeypatch, where, low, high):
    """5 suggestions (trials 3-7): "gp" warps the scores of each, "fit" those
    of each new fit of the length scales (memoised between the steps of its
    schedule), True both, False none."""
    from conftest import create, run_loop, train

    monkeypatch.setattr(BayesOpt, "output_warp", where)
    bayes._LENGTH_SCALES.clear()
    calls = []

    def spy(ys, bounds):
        calls.append(len(ys))
        return warp_scores(ys, bounds)

    monkeypatch.setattr(bayes, "warp_scores", spy)
    hpo = create(save_path, search_alg="bayes_opt", num_trials=8, num_init_trial=3, seed=0, max_iterations=1)
    run_loop(hpo, lambda c: train(c, lambda p, e: -(p["lr"] - 0.01) ** 2))
    assert low <= len(calls) <= high


def test_ucb_kappa_grows_with_the_trials_and_the_dimension():
    assert ucb_kappa(10, 3) < ucb_kappa(20, 3) < ucb_kappa(20, 6)
    assert ucb_kappa(0, 3) == ucb_kappa(1, 3) > 0
