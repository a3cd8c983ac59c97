"""What a study learned about batch sizes and memory: the rule that picks the
batch size a trial runs at after an out-of-memory error.

**Memory key.** Whether a batch size fits depends on the model too, so what
is learned is kept per *memory key*: the values of the other parameters that
are discrete (quniform, qloguniform, choice: a width, a depth, an optimizer
with its state), since those are what change a model's memory; continuous
ones (a learning rate, a dropout) do not. A space whose only discrete
parameter is the batch size has one key for the whole study (``""``), and
there an OOM also shrinks the search space's batch-size range, so samplers
stop proposing sizes known to fail. A discrete parameter that does not
change memory only costs a few more OOMs (the bisection below, per key).

**Bound.** Per key: ``fails``, the smallest size that ran out of memory, and
``fits``, the largest size below it that trained (a first report proves it).
A trial whose sampled size is below ``fails`` runs as sampled; one at or
above it runs at half of ``fails`` while no size is known to fit, then
halfway between ``fits`` and ``fails`` (``between``: the geometric
mean on a log grid), and at ``fits`` once no grid value lies between. So a
trial sampled at 8192 on the grid 32..8192 step 32 that fits at 1024
re-runs 3 times (4096, 2048, 1024) instead of once per grid value below it
(224 times); a key never takes more than about log2(256) = 8 OOMs to learn
its largest size, and a trial never runs below half of what fits unless
its sample was.

**Exhausted.** When even the range's low fails for a key (and no size is
known to fit), nothing smaller exists: that trial fails, naming the key, and
later trials of the key are stopped without running. When that leaves no
model that can run (the study-wide key, or every key of the space), the
study fails.

Stored in the study's meta as ``oom_bounds``: ``{key: {"fits": v, "fails": v}}``.
"""
from __future__ import annotations

import bisect
import dataclasses
import json
import math
from typing import Any, Mapping

from hpopt.params import SpaceExhausted
from hpopt.space import SearchSpace

#: the parameter types that make up a memory key
KEY_TYPES = ("quniform", "qloguniform", "choice")


@dataclasses.dataclass(frozen=True)
class Bound:
    fits: Any = None
    fails: Any = None

    def to_dict(self) -> dict:
        return {"fits": self.fits, "fails": self.fails}


def memory_key(space: SearchSpace, name: str, params: Mapping[str, Any]) -> str:
    """The key of ``params`` (see the module docstring): "" when no other
    parameter is discrete."""
    parts = [[n, params[n]] for n in space.names if n != name and space[n].type in KEY_TYPES]
    return json.dumps(parts) if parts else ""


def describe(key: str) -> str:
    """``width=512, optimizer='adam'`` for an error message; "" for the study-wide key."""
    return ", ".join(f"{n}={v!r}" for n, v in json.loads(key)) if key else ""


def bound_of(bounds: Mapping[str, dict], key: str) -> Bound:
    return Bound(**bounds[key]) if key in bounds else Bound()


def between(param, fits: Any, fails: Any) -> Any:
    """The grid value to try next, strictly between ``fits`` and ``fails``:
    with nothing known to fit (``fits`` None), half of ``fails`` (memory grows
    with the batch size, so halving finds a size within 2x of the largest
    that fits in log2(fails / that size) tries); otherwise halfway in the
    param's measure (the geometric mean on a log grid), a bisection. None
    when no grid value lies between. (Batch-size grids are short: reading
    the whole grid costs nothing next to a training run.)"""
    grid = param.grid()
    bottom = 0 if fits is None else bisect.bisect_right(grid, fits)
    top = bisect.bisect_left(grid, fails) - 1
    if bottom > top:
        return None
    if fits is None:
        middle = fails / 2
    else:
        middle = math.sqrt(fits * fails) if param.type == "qloguniform" else (fits + fails) / 2
    nearest = min(range(bottom, top + 1), key=lambda k: abs(grid[k] - middle))
    return grid[nearest]


def size_to_run(space: SearchSpace, name: str, bound: Bound, sampled: Any) -> Any:
    """The batch size a trial sampled at ``sampled`` runs at under ``bound``."""
    if bound.fails is None or sampled < bound.fails:
        return sampled
    middle = between(space[name], bound.fits, bound.fails)
    return middle if middle is not None else bound.fits


def after_oom(bound: Bound, size: Any) -> Bound:
    """The bound once ``size`` ran out of memory."""
    fails = size if bound.fails is None else min(bound.fails, size)
    # a size that fitted before and fails now (memory varies between runs) is not known to fit any more
    fits = bound.fits if bound.fits is not None and bound.fits < fails else None
    return Bound(fits, fails)


def exhausted(space: SearchSpace, name: str, bound: Bound) -> bool:
    """Even the range's low ran out of memory, and no size is known to fit."""
    return bound.fits is None and bound.fails is not None and bound.fails <= space[name].low


def exhausted_error(space: SearchSpace, name: str, key: str) -> str:
    """Why a trial of ``key`` cannot run: the Param's own words, and the model."""
    text = ""
    try:
        space[name].below(space[name].low)   # always raises, in the Param's own words
    except SpaceExhausted as exc:
        text = str(exc)
    return f"{text} with {describe(key)}" if key else text


def every_key_exhausted(space: SearchSpace, name: str, bounds: Mapping[str, dict]) -> bool:
    """No model of the space fits at any batch size: every memory key is exhausted."""
    keys = 1
    for n in space.names:
        if n != name and space[n].type in KEY_TYPES:
            p = space[n]
            keys *= len(p.choices) if p.type == "choice" else len(p.grid())
    return sum(exhausted(space, name, Bound(**b)) for b in bounds.values()) >= keys


def after_fit(bound: Bound, size: Any) -> Bound | None:
    """The bound once ``size`` trained (its attempt reported), or None when
    that teaches nothing: no OOM is known for its key, or a larger size fitted."""
    if bound.fails is None or size >= bound.fails or (bound.fits is not None and size <= bound.fits):
        return None
    return Bound(size, bound.fails)
