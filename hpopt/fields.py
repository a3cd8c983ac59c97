"""The arguments of ``hpopt.create()``: one table of their rules and defaults.

The library checks arguments with it (hpopt.settings, hpopt.plan), the
dashboard's API reports every broken rule under its field with it
(studies.validation), and the browser takes its instant checks and its
defaults from it (``schema()``, served with the new-study page), so a rule
is written once. Every message names the field first and says the rule:
``expected_time_ratio must be a number in (1, 1e+06] (got 0.5)``.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
import reprlib
import sys
from typing import Any

from hpopt.errors import FieldError

#: counts above this lose precision as floats (and mean nothing as trials or epochs)
MAX_COUNT = 2**53
#: iterations are stored in 32-bit columns by the dashboard; the same limit
#: everywhere, so a study that runs from a script also runs in a worker
MAX_ITERATION = 2**31 - 1
#: beyond this trial counts stop fitting in a float (and mean nothing)
MAX_TIME_RATIO = 1e6

ALGORITHMS = ("bayes_opt", "asha")
ALIASES = {"baye_opt": "bayes_opt", "bayes_opt": "bayes_opt", "smbo": "bayes_opt", "asha": "asha"}


def canonical_algorithm(name) -> str:
    """Map ``name`` (case/whitespace-insensitive) through ALIASES; FieldError otherwise."""
    key = name.strip().lower() if isinstance(name, str) else None
    if key not in ALIASES:
        valid = ", ".join(repr(a) for a in ALIASES)
        raise FieldError("search_alg", f"search_alg must be one of {valid}; got {name!r}")
    return ALIASES[key]


def is_finite_number(value) -> bool:
    """A real number, not a bool, and finite; an int too large for a float is
    not (math.isfinite would raise OverflowError on it)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    if isinstance(value, numbers.Integral):
        return abs(int(value)) <= sys.float_info.max
    return math.isfinite(value)


def _num(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


@dataclasses.dataclass(frozen=True)
class Rule:
    """What one argument accepts. ``kind``: "int", "number", "bool",
    "choice", "text" or "algorithm"; bounds are inclusive unless ``*_open``;
    ``optional``: None is accepted too (Auto Config chooses, or off)."""

    kind: str
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    min_open: bool = False
    max_open: bool = False
    optional: bool = False
    required: bool = False
    choices: tuple = ()
    #: the algorithm the argument is for (None: both)
    algorithm: str | None = None
    #: appended to the rule's words
    note: str = ""

    def words(self) -> str:
        """The rule as the messages and the form say it."""
        if self.kind == "int":
            lo = self.minimum if self.minimum is not None else 0
            top = "2**53" if self.maximum == MAX_COUNT else self.maximum
            text = f"an integer from {lo} to {top}" if top is not None else f"an integer >= {lo}"
        elif self.kind == "number":
            text = "a number " + self._interval()
        elif self.kind == "bool":
            text = "True or False"
        elif self.kind == "choice":
            text = " or ".join(repr(c) for c in self.choices)
        elif self.kind == "algorithm":
            text = "one of " + ", ".join(repr(a) for a in ALIASES)
        else:
            text = "a non-empty string"
        text = ("None or " if self.optional and self.kind != "choice" else "") + text
        return f"{text} {self.note}".strip()

    def _interval(self) -> str:
        lo, hi = self.minimum, self.maximum
        if lo is not None and hi is not None:
            return f"in {'(' if self.min_open else '['}{_num(lo)}, {_num(hi)}{')' if self.max_open else ']'}"
        if lo is not None:
            return f"{'>' if self.min_open else '>='} {_num(lo)}"
        return f"{'<' if self.max_open else '<='} {_num(hi)}"

    def check(self, name: str, value):
        """The value, normalised (numpy numbers to Python ones, an algorithm
        alias to its name), or FieldError naming ``name`` and the rule."""
        if value is None and self.optional:
            return None
        ok = self._accepts(value)
        if ok is None:
            if self.kind == "algorithm":
                return canonical_algorithm(value)
            raise FieldError(name, f"{name} must be {self.words()} (got {reprlib.repr(value)})")
        return ok[0]

    def _accepts(self, v) -> tuple | None:
        """(normalised value,) when ``v`` follows the rule, else None."""
        if self.kind == "int":
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or not self._in_bounds(int(v)):
                return None
            return (int(v),)
        if self.kind == "number":
            return (float(v),) if is_finite_number(v) and self._in_bounds(float(v)) else None
        if self.kind == "bool":
            return (v,) if isinstance(v, bool) else None
        if self.kind == "choice":
            return (v,) if any(v == c and type(v) is type(c) for c in self.choices) else None
        if self.kind == "text":
            return (v,) if isinstance(v, str) and v != "" else None
        return None  # algorithm: canonical_algorithm decides

    def _in_bounds(self, v) -> bool:
        lo, hi = self.minimum, self.maximum
        return ((lo is None or (v > lo if self.min_open else v >= lo))
                and (hi is None or (v < hi if self.max_open else v <= hi)))

    def to_json(self) -> dict:
        d = {k: v for k, v in dataclasses.asdict(self).items() if k != "note"}
        d["choices"] = list(self.choices)
        d["words"] = self.words()
        return d


_INT = dict(kind="int", minimum=1)
RULES: dict[str, Rule] = {
    "full_dataset_size": Rule(**_INT, maximum=MAX_COUNT, required=True),
    "num_full_iterations": Rule(**_INT, maximum=MAX_ITERATION, required=True),
    "search_alg": Rule("algorithm", default="bayes_opt"),
    "save_path": Rule("text", default="hpo"),
    "mode": Rule("choice", default="max", choices=("max", "min")),
    "expected_time_ratio": Rule("number", default=4.0, minimum=1, maximum=MAX_TIME_RATIO, min_open=True),
    "non_pure_train_ratio": Rule("number", default=0.2, minimum=0, maximum=1, max_open=True),
    "num_trials": Rule(**_INT, maximum=MAX_COUNT, optional=True),
    "max_iterations": Rule(**_INT, maximum=MAX_ITERATION, optional=True),
    "subset_ratio": Rule("number", minimum=0, min_open=True, optional=True, note="(values > 1 mean the full set)"),
    "min_subset_size": Rule(**_INT, default=500, maximum=MAX_COUNT),
    "num_workers": Rule(**_INT, default=1, maximum=MAX_COUNT),
    "batch_size_name": Rule("text", optional=True, note="naming a quantized parameter of the search space"),
    "resume": Rule("bool", default=False),
    "early_stop": Rule("choice", choices=(None, "median_stop"), algorithm="bayes_opt"),
    "num_init_trial": Rule(**_INT, default=5, maximum=MAX_COUNT, algorithm="bayes_opt"),
    "kappa": Rule("number", default=2.576, minimum=0, algorithm="bayes_opt"),
    "kappa_decay": Rule("number", default=1.0, minimum=0, maximum=1, min_open=True, algorithm="bayes_opt"),
    "kappa_decay_delay": Rule("int", default=0, minimum=0, maximum=MAX_COUNT, algorithm="bayes_opt"),
    "min_iterations": Rule(**_INT, maximum=MAX_ITERATION, optional=True, algorithm="asha"),
    "reduction_factor": Rule("int", default=2, minimum=2, maximum=MAX_COUNT, algorithm="asha"),
    "num_brackets": Rule(**_INT, maximum=MAX_COUNT, optional=True, algorithm="asha"),
    "backfill": Rule("bool", default=True, algorithm="asha"),
    #: ASHA: decide at a rung on arrival, or pause there until promoted (see README, "Promotion")
    "promotion": Rule("choice", default="on_arrival", choices=("on_arrival", "pause"), algorithm="asha"),
    #: ASHA: where new configs come from (see README, "ASHA's sampler"); a study
    #: stored without one ran with "tpe" (hpopt.settings.STORED_BEFORE)
    "sampler": Rule("choice", default="gp", choices=("gp", "tpe"), algorithm="asha"),
    "seed": Rule("int", minimum=0, optional=True),
    #: a trial's start-up (process start, data loading, model build) in
    #: full-epoch equivalents: seconds of start-up / seconds of a full epoch
    "startup_epochs": Rule("number", default=0.0, minimum=0, maximum=MAX_TIME_RATIO),
    #: the budget caps what a study spends (see README, "The budget is a promise")
    "hard_budget": Rule("bool", default=True),
}
#: every argument's default (None: Auto Config chooses, or the feature is off)
DEFAULTS = {name: rule.default for name, rule in RULES.items()}


def schema(names=None) -> dict:
    """The rules of ``names`` (default: all) as JSON, for the browser."""
    return {n: RULES[n].to_json() for n in (names or RULES)}
