"""Hyperparameter search spaces.

A search space maps parameter names to :class:`~hpopt.params.Param` objects,
one per hyperparameter.  The param types, their ranges and the invariants of
their values are described in :mod:`hpopt.params`; this module re-exports its
public names, so ``from hpopt.space import Choice, search_space`` works.

The unit encoding maps each param onto ``[0, 1]`` uniformly in its sampling
measure (linear, or log for the log types; choice i of n -> (i + 0.5) / n),
so an optimizer can work on the unit cube and ``decode`` back.
:class:`SearchSpace` does this for a whole space, giving one coordinate per
parameter in ``names`` order.
"""
from __future__ import annotations

import math
from typing import Any, Iterator, Mapping

import numpy as np

from hpopt.params import (
    SPACE_TYPES,
    Choice,
    LogUniform,
    Param,
    QLogUniform,
    QUniform,
    SpaceExhausted,
    Uniform,
    _Quantized,
    search_space,
)

__all__ = ["SPACE_TYPES", "Param", "Uniform", "QUniform", "LogUniform", "QLogUniform",
           "Choice", "SearchSpace", "SpaceExhausted", "search_space"]


class SearchSpace:
    """Ordered mapping name -> Param, keeping the user's order.

    Every Param stored carries its own name.  Methods never mutate the space;
    ``shrink_below`` returns a new one.  ``sample`` draws one ``rng.random()``
    per parameter in ``names`` order, so equal spaces with equal seeds give
    equal samples.
    """

    def __init__(self, params: Mapping[str, Param | dict]) -> None:
        if not isinstance(params, Mapping):
            raise ValueError("SearchSpace: params must be a dict mapping names to Param "
                             f"objects or spec dicts (got {type(params).__name__})")
        self._params: dict[str, Param] = {}
        for name, p in params.items():
            if not isinstance(name, str) or not name:
                raise ValueError(f"SearchSpace: parameter names must be non-empty strings "
                                 f"(got {name!r})")
            if isinstance(p, Param):
                p = p if p.name == name else p.with_name(name)
            else:
                p = Param.from_spec(p, name=name)
            self._params[name] = p

    @classmethod
    def from_spec(cls, spec: Mapping[str, dict]) -> "SearchSpace":
        """Inverse of ``to_spec``."""
        return cls(spec)

    def to_spec(self) -> dict:
        """``{name: {"type": ..., "range": [...]}}``, JSON-serialisable."""
        return {name: p.to_spec() for name, p in self._params.items()}

    @property
    def names(self) -> list[str]:
        return list(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._params))

    def __getitem__(self, name: str) -> Param:
        return self._params[name]

    def __contains__(self, name: object) -> bool:
        return name in self._params

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, SearchSpace)
                and list(self._params.items()) == list(other._params.items()))

    def __repr__(self) -> str:
        return f"SearchSpace({self.to_spec()!r})"

    def _check_keys(self, params: Any) -> None:
        if not isinstance(params, Mapping):
            raise ValueError(f"params must be a dict (got {type(params).__name__})")
        missing = [n for n in self._params if n not in params]
        extra = [n for n in params if n not in self._params]
        if missing or extra:
            raise ValueError(f"params must have exactly the keys {self.names} "
                             f"(missing {missing}, unexpected {extra})")

    def sample(self, rng: np.random.Generator) -> dict:
        """``{name: value}`` with every value valid."""
        return {name: p.sample(rng) for name, p in self._params.items()}

    def encode(self, params: Mapping[str, Any]) -> np.ndarray:
        """Float64 array of shape (len(self),) in [0, 1], in ``names`` order.

        Out-of-range numbers are clamped (see ``Param.encode``)."""
        self._check_keys(params)
        return np.array([p.encode(params[n]) for n, p in self._params.items()], dtype=float)

    def encode_many(self, params: list[dict]) -> np.ndarray:
        """Rows of ``encode``, built column by column (vectorised: one
        ``encode`` per trial is the bulk of a TPE suggestion at 1,000 trials, and
        of a GP's at 500). Keys are not checked.
        Values outside a param (after ``shrink_below``) are clamped as encode does."""
        out = np.empty((len(params), len(self.names)))
        for j, name in enumerate(self.names):
            p = self._params[name]
            if isinstance(p, Choice):
                index, n = p._index_of, len(p.choices)
                out[:, j] = [(i + 0.5) / n if (i := index.get((type(v), v))) is not None else p.encode(v)
                             for v in (d[name] for d in params)]
                continue
            v = np.array([d[name] for d in params], dtype=float)
            v = np.clip(v, p.low, p.high)
            if p.low == p.high:
                out[:, j] = 0.5
            elif p._log:
                lo, hi = math.log(p.low), math.log(p.high)
                out[:, j] = (np.log(v) - lo) / (hi - lo)
            else:
                out[:, j] = (v - p.low) / (p.high - p.low)
        return np.clip(out, 0.0, 1.0)

    def decode(self, x: Any) -> dict:
        """Inverse of ``encode``; any finite or non-finite floats give valid values."""
        arr = np.asarray(x, dtype=float)
        if arr.shape != (len(self),):
            raise ValueError(f"decode expects shape ({len(self)},), got {arr.shape}")
        return {n: p.decode(float(u)) for (n, p), u in zip(self._params.items(), arr)}

    def snapper(self):
        """A function mapping rows of unit-cube points to the rows of
        ``encode(decode(row))``, vectorised as encode_many (an optimizer's
        candidates, as the trials they would run), or None when no parameter
        is quantized or a choice (every point is its own trial)."""
        cols = [(j, p) for j, p in enumerate(self._params.values()) if isinstance(p, (Choice, _Quantized))]
        if not cols:
            return None

        def snap(x):
            x = np.array(x, dtype=float)
            for j, p in cols:
                x[:, j] = _snap_units(p, x[:, j])
            return x

        return snap

    def contains(self, params: Any) -> bool:
        """Same keys as the space and every value valid."""
        return (isinstance(params, Mapping) and set(params) == set(self._params)
                and all(p.contains(params[n]) for n, p in self._params.items()))

    @property
    def is_discrete(self) -> bool:
        """True when every parameter takes finitely many values (grids, choices)."""
        return all(p.type in ("quniform", "qloguniform", "choice") for p in self._params.values())

    def key(self, params: Mapping[str, Any]) -> tuple:
        """Hashable canonical key: equal params (1 vs 1.0 for an int param,
        any key order) give equal keys.  Values outside the space (trials from
        before ``shrink_below``) still get keys; only wrong key sets raise."""
        self._check_keys(params)
        return tuple((n, p.canonical(params[n])) for n, p in self._params.items())

    def shrink_below(self, name: str, failed_value: Any) -> "SearchSpace":
        """New space whose ``name`` param keeps only grid values < ``failed_value``.

        Used after an out-of-memory failure at batch size ``failed_value``.
        Raises SpaceExhausted when even ``low`` failed.
        """
        p = self._params.get(name) if isinstance(name, str) else None
        if not isinstance(p, _Quantized):
            what = "is not in the space" if p is None else f"is {p.type!r}"
            raise ValueError("batch_size_name must name a quantized parameter "
                             f"(quniform or qloguniform); {name!r} {what}")
        params = dict(self._params)
        params[name] = p.below(failed_value)
        return SearchSpace(params)


def _snap_units(p: Param, u: np.ndarray) -> np.ndarray:
    """``p.encode(p.decode(v))`` for each v in ``u``, a Choice or a quantized
    param: decode's steps (clip, the value, its grid point or band) and
    encode's, on arrays."""
    u = np.clip(np.nan_to_num(u, nan=0.5), 0.0, 1.0)
    if isinstance(p, Choice):
        n = len(p.choices)
        return (np.minimum(np.floor(u * n), n - 1) + 0.5) / n
    if p.low == p.high:
        return np.full(u.shape, 0.5)
    lo, hi = (math.log(p.low), math.log(p.high)) if p._log else (p.low, p.high)
    x = lo + u * (hi - lo)
    k = np.clip(np.floor(((np.exp(x) if p._log else x) - p.low) / p.q + 0.5), 0, p._steps)
    points = np.minimum(p.low + k * p.q, p.high)
    return np.clip(((np.log(points) if p._log else points) - lo) / (hi - lo), 0.0, 1.0)
