"""The arguments of ``hpopt.create()``: names, defaults, checks.

One table of names serves the library, the dashboard's JSON API and its form,
so a misspelled argument gets the same "did you mean" everywhere.
"""
from __future__ import annotations

import dataclasses
import difflib
import numbers
import reprlib

from hpopt.plan import canonical_algorithm, is_finite_number

#: spellings accepted for an argument -> its canonical name
ARG_ALIASES = {"num_init_trials": "num_init_trial"}
EARLY_STOP_METHODS = ("median_stop",)
REQUIRED = ("full_dataset_size", "num_full_iterations", "search_space")


@dataclasses.dataclass(frozen=True)
class Settings:
    """Validated create() arguments. ``search_space`` is kept as a spec dict."""

    full_dataset_size: int
    num_full_iterations: int
    search_space: dict
    search_alg: str = "bayes_opt"
    save_path: str = "hpo"
    mode: str = "max"
    expected_time_ratio: float = 4.0
    non_pure_train_ratio: float = 0.2
    num_trials: int | None = None
    max_iterations: int | None = None
    subset_ratio: float | None = None
    min_subset_size: int = 500
    num_workers: int = 1
    batch_size_name: str | None = None
    resume: bool = False
    early_stop: str | None = None
    num_init_trial: int = 5
    kappa: float = 2.576
    kappa_decay: float = 1.0
    kappa_decay_delay: int = 0
    min_iterations: int | None = None
    reduction_factor: int = 2
    num_brackets: int | None = None
    #: ASHA: once num_trials are handed out, give idle workers shorter extra
    #: trials that end before the running ones (see README, "Backfill")
    backfill: bool = True
    seed: int | None = None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def plan_kwargs(self) -> dict:
        """The arguments of :func:`hpopt.plan.plan` these settings imply."""
        names = (
            "expected_time_ratio", "non_pure_train_ratio", "num_workers", "num_trials",
            "max_iterations", "subset_ratio", "min_subset_size", "min_iterations",
            "reduction_factor", "num_brackets",
        )
        return dict(
            search_alg=self.search_alg, full_dataset_size=self.full_dataset_size,
            num_full_iterations=self.num_full_iterations, **{n: getattr(self, n) for n in names},
        )


ARG_NAMES = tuple(f.name for f in dataclasses.fields(Settings))


def check_names(kwargs: dict) -> dict:
    """Maps aliases to canonical names; a TypeError names any unknown argument
    with the closest valid spelling ('ealry_stop' -> 'early_stop')."""
    out = {}
    for name, value in kwargs.items():
        canonical = ARG_ALIASES.get(name, name)
        if canonical not in ARG_NAMES:
            close = difflib.get_close_matches(name, ARG_NAMES + tuple(ARG_ALIASES), n=1, cutoff=0.6)
            hint = f"; did you mean '{ARG_ALIASES.get(close[0], close[0])}'?" if close else ""
            raise TypeError(f"create() got an unexpected argument '{name}'{hint}")
        if canonical in out:
            raise TypeError(f"create() got '{canonical}' twice (once as '{name}')")
        out[canonical] = value
    missing = [n for n in REQUIRED if out.get(n) is None]
    if missing:
        raise TypeError(f"create() is missing required argument(s): {', '.join(missing)}")
    return out


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v) -> bool:
    return is_finite_number(v)


def _check(ok: bool, name: str, rule: str, value) -> None:
    if not ok:
        raise ValueError(f"{name} {rule} (got {reprlib.repr(value)})")


def make_settings(kwargs: dict) -> Settings:
    """Checks every argument that the plan does not check itself and returns
    Settings. Raises TypeError for unknown/missing names, ValueError otherwise;
    messages start with the argument's name."""
    from hpopt.space import SearchSpace

    kw = check_names(kwargs)
    space = kw["search_space"]
    if not isinstance(space, (dict, SearchSpace)) or not len(space):
        raise ValueError(f"search_space must be a non-empty dict of name -> search_space(...) (got {space!r})")
    space = space if isinstance(space, SearchSpace) else SearchSpace(space)
    kw["search_space"] = space.to_spec()
    kw["search_alg"] = canonical_algorithm(kw.get("search_alg", "bayes_opt"))
    v = kw.get("mode", "max")
    _check(v in ("max", "min"), "mode", "must be 'max' or 'min'", v)
    v = kw.get("early_stop")
    _check(v is None or v in EARLY_STOP_METHODS, "early_stop", "must be None or 'median_stop'", v)
    v = kw.get("save_path", "hpo")
    _check(isinstance(v, str) and v != "", "save_path", "must be a non-empty path string", v)
    v = kw.get("resume", False)
    _check(isinstance(v, bool), "resume", "must be True or False", v)
    v = kw.get("backfill", True)
    _check(isinstance(v, bool), "backfill", "must be True or False", v)
    v = kw.get("num_init_trial", 5)
    _check(_is_int(v) and v >= 1, "num_init_trial", "must be an integer >= 1", v)
    v = kw.get("kappa", 2.576)
    _check(_is_real(v) and v >= 0, "kappa", "must be a finite number >= 0", v)
    v = kw.get("kappa_decay", 1.0)
    _check(_is_real(v) and 0 < v <= 1, "kappa_decay", "must be a number in (0, 1]", v)
    v = kw.get("kappa_decay_delay", 0)
    _check(_is_int(v) and v >= 0, "kappa_decay_delay", "must be an integer >= 0", v)
    v = kw.get("seed")
    _check(v is None or (_is_int(v) and v >= 0), "seed", "must be None or an integer >= 0", v)
    name = kw.get("batch_size_name")
    if name is not None:
        _check(name in space, "batch_size_name", f"must name a parameter of the search space ({', '.join(space.names)})", name)
        _check(space[name].type in ("quniform", "qloguniform"), "batch_size_name",
               "must name a quantized parameter (quniform or qloguniform)", name)
    settings = Settings(**kw)
    from hpopt.plan import plan

    plan(**settings.plan_kwargs())  # raises ValueError naming any bad budget argument
    return settings
