"""Fuzzing the library's entry points with hypothesis: search_space(),
create() (and so plan()), and the first suggestions of a created study.

Any input either works or raises ValueError or TypeError with a message;
never another exception from deep inside numpy, bayes_opt or the plan's
arithmetic (OverflowError, ZeroDivisionError, numpy's warnings as errors...).
The strategies are in tests/strategies.py (shared with the API's fuzz tests).
"""
from __future__ import annotations

import math
import tempfile
import warnings

import numpy as np
from hypothesis import event, given
from hypothesis import strategies as st

import hpopt
from tests.strategies import FUZZ, create_arg_values, extreme_param, extreme_spaces, huge, junk, param_args, text

ARGS = create_arg_values(junk)


def expect_clean(call):
    """Runs call(); returns its result, or None when it raised ValueError or
    TypeError with a message. Anything else (or a numpy warning) fails."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            return call()
        except (ValueError, TypeError) as exc:
            assert str(exc).strip(), f"{type(exc).__name__} without a message"
            return None


@FUZZ
@given(args=param_args() | extreme_param().map(lambda p: (p["type"], p["range"])), name=st.none() | text | junk)
def test_search_space_accepts_or_says_why(args, name):
    type_, range_ = args
    param = expect_clean(lambda: hpopt.search_space(type_, range_, name=name))
    event("built" if param is not None else "rejected")
    if param is None:
        return
    rng = np.random.default_rng(0)
    for u in (0.0, 0.5, 1.0, float("nan"), rng.random()):
        value = param.decode(u)
        assert param.contains(value), (param, u, value)
        assert 0.0 <= param.encode(value) <= 1.0
    assert param.contains(param.sample(rng))
    assert hpopt.SearchSpace({"p": param.to_spec()})["p"] == param.with_name("p")


def valid_space():
    return {
        "lr": hpopt.search_space("loguniform", [1e-4, 1e-1]),
        "bs": hpopt.search_space("qloguniform", [8, 256, 8]),
        "opt": hpopt.search_space("choice", ["sgd", "adam"]),
    }


@st.composite
def create_args(draw):
    args = {"search_alg": "bayes_opt", "full_dataset_size": 1000, "num_full_iterations": 4,
            "search_space": valid_space(), "num_init_trial": 2, "seed": 0}
    if draw(st.booleans()):  # only the space varies: its configs reach the optimizer
        args["search_space"] = draw(extreme_spaces)
        args["num_init_trial"] = draw(st.integers(1, 2))
        return args
    for name in draw(st.lists(st.sampled_from(sorted(ARGS)), max_size=4, unique=True)):
        args[name] = draw(ARGS[name])
    for name in draw(st.lists(st.sampled_from(["full_dataset_size", "num_full_iterations", "search_space"]),
                              max_size=1)):
        args.pop(name)
    return args


@FUZZ
@given(args=create_args(), scores=st.lists(st.floats(-1e6, 1e6) | huge.filter(
    lambda v: isinstance(v, float) and math.isfinite(v)), min_size=1, max_size=4))
def test_create_accepts_or_says_why_and_suggests_valid_configs(args, scores):
    with tempfile.TemporaryDirectory() as folder:
        hpo = expect_clean(lambda: hpopt.create(save_path=folder, **args))
        event("created" if hpo is not None else "rejected")
        if hpo is None:
            return
        # a few suggestions, past num_init_trial: the Bayesian optimizer's GP fits on them
        for score in scores:
            config = expect_clean(hpo.get_next_sample)
            if config is None:
                return
            space = hpopt.SearchSpace.from_spec(hpo.settings.search_space)
            assert space.contains(config["params"]), config["params"]
            expect_clean(lambda config=config, score=score: hpopt.report(config, score))
            expect_clean(lambda config=config, score=score: hpopt.report(config, score * 0.5))
        expect_clean(hpo.get_best_config)
