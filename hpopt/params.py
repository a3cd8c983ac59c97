"""Hyperparameter types: one :class:`Param` per hyperparameter.

Five types exist (see ``SPACE_TYPES``); build them with :func:`search_space`::

    uniform      [low, high]            float, uniform
    quniform     [low, high, q]         uniform, snapped to the grid low + k*q
    loguniform   [low, high(, base)]    float, log-uniform
    qloguniform  [low, high, q(, base)] log-uniform, snapped to low + k*q
    choice       [v0, v1, ...]          one of the listed objects

Invariants every value from ``sample``/``decode`` obeys:

* numeric values lie in ``[low, high]``;
* quantized values lie on the grid ``low + k*q`` with integer ``k >= 0`` and
  ``low + k*q <= high`` (the top point may be below ``high``);
* quantized params whose low, high and q are all ``int`` give Python ``int``;
  every other numeric param gives Python ``float`` (never a numpy scalar);
* ``choice`` gives the object stored in its list.

:class:`hpopt.space.SearchSpace` combines named params into a search space.
"""
from __future__ import annotations

import math
import numbers
import reprlib
import sys
from typing import Any, Mapping

import numpy as np

__all__ = ["SPACE_TYPES", "Param", "Uniform", "QUniform", "LogUniform", "QLogUniform",
           "Choice", "SpaceExhausted", "search_space", "search_space_layouts"]

SPACE_TYPES = ("uniform", "quniform", "loguniform", "qloguniform", "choice")

_CHOICE_TYPES = (str, int, float, bool, type(None))
# Float grid points low + k*q carry rounding error of a few ulps of the bounds'
# magnitude; grid tests allow that much (and at least 1e-9 of a step).
_REL_TOL = 1e-9
_ULPS = 4 * 2.0 ** -52


class SpaceExhausted(ValueError):
    """Raised by ``below``/``shrink_below`` when no grid value is left."""


def _describe(type_: Any, range_: Any, name: str | None) -> str:
    if name is not None:
        return f"parameter {name!r}: "
    return f"search_space({type_!r}, {reprlib.repr(range_)}): "


def _check_name(name: Any) -> None:
    if name is not None and (not isinstance(name, str) or not name):
        raise ValueError(f"parameter names must be non-empty strings (got {name!r})")


def _real(value: Any) -> int | float | None:
    """``value`` as a Python int/float if it is a finite non-bool number, else None."""
    if type(value) in (int, float):   # the usual cases first: the ABC checks below are slow
        return value if type(value) is int or math.isfinite(value) else None
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(value := float(value)):
        return value
    return None


def _clip_unit(u: Any) -> float:
    u = float(u)
    return 0.5 if math.isnan(u) else min(max(u, 0.0), 1.0)


def _typed(values) -> tuple:
    # True == 1 == 1.0 in Python, so identity of specs must include the type.
    return tuple((type(v).__name__, v) for v in values)


class Param:
    """One hyperparameter.  Abstract: use :func:`search_space` or a subclass.

    Params are immutable by convention; ``with_name``/``below`` return copies.
    For every param ``p`` and any float ``u`` (even NaN or outside [0, 1]),
    ``p.contains(p.decode(u))`` holds, and ``0 <= p.encode(v) <= 1`` for every
    ``v`` with ``p.contains(v)``.
    """

    type: str = ""
    name: str | None

    def __init__(self, range: Any, name: str | None = None) -> None:  # noqa: A002
        if not self.type:
            raise TypeError("Param is abstract; build params with search_space()")
        _check_name(name)
        self.name = name
        self._prefix = _describe(self.type, range, name)
        if not isinstance(range, (list, tuple)):
            raise self._error(f"range must be a list or tuple (got {type(range).__name__})")
        self._check_length(len(range))
        self._setup(list(range))

    # Subclasses define _check_length, _setup, _range, decode, and _locate
    # (value -> location, or None if invalid), _unit (location -> [0, 1]) and
    # _canon (location -> hashable canonical value).

    def decode(self, u: float) -> Any:
        """Map any float to a valid value (u is clipped to [0, 1]; NaN -> 0.5)."""
        raise NotImplementedError

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is a valid value of this param (kind, range, grid)."""
        return self._locate(value) is not None

    def encode(self, value: Any) -> float:
        """Map a valid value into [0, 1]; raises ValueError for values of the wrong kind."""
        return self._unit(self._located(value))

    def canonical(self, value: Any) -> Any:
        """Hashable canonical form: equal valid values give equal forms.

        Never raises: a value outside the param (e.g. a batch size above the
        high left by ``below``) gets a form no valid value has.
        """
        loc = self._locate(value)
        return self._canon(loc) if loc is not None else self._foreign(value)

    def _canon(self, loc: Any) -> Any:
        return loc

    def _foreign(self, value: Any) -> Any:
        return ("invalid", type(value).__name__, repr(value))

    def _located(self, value: Any) -> Any:
        loc = self._locate(value)
        if loc is None:
            raise self._error(f"{reprlib.repr(value)} is not a valid value for {self!r}")
        return loc

    # -- shared behaviour ------------------------------------------------
    @property
    def is_int(self) -> bool:
        """True when values are Python ints."""
        return False

    def sample(self, rng: np.random.Generator) -> Any:
        """One draw; consumes exactly one ``rng.random()`` so seeds are reproducible."""
        return self.decode(rng.random())

    def to_spec(self) -> dict:
        """``{"type": ..., "range": [...]}``, JSON-serialisable; ``from_spec`` round-trips it."""
        return {"type": self.type, "range": self._range()}

    @staticmethod
    def from_spec(spec: Any, name: str | None = None) -> "Param":
        """Build a param from ``{"type": ..., "range": [...]}`` (as made by ``to_spec``)."""
        if not isinstance(spec, Mapping) or set(spec) != {"type", "range"}:
            where = f"parameter {name!r}: " if name is not None else ""
            raise ValueError(f"{where}a spec must be a dict with exactly the keys 'type' and "
                             f"'range' (got {reprlib.repr(spec)})")
        return search_space(spec["type"], spec["range"], name=name)

    def with_name(self, name: str | None) -> "Param":
        """Copy carrying ``name``; re-validated so any error names it."""
        return type(self)(self._range(), name=name)

    def _error(self, message: str) -> ValueError:
        return ValueError(self._prefix + message)

    def _ident(self) -> tuple:
        return (self.type, _typed(self._range()), self.name)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._ident() == other._ident()

    def __hash__(self) -> int:
        return hash(self._ident())

    def __repr__(self) -> str:
        named = f", name={self.name!r}" if self.name is not None else ""
        return f"search_space({self.type!r}, {self._range()!r}{named})"


class _Numeric(Param):
    """Shared validation and unit mapping of the four numeric types.

    Attributes: low, high, q (None unless quantized) and base (None when not
    given; the default 10 is implied).  base only appears in the spec: the
    distribution is the same for every base.
    """

    _log = False
    _quantized = False
    _shapes: tuple[str, ...] = ()   # accepted range layouts, for messages

    def _check_length(self, n: int) -> None:
        lengths = sorted({s.count(",") + 1 for s in self._shapes})
        if n not in lengths:
            raise self._error(
                f"range for {self.type!r} must have {' or '.join(map(str, lengths))} elements "
                f"({' or '.join(self._shapes)}), got {n}")

    def _number(self, value: Any, what: str) -> int | float:
        if isinstance(value, (bool, np.bool_)):
            raise self._error(f"{what} must be a number, not a bool (got {value!r})")
        if not isinstance(value, numbers.Real):
            raise self._error(f"{what} must be a number (got {reprlib.repr(value)})")
        # compared as a Python number: numpy's float32 would overflow casting float max
        v = _real(value)
        if v is None or abs(v) > sys.float_info.max:
            raise self._error(f"{what} must be finite (got {reprlib.repr(value)})")
        return v

    def _setup(self, values: list) -> None:
        low, high = self._number(values[0], "low"), self._number(values[1], "high")
        rest = values[2:]
        q = self._number(rest.pop(0), "q") if self._quantized else None
        base = self._number(rest[0], "base") if rest else None
        if self._quantized and low > high:
            raise self._error(f"low must be <= high (got low={low!r}, high={high!r})")
        if not self._quantized and low >= high:
            raise self._error(f"low must be < high (got low={low!r}, high={high!r})")
        if not math.isfinite(float(high) - float(low)):
            raise self._error(f"high - low must be finite (got low={low!r}, high={high!r})")
        if not (self._quantized and all(type(v) is int for v in (low, high, q))):
            # values are floats here: a bound a float cannot hold exactly (an
            # int beyond 2**53) would let decode() return values outside it
            for what, v in (("low", low), ("high", high)):
                if isinstance(v, int) and float(v) != v:
                    raise self._error(f"{what} must be exactly representable as a float, e.g. {float(v)!r} "
                                      f"(got {v!r})")
        if self._log and low <= 0:
            raise self._error(f"low must be > 0 on a log scale (got low={low!r})")
        if self._log and low < high and not math.log(high) > math.log(low):
            # the unit mapping divides by log(high) - log(low)
            raise self._error(f"low and high are too close for a log scale at float precision "
                              f"(got low={low!r}, high={high!r})")
        if base is not None and base <= 1:
            raise self._error(f"base must be > 1 (got base={base!r})")
        if q is not None:
            if q <= 0:
                raise self._error(f"q must be > 0 (got q={q!r})")
            self._tol = max(q * _REL_TOL, _ULPS * max(abs(low), abs(high)))
            ints = all(type(v) is int for v in (low, high, q))
            if (self._tol > q * 1e-2 and not ints) or (high - low) / q > 2.0 ** 53:
                raise self._error(f"q={q!r} is too small for float precision at "
                                  f"low={low!r}, high={high!r}")
            # low == high is a one-point grid (what ``below`` may leave); any q > 0 fits it.
            if low < high and q > high - low + self._tol:
                raise self._error(f"q must be <= high - low unless low == high "
                                  f"(got q={q!r}, high - low={high - low!r})")
        self.low, self.high, self.q, self.base = low, high, q, base

    def _range(self) -> list:
        return [v for v in (self.low, self.high, self.q, self.base) if v is not None]

    def encode(self, value: Any) -> float:
        """Map a value into [0, 1]; ValueError unless it is a finite number.

        Numbers off the grid or outside [low, high] are clamped rather than
        rejected: after ``shrink_below`` earlier trials may lie above the new
        high, and optimizers still need to place them.
        """
        loc = self._locate(value)
        if loc is not None:
            return self._unit(loc)
        v = _real(value)
        if v is None:
            raise self._error(f"{reprlib.repr(value)} is not a finite number")
        return self._to_unit(min(max(v, self.low), self.high))

    def _foreign(self, value: Any) -> Any:
        v = _real(value)
        if v is None:
            return super()._foreign(value)
        # Out-of-range numbers key by value, so 256 and 256.0 still coincide.
        if self.is_int and (isinstance(v, int) or v.is_integer()):
            return int(v)
        return float(v)

    def _from_unit(self, u: float) -> float:
        if self._log:
            lo, hi = math.log(self.low), math.log(self.high)
            return math.exp(lo + u * (hi - lo))
        return self.low + u * (self.high - self.low)

    def _to_unit(self, x: int | float) -> float:
        if self.low == self.high:
            return 0.5
        if self._log:
            lo, hi = math.log(self.low), math.log(self.high)
            u = (math.log(x) - lo) / (hi - lo)
        else:
            u = (x - self.low) / (self.high - self.low)
        return min(max(float(u), 0.0), 1.0)


class _Continuous(_Numeric):
    """Float in [low, high].  decode(encode(v)) equals v up to float rounding."""

    def decode(self, u: float) -> float:
        u = _clip_unit(u)
        # exp(log(low)) need not be low, so the endpoints are mapped exactly.
        x = self.low if u == 0.0 else self.high if u == 1.0 else self._from_unit(u)
        return float(min(max(x, self.low), self.high))

    def _locate(self, value: Any) -> float | None:
        v = _real(value)
        return float(v) if v is not None and self.low <= v <= self.high else None

    _unit = _Numeric._to_unit


class _Quantized(_Numeric):
    """Grid ``low + k*q`` for k = 0..steps; decode snaps to the nearest grid point.

    Snapping happens in linear space (also for qloguniform) and k is clamped to
    [0, steps], so values never leave [low, high].  ``low == high`` is allowed
    and gives a one-point grid.  decode(encode(v)) == v exactly for grid values
    produced by sample/decode/grid; other float values accepted by ``contains``
    (within rounding: 4 ulps of the bounds or 1e-9 of q) come back as the
    nearest grid point.
    """

    _quantized = True

    def _setup(self, values: list) -> None:
        super()._setup(values)
        low, high, q = self.low, self.high, self.q
        if self.is_int:
            self._steps = (high - low) // q
        else:
            # When high is (up to rounding) a grid point, it must count as one.
            t = (high - low) / q
            k = round(t)
            self._steps = k if abs(low + k * q - high) <= self._tol else math.floor(t)

    @property
    def is_int(self) -> bool:
        return all(type(v) is int for v in (self.low, self.high, self.q))

    def _point(self, k: int) -> int | float:
        if self.is_int:
            return self.low + k * self.q
        if k == 0:
            return float(self.low)
        # low + k*q may overshoot high by an ulp when high sits on the grid.
        return float(min(self.low + k * self.q, self.high))

    def _snap(self, x: float) -> int:
        k = math.floor((x - self.low) / self.q + 0.5)
        return min(max(k, 0), self._steps)

    def _locate(self, value: Any) -> int | None:
        v = _real(value)
        if v is None or not self.low <= v <= self.high:
            return None
        if self.is_int:
            if isinstance(v, float):
                if not v.is_integer():
                    return None
                v = int(v)
            k, r = divmod(v - self.low, self.q)
            return k if r == 0 else None
        k = self._snap(v)
        return k if abs(v - self._point(k)) <= self._tol else None

    def decode(self, u: float) -> int | float:
        return self._point(self._snap(self._from_unit(_clip_unit(u))))

    def _unit(self, k: int) -> float:
        return self._to_unit(self._point(k))

    def _canon(self, k: int) -> int | float:
        return self._point(k)

    def grid(self) -> list:
        """All grid values, ascending: low, low + q, ..., the top point <= high."""
        return [self._point(k) for k in range(self._steps + 1)]

    def below(self, value: Any) -> "_Quantized":
        """Copy whose high is the largest grid value strictly below ``value``.

        low, q, base and name are kept, so the new grid is a prefix of this one.
        Raises SpaceExhausted when ``value <= low`` (nothing is left).
        """
        v = _real(value)
        if v is None:
            raise self._error(f"below() needs a finite number (got {value!r})")
        if v <= self.low:
            raise SpaceExhausted(
                self._prefix + f"even the smallest batch size {self.low!r} ran out of memory")
        k = min(self._steps, math.ceil((v - self.low) / self.q) - 1)
        # The estimate can be off by one on float grids; walk to the exact answer.
        while k > 0 and self._point(k) >= v:
            k -= 1
        while k < self._steps and self._point(k + 1) < v:
            k += 1
        values = self._range()
        values[1] = self._point(k)
        return type(self)(values, name=self.name)


class Uniform(_Continuous):
    type = "uniform"
    _shapes = ("[low, high]",)


class LogUniform(_Continuous):
    type = "loguniform"
    _log = True
    _shapes = ("[low, high]", "[low, high, base]")


class QUniform(_Quantized):
    type = "quniform"
    _shapes = ("[low, high, q]",)


class QLogUniform(_Quantized):
    type = "qloguniform"
    _log = True
    _shapes = ("[low, high, q]", "[low, high, q, base]")


class Choice(Param):
    """Categorical choice among str/int/float/bool/None values.

    Values are told apart by (type, value), so True, 1 and 1.0 are three
    distinct choices.  Choice i of n encodes to (i + 0.5) / n; decode returns
    the stored object itself.  numpy scalars are converted to Python values.
    """

    type = "choice"
    choices: tuple

    def _check_length(self, n: int) -> None:
        if n == 0:
            raise self._error("choice range must not be empty (give at least one value)")

    def _setup(self, values: list) -> None:
        index: dict = {}
        for i, v in enumerate(values):
            v = values[i] = v.item() if isinstance(v, np.generic) else v
            if type(v) not in _CHOICE_TYPES:
                raise self._error(f"choices must be str, int, float, bool or None "
                                  f"(got {type(v).__name__} {reprlib.repr(v)} at index {i})")
            if type(v) is float and not math.isfinite(v):
                raise self._error(f"float choices must be finite (got {v!r} at index {i})")
            key = (type(v), v)
            if key in index:
                raise self._error(f"duplicate choice {v!r} at index {index[key]} and {i}")
            index[key] = i
        self.choices = tuple(values)
        self._index_of = index

    def _range(self) -> list:
        return list(self.choices)

    def _locate(self, value: Any) -> int | None:
        if isinstance(value, np.generic):
            value = value.item()
        if type(value) not in _CHOICE_TYPES:
            return None
        return self._index_of.get((type(value), value))

    def decode(self, u: float) -> Any:
        n = len(self.choices)
        return self.choices[min(int(_clip_unit(u) * n), n - 1)]

    def _unit(self, i: int) -> float:
        return (i + 0.5) / len(self.choices)


_CLASSES: dict[str, type[Param]] = {
    cls.type: cls for cls in (Uniform, QUniform, LogUniform, QLogUniform, Choice)}


def search_space(type: str, range: Any, name: str | None = None) -> Param:  # noqa: A002
    """Validate eagerly and build the param; errors are ValueError naming the rule.

    Messages start with ``parameter '<name>': `` when ``name`` is given, else
    with ``search_space('<type>', <range>): ``.
    """
    _check_name(name)
    cls = _CLASSES.get(type) if isinstance(type, str) else None
    if cls is None:
        raise ValueError(_describe(type, range, name) + f"unknown type {type!r}; valid types "
                         f"are: {', '.join(sorted(SPACE_TYPES))}")
    return cls(range, name=name)


def search_space_layouts(type: str) -> list[list[str]]:  # noqa: A002
    """The range layouts a parameter type accepts, as lists of names (what a
    form asks for): ``[["low", "high"], ["low", "high", "base"]]`` for
    loguniform; ``[["values"]]`` for choice (a list of any length)."""
    shapes = getattr(_CLASSES[type], "_shapes", ())
    return [s.strip("[]").split(", ") for s in shapes] or [["values"]]
