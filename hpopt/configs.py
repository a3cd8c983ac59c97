"""A config given by hand (``HPO.enqueue``, the dashboard's "Try a config"),
checked against a search space.

Sampled configs are valid by construction; a typed one is checked here:
every parameter present, no unknown name, each value inside its range, on
its grid or among its choices. Each parameter at fault gets a message that
names it and the rule, all at once (hpopt.errors.ConfigError), so a form
can show each at its input.
"""
from __future__ import annotations

import math
import reprlib
from typing import Any, Mapping

import numpy as np

from hpopt.errors import ConfigError
from hpopt.fields import is_finite_number
from hpopt.params import Choice, Param
from hpopt.space import SearchSpace


def check(space: SearchSpace, params: Any) -> dict:
    """``params`` as the space gives its values (a grid point as the grid's
    number, 64 for 64.0 on an integer grid; a choice as the stored object),
    in the space's order; ConfigError naming every parameter at fault."""
    if not isinstance(params, Mapping):
        raise ConfigError({"params": f"params must be an object of parameter -> value "
                                     f"(got {type(params).__name__})"})
    errors, out = {}, {}
    for name in space:
        if name not in params:
            errors[name] = f"parameter {name!r}: missing (a config gives every parameter of the space)"
        elif space[name].contains(params[name]):
            out[name] = value_of(space[name], params[name])
        else:
            errors[name] = f"parameter {name!r}: {why_not(space[name], params[name])}"
    for name in params:
        if name not in space:
            errors[str(name)] = (f"parameter {reprlib.repr(name)}: not in the search space "
                                 f"(its parameters: {', '.join(space.names)})")
    if errors:
        raise ConfigError(errors)
    return out


def value_of(param: Param, value: Any) -> Any:
    """A valid ``value`` as ``param`` gives it."""
    if isinstance(param, Choice):
        value = value.item() if isinstance(value, np.generic) else value
        # choices differ by type and value (True, 1 and 1.0 are three)
        return next(c for c in param.choices if type(c) is type(value) and c == value)
    # a grid value as the grid's own number, a continuous one as a float
    return param.canonical(value)


def why_not(param: Param, value: Any) -> str:
    """The rule an invalid ``value`` breaks."""
    if isinstance(param, Choice):
        return f"{reprlib.repr(value)} is not one of the choices {reprlib.repr(list(param.choices))}"
    if isinstance(value, (bool, np.bool_)) or not is_finite_number(value):
        return f"must be a finite number (got {reprlib.repr(value)})"
    v = value.item() if isinstance(value, np.generic) else value
    if not param.low <= v <= param.high:
        return f"{v!r} is outside the range [{param.low!r}, {param.high!r}]"
    # on a grid (a continuous value inside its range is valid)
    k = math.floor((v - param.low) / param.q)
    near = [p for p in (param.low + k * param.q, param.low + (k + 1) * param.q) if p <= param.high]
    return f"{v!r} is not on the grid {param.low!r} + k*{param.q!r} (nearest: {' or '.join(map(repr, near))})"
