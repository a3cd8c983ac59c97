"""Tests for hpopt.plan (Auto Config planner)."""
import dataclasses
import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hpopt.plan import (
    ALGORITHMS,
    ALIASES,
    Plan,
    asha_rungs,
    asha_trial_epochs,
    canonical_algorithm,
    epoch_cost,
    max_brackets,
    plan,
)

TOL = 0.10
SIZES = (100, 2_000, 50_000, 1_000_000)
EPOCHS = (1, 5, 20, 100)
RATIOS = (1.5, 2, 4, 10)
WORKERS = (1, 4, 16)
FREE_GRID = list(itertools.product(ALGORITHMS, SIZES, EPOCHS, RATIOS, WORKERS))


# ---------------------------------------------------------------- independent reference model
def ref_total_epochs(alg, t, i, p):
    """Total expected epochs, recomputed from the documented model (not plan internals)."""
    if alg == "bayes_opt":
        return t * i
    per = [asha_trial_epochs(list(r), i, p.reduction_factor) for r in p.brackets]
    return sum(per[k % p.num_brackets] for k in range(t))


def ref_cost(alg, t, i, s, p):
    """Wall time in full trainings: bayes_opt's trials run in rounds of num_workers
    (each max_iterations long); ASHA's workers divide its epochs."""
    c = (1 - p.non_pure_train_ratio) * s + p.non_pure_train_ratio
    if alg == "bayes_opt":
        return math.ceil(t / p.num_workers) * i * c / p.num_full_iterations
    return ref_total_epochs(alg, t, i, p) * c / p.num_full_iterations / min(p.num_workers, t)


def s_floor(p, min_subset_size=500):
    return min(1.0, min_subset_size / p.full_dataset_size)


def feasible_exists(p, fixed, mss=500, max_trials=None):
    """Brute force: does ANY (trials, epochs, subset) honouring the fixed values land in +-10%?

    Trials 1.., epochs 1..N (BO, when free), subset continuous in [s_min, 1] (when free).
    """
    B, alg = p.budget, p.search_alg
    subsets = [fixed["subset_ratio"]] if "subset_ratio" in fixed else [s_floor(p, mss), 1.0]
    subsets = [max(min(s, 1.0), s_floor(p, mss)) for s in subsets]
    if alg == "asha" or "max_iterations" in fixed:
        iters = [p.max_iterations]
    else:
        iters = range(1, p.num_full_iterations + 1)
    for i in iters:
        trials = [fixed["num_trials"]] if "num_trials" in fixed else itertools.count(1)
        for t in trials:
            lo, hi = ref_cost(alg, t, i, subsets[0], p), ref_cost(alg, t, i, subsets[-1], p)
            if lo <= B * (1 + TOL) and hi >= B * (1 - TOL):
                return True
            if (lo > B * (1 + TOL) and t >= p.num_workers) or t == max_trials:
                break
            assert t < 10**6
    return False


def check_common(p, fixed=None, mss=500):
    """Invariants that hold for every plan (mss: the min_subset_size it was made with)."""
    fixed = fixed or {}
    alg = p.search_alg
    assert alg in ALGORITHMS
    # cost model, recomputed independently
    assert p.expected_epochs == pytest.approx(ref_total_epochs(alg, p.num_trials, p.max_iterations, p))
    assert p.cost == pytest.approx(ref_cost(alg, p.num_trials, p.max_iterations, p.subset_ratio, p))
    assert p.budget_used == pytest.approx(p.cost / p.budget)
    # subset holds >= min_subset_size samples, or is the whole set
    assert 0 < p.subset_ratio <= 1.0
    assert p.subset_ratio == 1.0 or p.subset_ratio * p.full_dataset_size >= mss * (1 - 1e-12)
    assert p.num_trials >= 1 and p.max_iterations >= 1
    # user values untouched; auto lists exactly the others
    for name in ("num_trials", "max_iterations"):
        if name in fixed:
            assert getattr(p, name) == fixed[name]
    if "subset_ratio" in fixed:
        assert p.subset_ratio == pytest.approx(max(min(fixed["subset_ratio"], 1.0), s_floor(p, mss)))
    assert set(p.auto) == {"num_trials", "max_iterations", "subset_ratio"} - set(fixed)
    if "max_iterations" not in fixed:
        assert p.max_iterations <= p.num_full_iterations
        if alg == "asha":
            assert p.max_iterations == p.num_full_iterations
    if "num_trials" not in fixed and p.num_trials > 200:
        # automatic trials grow past the cap only once epochs and subset are maxed,
        # or when no plan within the cap lands within 10% of the budget
        maxed = ((p.max_iterations == p.num_full_iterations or "max_iterations" in fixed)
                 and (p.subset_ratio == 1.0 or "subset_ratio" in fixed))
        assert maxed or not feasible_exists(p, fixed, mss, max_trials=200)
    # budget warning iff outside +-10%; a warned plan is truly impossible
    budget_warnings = [w for w in p.warnings if "budget" in w]
    assert len(budget_warnings) == (abs(p.budget_used - 1) > TOL)
    if budget_warnings:
        (w,) = budget_warnings
        assert f"{p.cost:.4g}" in w and f"{p.budget:.4g}" in w and f"{p.budget_used:.0%}" in w
        assert not feasible_exists(p, fixed, mss), (p, fixed)


# ---------------------------------------------------------------- grid sweeps
def test_free_grid_lands_on_budget():
    warned = []
    for alg, size, n, ratio, w in FREE_GRID:
        p = plan(alg, size, n, expected_time_ratio=ratio, num_workers=w)
        check_common(p)
        if p.warnings:
            warned.append((alg, size, n, ratio, w, round(p.budget_used, 3)))
            # only tiny datasets (subset pinned at 1.0, nothing continuous left) may miss
            assert size == 100
            # over budget only when even the smallest plan is too big
            if p.cost > p.budget:
                assert n == 1 and ratio == 1.5 and p.max_iterations == 1
        else:
            assert abs(p.cost / p.budget - 1) <= TOL
    # Known corners (all with 100 samples, so subset_ratio is pinned at 1.0):
    #  * N=1, ratio 1.5: one epoch on the full set already costs 2x the budget (x2 algs x3 workers)
    #  * BO N=5 ratio 1.5: cost = rounds*epochs/5 (a partial round of W trials costs a
    #    full one), 2.5 not reachable -> 0.4 (under), for every W (x3 workers)
    #  * ASHA N=5 W=1 ratio 1.5/2: one trial costs 0.425 full trainings -> 0.425/0.85
    assert len(warned) <= 11, warned
    assert len(warned) / len(FREE_GRID) < 0.03


FIXED_GRID = list(itertools.product(
    ALGORITHMS, (100, 50_000), (1, 20), (1.5, 4), (1, 4),
    (None, 3, 50), (None, 2, 30), (None, 0.1, 0.6)))


def test_fixed_values_are_kept():
    for alg, size, n, ratio, w, t, i, s in FIXED_GRID:
        fixed = {k: v for k, v in (("num_trials", t), ("max_iterations", i), ("subset_ratio", s))
                 if v is not None}
        p = plan(alg, size, n, expected_time_ratio=ratio, num_workers=w, **fixed)
        check_common(p, fixed)
        if "subset_ratio" in fixed and fixed["subset_ratio"] < s_floor(p):
            assert any("min_subset_size" in x for x in p.warnings)


def test_everything_fixed():
    # cost = 10 * 5 * c(0.5) / 50 = 0.6 full trainings
    kw = dict(num_trials=10, max_iterations=5, subset_ratio=0.5)
    on = plan("bayes_opt", 10_000, 50, expected_time_ratio=1.6, **kw)
    assert on.warnings == () and on.auto == () and on.cost == pytest.approx(0.6)
    over = plan("bayes_opt", 10_000, 50, expected_time_ratio=1.2, **kw)
    assert over.budget_used == pytest.approx(3.0)
    (w,) = over.warnings
    assert "0.6" in w and "0.2" in w and "300%" in w and "over budget" in w
    under = plan("bayes_opt", 10_000, 50, expected_time_ratio=4, **kw)
    (w,) = under.warnings
    assert "not used" in under.warnings[0] and "20%" in w


def test_bo_starting_point_and_growth():
    # tiny budget: shrinks towards 1 epoch / s_min but keeps >= 5 trials when possible
    p = plan("bayes_opt", 1_000_000, 100, expected_time_ratio=1.05)
    assert p.num_trials >= 5 and p.warnings == ()
    # huge budget: epochs and subset maxed, trials grow past the cap
    p = plan("bayes_opt", 1_000_000, 10, expected_time_ratio=1000)
    assert (p.max_iterations, p.subset_ratio) == (10, 1.0) and p.num_trials > 200
    # middle: all three grow together
    p = plan("bayes_opt", 1_000_000, 100, expected_time_ratio=4)
    assert 10 < p.num_trials < 200 and 2 < p.max_iterations < 100 and 0.2 < p.subset_ratio < 1


def test_asha_shrinks_subset_before_trials():
    # 100 epochs, eta 2: 7 rungs -> preferred minimum min(2**7, 32) = 32 trials
    tight = plan("asha", 1_000_000, 100, expected_time_ratio=1.2)
    assert tight.num_trials < 32 and tight.subset_ratio < 0.01 and tight.warnings == ()
    mid = plan("asha", 1_000_000, 100, expected_time_ratio=1.3)
    assert mid.num_trials == 32 and 0.0005 < mid.subset_ratio < 0.2 and mid.warnings == ()
    roomy = plan("asha", 1_000_000, 100, expected_time_ratio=3)
    assert roomy.num_trials > 32 and roomy.subset_ratio > 0.2 and roomy.warnings == ()


def test_bo_rounds_of_workers_land_on_budget():
    # 1.25 full trainings of 4 epochs on 23 workers: only 5 rounds of 1 epoch
    # (93..115 trials) land within 10%; the rounds next to the path's point
    # (2 rounds of 2 epochs) use 80% (a Hypothesis example)
    p = plan("bayes_opt", 1, 4, expected_time_ratio=2.25, num_workers=23)
    assert p.warnings == () and p.max_iterations == 1 and 93 <= p.num_trials <= 115
    check_common(p)


def test_workers_fill_up_for_free():
    p = plan("bayes_opt", 50_000, 20, expected_time_ratio=1.5, num_workers=16)
    assert p.num_trials >= 16


@settings(max_examples=300, deadline=None)
@given(alg=st.sampled_from(sorted(ALIASES)), size=st.integers(1, 10**7),
       n=st.integers(1, 300), ratio=st.floats(1.01, 50), w=st.integers(1, 64),
       p_np=st.floats(0, 0.95), t=st.none() | st.integers(1, 400),
       i=st.none() | st.integers(1, 300), s=st.none() | st.floats(0.001, 1.5),
       eta=st.integers(2, 5), nb=st.integers(1, 4))
def test_property_invariants(alg, size, n, ratio, w, p_np, t, i, s, eta, nb):
    fixed = {k: v for k, v in (("num_trials", t), ("max_iterations", i), ("subset_ratio", s))
             if v is not None}
    mi = i if i is not None else n
    nb = min(nb, max_brackets(1, mi, eta))
    p = plan(alg, size, n, expected_time_ratio=ratio, num_workers=w, non_pure_train_ratio=p_np,
             reduction_factor=eta, num_brackets=nb, **fixed)
    check_common(p, fixed)


# ---------------------------------------------------------------- ASHA rungs
def test_rungs():
    assert asha_rungs(1, 27, 3, 0) == [1, 3, 9]
    assert asha_rungs(1, 27, 3, 1) == [3, 9]
    assert asha_rungs(1, 27, 3, 2) == [9]
    assert asha_rungs(1, 27, 3, 3) == []
    assert asha_rungs(1, 27, 3) == [1, 3, 9]
    assert asha_rungs(2, 20, 2) == [2, 4, 8, 16]
    assert asha_rungs(5, 5, 2) == [] and asha_rungs(6, 5, 2) == []


def test_max_brackets():
    assert max_brackets(1, 27, 3) == 4          # floor(log3 27) + 1
    assert max_brackets(1, 10, 3) == 4          # rungs [1, 3, 9] + the rung-less bracket
    assert max_brackets(4, 4, 2) == 1
    assert max_brackets(1, 100, 2) == 8         # rungs 1..64


def test_trial_epochs_by_hand():
    # 1 epoch for all; 1/3 continue 1->3; 1/9 continue 3->9; 1/27 continue 9->27
    assert asha_trial_epochs([1, 3, 9], 27, 3) == pytest.approx(1 + 2 / 3 + 6 / 9 + 18 / 27)
    assert asha_trial_epochs([1, 2, 4], 5, 2) == pytest.approx(2.125)
    assert asha_trial_epochs([], 27, 3) == 27


def test_asha_brackets_round_robin():
    p = plan("asha", 10_000, 27, reduction_factor=3, num_brackets=3, num_trials=7)
    assert p.brackets == ((1, 3, 9), (3, 9), (9,))
    per = [3.0, asha_trial_epochs([3, 9], 27, 3), asha_trial_epochs([9], 27, 3)]
    assert p.expected_epochs == pytest.approx(3 * per[0] + 2 * per[1] + 2 * per[2])
    full = plan("asha", 10_000, 27, reduction_factor=3, num_brackets=4)
    assert full.brackets[-1] == ()


def test_bayes_opt_ignores_asha_fields():
    p = plan("bayes_opt", 10_000, 20, min_iterations=3, num_brackets=2)
    assert (p.min_iterations, p.num_brackets, p.brackets) == (1, 1, ())


# ---------------------------------------------------------------- validation
BASE = dict(search_alg="asha", full_dataset_size=10_000, num_full_iterations=20)
BAD = [
    *[("full_dataset_size", v) for v in (0, -5, 2.5, 100.0, True, "100", None)],
    *[("num_full_iterations", v) for v in (0, 1.5, 20.0, True)],
    *[("num_workers", v) for v in (0, 2.0, False)],
    *[("num_trials", v) for v in (0, -1, 1.5, True, "3")],
    *[("max_iterations", v) for v in (0, 3.0)],
    *[("min_iterations", v) for v in (0, 1.0, 21)],
    *[("min_subset_size", v) for v in (0, 500.0)],
    *[("expected_time_ratio", v) for v in (1, 1.0, 0.5, -3, 1e7, math.inf, math.nan, "4", True, None)],
    *[("non_pure_train_ratio", v) for v in (-0.1, 1.0, 1.5, math.nan, True)],
    *[("subset_ratio", v) for v in (0, 0.0, -0.5, math.nan, math.inf, "0.5", True)],
    *[("reduction_factor", v) for v in (1, 0, 2.5, True)],
    *[("num_brackets", v) for v in (0, 7, 1.0)],
]


@pytest.mark.parametrize("name,value", BAD, ids=[f"{n}={v!r}" for n, v in BAD])
def test_validation(name, value):
    with pytest.raises(ValueError, match=name):
        plan(**{**BASE, name: value})


def test_validation_min_above_max_and_brackets_limit():
    with pytest.raises(ValueError, match="min_iterations"):
        plan("asha", 10_000, 20, min_iterations=10, max_iterations=5)
    with pytest.raises(ValueError, match=r"num_brackets.*\b4\b"):
        plan("asha", 10_000, 27, reduction_factor=3, num_brackets=5)
    plan("asha", 10_000, 27, reduction_factor=3, num_brackets=4)   # the maximum is fine


def test_numpy_ints_accepted():
    p = plan("smbo", np.int64(10_000), np.int32(20), num_trials=np.int64(7), num_workers=np.int16(2))
    assert p.num_trials == 7 and type(p.num_trials) is int and type(p.num_full_iterations) is int
    json.dumps(p.to_dict())


def test_subset_rules():
    p = plan("bayes_opt", 10_000, 20, subset_ratio=1.7)
    assert p.subset_ratio == 1.0 and not any("min_subset_size" in w for w in p.warnings)
    p = plan("bayes_opt", 10_000, 20, subset_ratio=0.01)   # 100 samples < 500
    assert p.subset_ratio == pytest.approx(0.05)
    assert any("min_subset_size" in w for w in p.warnings)
    p = plan("asha", 300, 20, subset_ratio=0.5, min_subset_size=1000)   # whole set
    assert p.subset_ratio == 1.0


# ---------------------------------------------------------------- algorithms and the dataclass
@pytest.mark.parametrize("name", ["baye_opt", "bayes_opt", "smbo", " SMBO "])
def test_aliases(name):
    assert canonical_algorithm(name) == "bayes_opt"
    assert plan(name, 10_000, 10).search_alg == "bayes_opt"


@pytest.mark.parametrize("name", ["hyperband", "", None, 3])
def test_unknown_algorithm(name):
    with pytest.raises(ValueError, match="search_alg") as e:
        canonical_algorithm(name)
    for valid in ("'baye_opt'", "'bayes_opt'", "'smbo'", "'asha'"):
        assert valid in str(e.value)
    with pytest.raises(ValueError, match="search_alg"):
        plan(name, 10_000, 10)


def test_to_dict_and_helpers():
    p = plan("asha", 50_000, 27, reduction_factor=3, num_brackets=2, num_workers=4)
    d = json.loads(json.dumps(p.to_dict()))
    assert d["brackets"] == [[1, 3, 9], [3, 9]] and isinstance(d["auto"], list)
    assert d["budget_used"] == pytest.approx(p.cost / p.budget)
    assert set(d) == {f.name for f in dataclasses.fields(Plan)} | {"budget_used"}
    assert p.wall_seconds(2.0) == pytest.approx(p.cost * 27 * 2.0)
    assert p.trial_cost_epochs() * p.num_trials == pytest.approx(
        p.expected_epochs * epoch_cost(p.subset_ratio, 0.2))
    assert epoch_cost(0.5, 0.2) == pytest.approx(0.6)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.num_trials = 3  # type: ignore[misc]
    assert plan("asha", 50_000, 27, reduction_factor=3, num_brackets=2, num_workers=4) == p
