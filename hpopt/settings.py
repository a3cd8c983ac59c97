"""The arguments of ``hpopt.create()``: names, defaults, and checking them all.

The rules and defaults of each argument live in one table (hpopt.fields).
``validate`` checks every argument against it and collects every broken
rule under its field (the dashboard shows them all at once); ``make_settings``
raises the first of them, for the library. A misspelled argument gets the
same "did you mean" everywhere.
"""
from __future__ import annotations

import dataclasses
import difflib

from hpopt.errors import FieldError
from hpopt.fields import DEFAULTS, RULES
from hpopt.plan import plan
from hpopt.space import SearchSpace

#: spellings accepted for an argument -> its canonical name
ARG_ALIASES = {"num_init_trials": "num_init_trial"}
REQUIRED = ("full_dataset_size", "num_full_iterations", "search_space")
D = DEFAULTS


@dataclasses.dataclass(frozen=True)
class Settings:
    """Validated create() arguments (defaults: hpopt.fields). ``search_space``
    is kept as a spec dict."""

    full_dataset_size: int
    num_full_iterations: int
    search_space: dict
    search_alg: str = D["search_alg"]
    save_path: str = D["save_path"]
    mode: str = D["mode"]
    expected_time_ratio: float = D["expected_time_ratio"]
    non_pure_train_ratio: float = D["non_pure_train_ratio"]
    num_trials: int | None = D["num_trials"]
    max_iterations: int | None = D["max_iterations"]
    subset_ratio: float | None = D["subset_ratio"]
    min_subset_size: int = D["min_subset_size"]
    num_workers: int = D["num_workers"]
    batch_size_name: str | None = D["batch_size_name"]
    resume: bool = D["resume"]
    early_stop: str | None = D["early_stop"]
    num_init_trial: int = D["num_init_trial"]
    kappa: float = D["kappa"]
    kappa_decay: float = D["kappa_decay"]
    kappa_decay_delay: int = D["kappa_decay_delay"]
    min_iterations: int | None = D["min_iterations"]
    reduction_factor: int = D["reduction_factor"]
    num_brackets: int | None = D["num_brackets"]
    #: ASHA: once num_trials are handed out, give idle workers shorter extra
    #: trials that end before the running ones (see README, "Backfill")
    backfill: bool = D["backfill"]
    #: ASHA: "on_arrival" decides at a rung when a trial reaches it; "pause"
    #: pauses it there until it is promoted (the trainer keeps checkpoints)
    promotion: str = D["promotion"]
    #: ASHA: the model that picks new configs: "gp" (MOBSTER's joint GP over
    #: configs and epochs, hpopt.algorithms.gp_sampler) or "tpe" (BOHB's Parzen estimator)
    sampler: str = D["sampler"]
    seed: int | None = D["seed"]
    startup_epochs: float = D["startup_epochs"]
    hard_budget: bool = D["hard_budget"]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_stored(cls, stored: dict) -> "Settings":
        """The settings of a stored study (hpopt.snapshot.Meta, the
        dashboard's rows): an argument it was stored without reads as what
        the study ran with (STORED_BEFORE), not today's default."""
        return cls(**stored_values(stored))

    def plan_kwargs(self) -> dict:
        """The arguments of :func:`hpopt.plan.plan` these settings imply."""
        names = (
            "expected_time_ratio", "non_pure_train_ratio", "num_workers", "num_trials",
            "max_iterations", "subset_ratio", "min_subset_size", "min_iterations",
            "reduction_factor", "num_brackets", "startup_epochs",
        )
        return dict(
            search_alg=self.search_alg, full_dataset_size=self.full_dataset_size,
            num_full_iterations=self.num_full_iterations, **{n: getattr(self, n) for n in names},
        )


ARG_NAMES = tuple(f.name for f in dataclasses.fields(Settings))
#: arguments whose default changed after studies were stored without them ->
#: the value those studies ran with (ASHA's sampler: the TPE until "gp"
#: became the default; a study stored with the TPE as its default says so
#: itself, every stored study holds every argument it had)
STORED_BEFORE = {"sampler": "tpe"}


def stored_values(stored: dict) -> dict:
    """A stored settings dict with the arguments it lacks that STORED_BEFORE names."""
    return {**STORED_BEFORE, **stored}


class UnknownArgument(TypeError):
    """An argument name create() does not have (or one given twice)."""


class MissingArgument(TypeError):
    """A required argument was not given."""


def _names(kwargs: dict, errors: dict) -> dict:
    """Maps aliases to canonical names; an unknown name gets its closest
    valid spelling ('ealry_stop' -> 'early_stop')."""
    out = {}
    for name, value in kwargs.items():
        canonical = ARG_ALIASES.get(name, name)
        if canonical not in ARG_NAMES:
            close = difflib.get_close_matches(name, ARG_NAMES + tuple(ARG_ALIASES), n=1, cutoff=0.6)
            hint = f"; did you mean '{ARG_ALIASES.get(close[0], close[0])}'?" if close else ""
            errors[name] = UnknownArgument(f"create() got an unexpected argument '{name}'{hint}")
        elif canonical in out:
            errors[canonical] = UnknownArgument(f"create() got '{canonical}' twice (once as '{name}')")
        else:
            out[canonical] = value
    for name in REQUIRED:
        if out.get(name) is None:
            errors[name] = MissingArgument(f"{name} is required")
    return out


def _space(value, errors: dict) -> SearchSpace | None:
    """The search space, or None with every parameter's error collected."""
    if isinstance(value, SearchSpace) and len(value):
        return value
    if not isinstance(value, dict) or not value:
        errors["search_space"] = FieldError(
            "search_space", f"search_space must be a non-empty dict of name -> search_space(...) (got {value!r})")
        return None
    found = len(errors)
    for name, spec in value.items():
        try:
            SearchSpace({name: spec})
        except (ValueError, TypeError) as exc:
            errors[f"search_space.{name}"] = FieldError(f"search_space.{name}", str(exc))
    return SearchSpace(value) if len(errors) == found else None


def _batch_size_name(name, space: SearchSpace) -> None:
    if name not in space:
        raise FieldError("batch_size_name", f"batch_size_name must name a parameter of the search space "
                                            f"({', '.join(space.names)}) (got {name!r})")
    if space[name].type not in ("quniform", "qloguniform"):
        raise FieldError("batch_size_name", f"batch_size_name must name a quantized parameter "
                                            f"(quniform or qloguniform) (got {name!r})")


def validate(kwargs: dict) -> tuple[Settings | None, dict[str, Exception]]:
    """(Settings, {}) when every argument is valid, else (None, errors):
    field -> the exception for it (UnknownArgument and MissingArgument are
    TypeErrors, every other a FieldError; one parameter of the space is
    ``search_space.<name>``). Every field is checked on its own; the rules
    that join fields (a plan that fits them, a batch-size parameter of the
    space) once the fields they join are valid."""
    errors: dict[str, Exception] = {}
    kw = _names(kwargs, errors)
    space = _space(kw["search_space"], errors) if kw.get("search_space") is not None else None
    for name, value in kw.items():
        if name in RULES and (value is not None or not RULES[name].required):
            try:
                kw[name] = RULES[name].check(name, value)
            except FieldError as exc:
                errors[name] = exc
    if space is not None and kw.get("batch_size_name") is not None and "batch_size_name" not in errors:
        try:
            _batch_size_name(kw["batch_size_name"], space)
        except FieldError as exc:
            errors["batch_size_name"] = exc
    if errors:
        return None, errors
    settings = Settings(**{**kw, "search_space": space.to_spec()})
    try:
        plan(**settings.plan_kwargs())  # the rules that join fields (min <= max, brackets)
    except FieldError as exc:
        return None, {exc.field: exc}
    return settings, {}


def make_settings(kwargs: dict) -> Settings:
    """Settings from create()'s arguments. Raises TypeError for unknown or
    missing names (all missing ones named at once), else the FieldError (a
    ValueError) of the first broken rule; messages start with the argument's name."""
    settings, errors = validate(kwargs)
    if not errors:
        return settings
    missing = [n for n, e in errors.items() if isinstance(e, MissingArgument)]
    if missing:
        raise TypeError(f"create() is missing required argument(s): {', '.join(missing)}")
    raise next((e for e in errors.values() if isinstance(e, UnknownArgument)), None) or next(iter(errors.values()))
