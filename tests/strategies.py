"""Hypothesis strategies for fuzzing what users type: search spaces and
create() arguments, around and far outside their rules. Shared by the
library's fuzz tests (tests/core/test_fuzz.py) and the API's
(tests/web/test_fuzz_api.py); the ``json_*`` variants hold only what a JSON
body can carry (no numpy scalars; NaN and huge integers do travel)."""
from __future__ import annotations

import os

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from hpopt.space import SPACE_TYPES

#: examples per fuzz test; HPOPT_FUZZ_EXAMPLES=5000 for a deeper run
EXAMPLES = int(os.environ.get("HPOPT_FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                       HealthCheck.function_scoped_fixture])

huge = st.sampled_from([10**400, -10**400, 2**63, 2**64 + 1, 10**30, 1e308, -1e308, 5e-324, 1e-300,
                        float("inf"), float("-inf"), float("nan"), 0, -0.0])
normal = st.integers(-1000, 1000) | st.floats(-1e6, 1e6)
number = st.one_of(normal, normal, normal, huge, st.floats())
#: text as users type it, and as it should never be: NUL, control characters, any plane
text = st.text(max_size=12) | st.sampled_from(["", " ", "\x00", "a\x00b", "<script>alert(1)</script>", "ü名前🙂",
                                               "x" * 300, "../../etc/passwd", "os.system"])
numpy_numbers = st.sampled_from([np.float64(1.5), np.int64(3), np.float32(0.5), np.bool_(True), np.float64("nan")])


def _junk(scalars):
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=3),
                        max_leaves=6)


json_junk = _junk(st.none() | st.booleans() | number | text)
junk = _junk(st.none() | st.booleans() | number | text | numpy_numbers)
valid_type = st.sampled_from(SPACE_TYPES)
#: range lengths each numeric type takes
LENGTHS = {"uniform": (2,), "loguniform": (2, 3), "quniform": (3,), "qloguniform": (3, 4)}


@st.composite
def numeric_range(draw):
    """[low, high(, q)(, base)] with high above low more often than not."""
    low = draw(number)
    width = draw(st.integers(0, 1000) | st.floats(0, 1e6) | number)
    try:
        high = low + width
    except (TypeError, OverflowError):
        high = width
    return [low, high, *draw(st.lists(st.integers(1, 64) | st.floats(1e-3, 100) | number, max_size=2))]


@st.composite
def param_args(draw, junk=junk):
    """(type, range): mostly a valid type with a range of its kind (edge
    values inside), sometimes anything at all."""
    roll = draw(st.integers(0, 9))
    if roll < 8:
        type_ = draw(valid_type)
        if type_ == "choice":
            values = st.none() | st.booleans() | st.integers() | st.floats() | text | junk
            return type_, draw(st.lists(values, max_size=5))
        values = draw(numeric_range())
        if roll < 6:  # the right length for the type, so the values themselves are tried
            n = draw(st.sampled_from(LENGTHS[type_]))
            values = (values + [draw(st.integers(1, 16) | number) for _ in range(n)])[:n]
        return type_, values
    return draw(valid_type | text | junk), draw(numeric_range() | junk)


@st.composite
def extreme_param(draw) -> dict:
    """A valid parameter (mostly) at the edges of what floats hold: tiny or
    huge log ranges, grids of one point or of 10**6 points, ints beyond 2**53."""
    type_ = draw(valid_type)
    if type_ == "choice":
        values = draw(st.lists(st.none() | st.booleans() | st.integers(-10**20, 10**20)
                               | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5),
                               min_size=1, max_size=6, unique_by=lambda v: (type(v), v)))
        return {"type": type_, "range": values}
    if type_.endswith("loguniform"):
        low = draw(st.floats(1e-300, 1e300))
        high = low * draw(st.floats(1.0001, 1e12))
    else:
        low = draw(st.floats(-1e300, 1e300) | st.integers(-10**15, 10**15))
        high = low + draw(st.floats(1e-6, 1e300) | st.integers(0, 10**15))
    values = [low, high]
    if type_.startswith("q"):
        steps = draw(st.integers(1, 10**6))
        ints = isinstance(low, int) and isinstance(high, int)
        values.append(max(1, (high - low) // steps) if ints else (high - low) / steps)
    return {"type": type_, "range": values}


def param_specs(junk=junk):
    return param_args(junk).map(lambda a: {"type": a[0], "range": a[1]})


extreme_spaces = st.dictionaries(st.text(min_size=1, max_size=6), extreme_param(), min_size=1, max_size=3)


def spaces(junk=junk):
    return st.one_of(st.dictionaries(text, param_specs(junk), min_size=1, max_size=3), extreme_spaces,
                     st.dictionaries(text, junk, max_size=3), junk)


def create_arg_values(junk=junk) -> dict:
    """Every create() argument with values around and outside its rule."""
    return {
        "search_alg": st.sampled_from(["bayes_opt", "baye_opt", "asha", "smbo", "ASHA ", "grid"]) | junk,
        "full_dataset_size": st.integers(-5, 10**7) | huge | junk,
        "num_full_iterations": st.integers(-2, 100) | huge | st.just(2**31) | junk,
        "expected_time_ratio": st.floats(0, 1e7) | huge | junk,
        "non_pure_train_ratio": st.floats(-1, 2) | huge | junk,
        "num_trials": st.none() | st.integers(-2, 50) | huge | junk,
        "max_iterations": st.none() | st.integers(-2, 50) | huge | junk,
        "subset_ratio": st.none() | st.floats(-1, 3) | huge | junk,
        "min_subset_size": st.integers(-2, 10**6) | huge | junk,
        "num_workers": st.integers(-2, 2000) | huge | junk,
        "mode": st.sampled_from(["max", "min", "maximum"]) | junk,
        "early_stop": st.sampled_from([None, "median_stop", "median"]) | junk,
        "num_init_trial": st.integers(-1, 8) | huge | junk,
        "kappa": st.floats(-1, 1e6) | huge | junk,
        "kappa_decay": st.floats(-1, 2) | huge | junk,
        "kappa_decay_delay": st.integers(-2, 10) | huge | junk,
        "min_iterations": st.none() | st.integers(-2, 20) | huge | junk,
        "reduction_factor": st.integers(-2, 10) | huge | junk,
        "num_brackets": st.none() | st.integers(-2, 6) | huge | junk,
        "seed": st.none() | st.integers(-2, 2**70) | junk,
        "batch_size_name": st.sampled_from([None, "bs", "lr", "x", "opt", "nope"]) | junk,
        "search_space": spaces(junk),
        "ealry_stop": junk,  # a misspelling: TypeError naming the right one
    }
