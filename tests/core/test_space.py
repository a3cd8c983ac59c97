"""Tests for hpopt.space: sampling invariants, encoding, specs, validation, OOM shrinking."""
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hpopt.space import SPACE_TYPES, Param, SearchSpace, SpaceExhausted, search_space

SETTINGS = settings(max_examples=60, deadline=None)
QUANTIZED = ("quniform", "qloguniform")
BASES = st.sampled_from([None, 2, 10, math.e])


def _with_base(values, base):
    return values + ([base] if base is not None else [])


@st.composite
def uniform_specs(draw):
    low = draw(st.integers(-1000, 1000) | st.floats(-1e6, 1e6))
    width = draw(st.integers(1, 1000) | st.floats(1e-3, 1e6))
    return "uniform", [low, low + width]


@st.composite
def loguniform_specs(draw):
    low = draw(st.floats(1e-8, 1e3))
    return "loguniform", _with_base([low, low * draw(st.floats(1.001, 1e6))], draw(BASES))


@st.composite
def quantized_specs(draw, kind):
    log = kind == "qloguniform"
    if draw(st.booleans()):
        low, q = draw(st.integers(1 if log else -1000, 512)), draw(st.integers(1, 64))
        high = low + q * draw(st.integers(1, 50)) + draw(st.integers(0, q - 1))
    else:
        low, q = draw(st.floats(1e-2 if log else -1e3, 1e3)), draw(st.floats(1e-3, 10))
        high = low + q * draw(st.floats(1, 50))
    return kind, _with_base([low, high, q], draw(BASES) if log else None)


CHOICE_VALUES = st.one_of(st.text(max_size=4), st.integers(-3, 3), st.booleans(), st.none(),
                          st.floats(allow_nan=False, allow_infinity=False))
choice_specs = st.lists(CHOICE_VALUES, min_size=1, max_size=8,
                        unique_by=lambda v: (type(v), v)).map(lambda r: ("choice", r))
specs = st.one_of(uniform_specs(), quantized_specs("quniform"), loguniform_specs(),
                  quantized_specs("qloguniform"), choice_specs)
seeds = st.integers(0, 2**32 - 1)


def typed(value):
    return type(value), value


def assert_valid(p, v):
    """Check v against p's spec directly, independently of p.contains."""
    r = p.to_spec()["range"]
    if p.type == "choice":
        assert typed(v) in {typed(c) for c in r}
    else:
        expect_int = p.type in QUANTIZED and all(type(x) is int for x in r[:3])
        assert p.is_int == expect_int
        assert type(v) is (int if expect_int else float)
        assert r[0] <= v <= r[1]
        if p.type in QUANTIZED:
            k = (v - r[0]) / r[2]
            assert k >= 0 and abs(k - round(k)) <= 1e-6
            if expect_int:
                assert (v - r[0]) % r[2] == 0
    assert p.contains(v)


# ---------------------------------------------------------------- properties

@SETTINGS
@given(specs, seeds)
def test_samples_are_valid(spec, seed):
    p = search_space(*spec)
    rng = np.random.default_rng(seed)
    for _ in range(50):
        assert_valid(p, p.sample(rng))


@SETTINGS
@given(specs, st.floats(allow_nan=True, allow_infinity=True))
def test_decode_any_float_is_valid(spec, u):
    p = search_space(*spec)
    for x in (u, 0.0, 1.0, -1.0, 2.0, math.nan, math.inf, -math.inf, np.nextafter(1.0, 0)):
        assert_valid(p, p.decode(x))


@SETTINGS
@given(specs, seeds)
def test_encode_decode_round_trip(spec, seed):
    p = search_space(*spec)
    rng = np.random.default_rng(seed)
    for _ in range(20):
        v = p.sample(rng)
        u = p.encode(v)
        assert type(u) is float and 0.0 <= u <= 1.0
        w = p.decode(u)
        assert_valid(p, w)
        if p.type in ("uniform", "loguniform"):
            # Continuous values survive up to float rounding only.
            assert math.isclose(w, v, rel_tol=1e-9, abs_tol=1e-12)
        else:
            assert typed(w) == typed(v) and p.canonical(w) == p.canonical(v)
    exact = p.grid() if p.type in QUANTIZED else p.choices if p.type == "choice" else []
    assert all(typed(p.decode(p.encode(v))) == typed(v) for v in exact)


@SETTINGS
@given(st.lists(specs, min_size=1, max_size=5), seeds)
def test_space_spec_round_trip_and_reproducible_sampling(spec_list, seed):
    space = SearchSpace({f"p{i}": search_space(*s) for i, s in enumerate(spec_list)})
    spec = space.to_spec()
    again = SearchSpace.from_spec(json.loads(json.dumps(spec)))
    assert again == space
    assert again.to_spec() == spec and again.names == space.names
    a = space.sample(np.random.default_rng(seed))
    b = again.sample(np.random.default_rng(seed))
    assert [typed(a[n]) for n in space] == [typed(b[n]) for n in again]
    assert space.contains(a)
    x = space.encode(a)
    assert x.shape == (len(space),) and x.dtype == np.float64
    assert np.all((0 <= x) & (x <= 1))
    assert space.contains(space.decode(x))


@SETTINGS
@given(st.lists(specs, min_size=1, max_size=5), seeds)
def test_key_is_canonical(spec_list, seed):
    space = SearchSpace({f"p{i}": search_space(*s) for i, s in enumerate(spec_list)})
    params = space.sample(np.random.default_rng(seed))
    key = space.key(params)
    assert hash(key) == hash(space.key(dict(reversed(list(params.items())))))
    exact = all(space[n].type not in ("uniform", "loguniform") for n in space)
    assert space.key(space.decode(space.encode(params))) == key or not exact
    as_floats = {n: float(v) if space[n].is_int else v for n, v in params.items()}
    assert space.key(as_floats) == key


@SETTINGS
@given(st.lists(specs, min_size=1, max_size=4), st.lists(st.floats(), min_size=4, max_size=4))
def test_space_decode_any_vector(spec_list, xs):
    space = SearchSpace({f"p{i}": search_space(*s) for i, s in enumerate(spec_list)})
    decoded = space.decode(xs[:len(space)])
    assert list(decoded) == space.names
    for n in space:
        assert_valid(space[n], decoded[n])


# ---------------------------------------------------------------- regressions

def test_quniform_stays_on_grid_when_low_is_not_a_multiple_of_q():
    p = search_space("quniform", [1, 10, 2])
    rng = np.random.default_rng(0)
    seen = {p.sample(rng) for _ in range(5000)}
    assert seen == {1, 3, 5, 7, 9} and p.grid() == [1, 3, 5, 7, 9]
    assert all(type(v) is int for v in seen)
    assert {p.decode(u) for u in np.linspace(-1, 2, 301)} == seen
    assert not p.contains(0) and not p.contains(10) and not p.contains(2)
    assert p.contains(3) and p.contains(3.0) and not p.contains(True) and not p.contains("3")


def test_qloguniform_batch_sizes_are_ints_on_the_8_grid():
    p = search_space("qloguniform", [8, 256, 8, 2])
    rng = np.random.default_rng(1)
    values = [p.sample(rng) for _ in range(5000)]
    assert all(type(v) is int and v % 8 == 0 and 8 <= v <= 256 for v in values)
    assert {8, 256} <= set(values)
    assert p.grid() == list(range(8, 257, 8))
    # Log measure: small batch sizes are far more likely than large ones.
    assert sum(v <= 64 for v in values) > sum(v > 128 for v in values)


def test_float_grid_never_exceeds_high():
    p = search_space("quniform", [0.1, 0.7, 0.2])
    assert len(p.grid()) == 4 and p.grid()[-1] <= 0.7 and not p.is_int
    assert p.decode(1.0) <= 0.7 and p.contains(0.3) and p.contains(0.7)
    q = search_space("quniform", [0, 1, 0.3])
    assert q.grid()[-1] == pytest.approx(0.9) and q.decode(1.0) == q.grid()[-1]
    lu = search_space("loguniform", [1e-4, 1e-1])  # exp(log(x)) != x, yet ends are exact
    assert lu.decode(0.0) == 1e-4 and lu.decode(1.0) == 1e-1 and lu.decode(math.nan) == lu.decode(0.5)


def test_int_and_float_inputs_decide_the_value_type():
    assert type(search_space("quniform", [0, 10, 2]).decode(0.5)) is int
    assert type(search_space("quniform", [0.0, 10, 2]).decode(0.5)) is float
    assert type(search_space("uniform", [0, 10]).decode(0.0)) is float
    assert type(search_space("uniform", [np.int64(0), np.int64(10)]).decode(0.3)) is float
    assert type(search_space("quniform", [np.int64(0), 10, 2]).decode(0.3)) is int


def test_loguniform_base_changes_only_the_spec():
    ranges = [[1e-4, 1e-1], [1, 1024], [0.5, 0.6]]
    for r in ranges:
        b2, b10 = search_space("loguniform", r + [2]), search_space("loguniform", r + [10])
        plain = search_space("loguniform", r)
        draws = [[p.sample(np.random.default_rng(3)) for _ in range(5)] for p in (b2, b10, plain)]
        assert draws[0] == draws[1] == draws[2]
        assert b2.to_spec()["range"] == r + [2] and plain.to_spec()["range"] == r


# ---------------------------------------------------------------- validation

INVALID = [
    ("uniform", [1, 1], "low must be < high"),
    ("uniform", [2, 1], "low must be < high"),
    ("loguniform", [3, 3], "low must be < high"),
    ("quniform", [2, 1, 1], "low must be <= high"),
    ("uniform", [0, math.nan], "high must be finite"),
    ("uniform", [-math.inf, 0], "low must be finite"),
    ("quniform", [0, 10, math.inf], "q must be finite"),
    ("uniform", ["0", 1], "low must be a number"),
    ("uniform", [True, 2], "low must be a number, not a bool"),
    ("quniform", [0, 10, False], "q must be a number, not a bool"),
    ("uniform", [-1e308, 1e308], "high - low must be finite"),
    ("loguniform", [0, 1], "low must be > 0 on a log scale (got low=0)"),
    ("qloguniform", [-8, 8, 1], "low must be > 0 on a log scale"),
    ("loguniform", [1, 10, 1], "base must be > 1"),
    ("qloguniform", [1, 10, 1, 0.5], "base must be > 1"),
    ("quniform", [0, 10, 0], "q must be > 0"),
    ("qloguniform", [1, 10, -1], "q must be > 0"),
    ("quniform", [0, 10, 11], "q must be <= high - low"),
    ("choice", [], "must not be empty"),
    ("choice", ["a", "b", "a"], "duplicate choice 'a'"),
    ("choice", [[1, 2], 3], "str, int, float, bool or None (got list"),
    ("choice", [{"a": 1}], "str, int, float, bool or None (got dict"),
    ("choice", [1.0, math.nan], "float choices must be finite"),
    ("uniform", [1, 2, 3], "must have 2 elements"),
    ("quniform", [1, 2], "must have 3 elements"),
    ("loguniform", [1], "must have 2 or 3 elements"),
    ("qloguniform", [1, 2, 3, 4, 5], "must have 3 or 4 elements"),
    ("uniform", {"low": 0, "high": 1}, "range must be a list or tuple"),
    ("choice", "ab", "range must be a list or tuple"),
    ("uniform", np.array([0, 1]), "range must be a list or tuple"),
    ("normal", [0, 1], "valid types are: choice, loguniform, qloguniform, quniform, uniform"),
    (None, [0, 1], "unknown type"),
]


@pytest.mark.parametrize("type_, range_, fragment", INVALID)
def test_validation_names_the_parameter_and_rule(type_, range_, fragment):
    with pytest.raises(ValueError) as named:
        search_space(type_, range_, name="lr")
    assert str(named.value).startswith("parameter 'lr': ") and fragment in str(named.value)
    with pytest.raises(ValueError) as anonymous:
        search_space(type_, range_)
    assert str(anonymous.value).startswith(f"search_space({type_!r}, ")
    assert fragment in str(anonymous.value)
    with pytest.raises(ValueError, match="parameter 'lr'"):
        SearchSpace({"lr": {"type": type_, "range": range_}})


def test_exact_message_format_and_types():
    with pytest.raises(ValueError) as e:
        search_space("loguniform", [0, 1])
    assert str(e.value) == ("search_space('loguniform', [0, 1]): "
                            "low must be > 0 on a log scale (got low=0)")
    assert SPACE_TYPES == ("uniform", "quniform", "loguniform", "qloguniform", "choice")
    assert all(search_space(t, r).type == t for t, r in [
        ("uniform", [0, 1]), ("quniform", [0, 4, 1]), ("loguniform", [1, 2]),
        ("qloguniform", [1, 9, 2]), ("choice", ["a"])])


@pytest.mark.parametrize("params, fragment", [
    ({"": {"type": "uniform", "range": [0, 1]}}, "non-empty strings"),
    ({3: {"type": "uniform", "range": [0, 1]}}, "non-empty strings"),
    ({"x": {"type": "uniform"}}, "parameter 'x': a spec must be a dict"),
    ({"x": [0, 1]}, "parameter 'x': a spec must be a dict"),
    ([("x", search_space("uniform", [0, 1]))], "must be a dict"),
])
def test_search_space_rejects_bad_structure(params, fragment):
    with pytest.raises(ValueError, match=fragment):
        SearchSpace(params)


def test_bad_parameter_name_and_invalid_values():
    with pytest.raises(ValueError, match="non-empty strings"):
        search_space("uniform", [0, 1], name="")
    p = search_space("uniform", [0, 1], name="x")
    for bad in ("0.5", None, True, math.nan, [0.5]):
        with pytest.raises(ValueError, match="parameter 'x': .* is not a finite number"):
            p.encode(bad)
    with pytest.raises(ValueError, match="parameter 'c': 'x' is not a valid value"):
        search_space("choice", ["a"], name="c").encode("x")
    with pytest.raises(TypeError, match="abstract"):
        Param([0, 1])
    space = SearchSpace({"x": p})
    with pytest.raises(ValueError, match="missing"):
        space.encode({})
    with pytest.raises(ValueError, match="unexpected"):
        space.key({"x": 0.5, "y": 1})
    with pytest.raises(ValueError, match="shape"):
        space.decode([0.1, 0.2])
    assert not space.contains({"x": 0.5, "y": 1}) and not space.contains({"x": math.nan})


# ---------------------------------------------------------------- choices and spaces

def test_choice_kinds_and_identity():
    obj = "".join(["ad", "am"])  # not interned: identity is meaningful
    p = search_space("choice", ["sgd", obj, None, True, 1, 1.0, 2.5])
    values = {id(p.sample(np.random.default_rng(s))) for s in range(200)}
    assert id(obj) in values
    assert len({p.encode(v) for v in (True, 1, 1.0)}) == 3
    for v in ["sgd", obj, None, True, 1, 1.0, 2.5]:
        w = p.decode(p.encode(v))
        assert typed(w) == typed(v)
    assert p.decode(p.encode(obj)) is obj
    assert p.contains(np.float64(2.5)) and not p.contains(False) and not p.contains(0)
    assert not p.contains([1]) and not p.contains(2)
    assert p.encode("sgd") == pytest.approx(0.5 / 7)
    assert search_space("choice", [np.int64(3)]).choices == (3,)


def test_bool_only_choice_and_true_vs_one_are_distinct():
    p = search_space("choice", [False, True])
    assert {p.decode(0.1), p.decode(0.9)} == {False, True}
    q = search_space("choice", [True, 1])
    assert q.decode(0.0) is True and type(q.decode(1.0)) is int
    assert q != search_space("choice", [1, True]) and q == search_space("choice", (True, 1))


def test_space_mapping_protocol_and_naming():
    lr = search_space("loguniform", [1e-4, 1e-1])
    space = SearchSpace({"lr": lr, "bs": {"type": "qloguniform", "range": [8, 256, 8, 2]},
                         "opt": search_space("choice", ["sgd", "adam"], name="other")})
    assert space.names == ["lr", "bs", "opt"] and list(space) == space.names
    assert len(space) == 3 and "bs" in space and "nope" not in space
    assert space["lr"].name == "lr" and space["opt"].name == "opt" and lr.name is None
    assert isinstance(space["bs"], Param) and space["bs"].is_int
    assert space.key({"lr": 0.01, "bs": 64, "opt": "adam"}) == \
        space.key({"opt": "adam", "bs": 64.0, "lr": 0.01})
    assert space.key({"lr": 0.01, "bs": 64, "opt": "adam"}) != \
        space.key({"lr": 0.01, "bs": 72, "opt": "adam"})
    pytest.raises(KeyError, lambda: space["nope"])
    assert eval(repr(space["bs"]), {"search_space": search_space}) == space["bs"]
    renamed = space["bs"].with_name("batch")
    assert renamed.name == "batch" and renamed.to_spec() == space["bs"].to_spec()


# ---------------------------------------------------------------- OOM shrinking

@pytest.fixture
def bs_space():
    return SearchSpace({"lr": search_space("uniform", [0, 1]),
                        "bs": search_space("qloguniform", [8, 256, 8, 2])})


def test_shrink_below_keeps_the_grid(bs_space):
    shrunk = bs_space.shrink_below("bs", 128)
    assert shrunk["bs"].to_spec() == {"type": "qloguniform", "range": [8, 120, 8, 2]}
    assert shrunk["bs"].grid() == list(range(8, 121, 8)) and shrunk["bs"].name == "bs"
    assert bs_space["bs"].to_spec()["range"] == [8, 256, 8, 2]  # not mutated
    assert bs_space.shrink_below("bs", 130)["bs"].to_spec()["range"][1] == 128
    assert bs_space.shrink_below("bs", 1000)["bs"].to_spec()["range"][1] == 256
    rng = np.random.default_rng(0)
    assert all(shrunk.sample(rng)["bs"] < 128 for _ in range(500))


def test_shrink_below_to_a_single_point(bs_space):
    one = bs_space.shrink_below("bs", 16)
    assert one["bs"].to_spec()["range"] == [8, 8, 8, 2] and one["bs"].grid() == [8]
    rng = np.random.default_rng(0)
    assert {one.sample(rng)["bs"] for _ in range(100)} == {8}
    assert SearchSpace.from_spec(json.loads(json.dumps(one.to_spec()))) == one
    assert one["bs"].encode(8) == 0.5 and one["bs"].decode(0.9) == 8
    with pytest.raises(SpaceExhausted, match="smallest batch size 8 ran out of memory"):
        one.shrink_below("bs", 8)


def test_old_trials_still_encode_and_key_after_a_shrink(bs_space):
    old = {"lr": 0.5, "bs": 256}
    shrunk = bs_space.shrink_below("bs", 128)
    assert not shrunk.contains(old)
    assert shrunk.encode(old)[1] == 1.0 and shrunk.encode({"lr": 0.5, "bs": 4})[1] == 0.0
    assert shrunk.key(old) == shrunk.key({"bs": 256.0, "lr": 0.5}) == (("lr", 0.5), ("bs", 256))
    valid = {"lr": 0.5, "bs": 120}
    assert shrunk.key(old) != shrunk.key(valid) and shrunk.key(valid) == bs_space.key(valid)
    choice = search_space("choice", ["a", 1])
    assert choice.canonical("b") == ("invalid", "str", "'b'") and choice.canonical(True) != 1
    assert search_space("quniform", [0, 10, 2]).canonical(3) == 3  # off grid: keyed by value


def test_shrink_below_exhausted(bs_space):
    for failed in (8, 8.0, 4):
        with pytest.raises(SpaceExhausted) as e:
            bs_space.shrink_below("bs", failed)
        assert isinstance(e.value, ValueError)
        assert "parameter 'bs'" in str(e.value) and "smallest batch size 8" in str(e.value)


@pytest.mark.parametrize("name", ["lr", "missing"])
def test_shrink_below_requires_a_quantized_parameter(bs_space, name):
    with pytest.raises(ValueError, match="batch_size_name must name a quantized parameter"):
        bs_space.shrink_below(name, 64)


def test_below_on_quniform_and_float_grids():
    p = search_space("quniform", [1, 10, 2], name="n")
    assert p.below(10).to_spec()["range"] == [1, 9, 2]
    assert p.below(9).to_spec()["range"] == [1, 7, 2]
    assert p.below(3.5).to_spec()["range"] == [1, 3, 2]
    f = search_space("quniform", [0.1, 0.7, 0.2])
    assert f.below(0.7).grid() == f.grid()[:3]
    assert f.below(0.30000000000000004).grid() == [0.1]
    with pytest.raises(ValueError, match="finite number"):
        p.below(math.nan)


# ---------------------------------------------------------------- snapping (an optimizer's candidates)

SNAP_SPECS = [("quniform", [8, 512, 8]), ("quniform", [0.0, 1.0, 0.15]), ("qloguniform", [16, 512, 1]),
              ("qloguniform", [0.01, 10.0, 0.01]), ("choice", ["a", 2, None, 1.5, True]), ("choice", [7])]


@pytest.mark.parametrize("spec", SNAP_SPECS)
def test_the_snapper_gives_the_unit_point_of_the_decoded_value(spec):
    space = SearchSpace({"p": search_space(*spec)})
    u = np.concatenate([np.random.default_rng(0).random(3000), [0.0, 1.0, -0.5, 2.0, np.nan]])[:, None]

    snapped = space.snapper()(u)

    np.testing.assert_allclose(snapped, [space.encode(space.decode(x)) for x in u], rtol=0, atol=1e-12)
    assert [space.decode(x) for x in snapped] == [space.decode(x) for x in u]


def test_the_snapper_moves_the_grid_columns_of_each_row_and_leaves_the_rest():
    space = SearchSpace({"lr": search_space("loguniform", [1e-4, 1.0]), "width": search_space("quniform", [8, 512, 8]),
                         "batch": search_space("choice", [16, 32, 64]), "drop": search_space("uniform", [0.0, 0.5])})
    x = np.random.default_rng(1).random((500, 4))

    snapped = space.snapper()(x)

    np.testing.assert_array_equal(snapped[:, [0, 3]], x[:, [0, 3]])
    np.testing.assert_allclose(snapped, [space.encode(space.decode(row)) for row in x], rtol=0, atol=1e-12)
    assert [space.decode(row) for row in snapped] == [space.decode(row) for row in x]


@pytest.mark.parametrize("spec", [("uniform", [0.0, 1.0]), ("loguniform", [1e-4, 1.0])])
def test_a_continuous_space_has_no_snapper(spec):
    assert SearchSpace({"x": search_space(*spec)}).snapper() is None
