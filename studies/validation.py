"""Checking a study submitted by the browser or a script, field by field.

The rules are the library's own (``hpopt.settings.make_settings``, the search
space classes, ``hpopt.plan.plan``); this module only collects every message
under the field it belongs to, so a form can show each one at its input and
nothing is saved until all is valid.
"""
from __future__ import annotations

import numbers
import re

from hpopt.plan import is_finite_number
from hpopt.settings import ARG_ALIASES, ARG_NAMES, make_settings
from hpopt.space import SearchSpace

#: create() arguments with no meaning for a database-backed study
IGNORED_ARGS = ("save_path", "resume")
DASHBOARD_FIELDS = ("name", "trainer", "parallelism", "seconds_per_epoch", "start", "search_space")
MAX_PARALLELISM = 1024
#: iterations land in integer columns (Trial.iterations, Score.iteration): 32 bits on PostgreSQL
MAX_ITERATIONS = 2**31 - 1
ITERATION_ARGS = ("num_full_iterations", "max_iterations", "min_iterations")
#: a year per epoch: beyond, estimates overflow and mean nothing
MAX_SECONDS_PER_EPOCH = 365 * 86400


def _unstorable_text(value) -> str:
    """Why a string (anywhere inside ``value``) cannot be stored, or "":
    PostgreSQL refuses NUL characters, and no database takes an unpaired
    surrogate (JSON's "\\ud800"). The library has no such limits."""
    pending = [value]  # a stack, not recursion: a body may nest as deep as JSON allows
    while pending:
        v = pending.pop()
        if isinstance(v, str):
            if "\x00" in v:
                return "must not contain NUL characters"
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return "must be valid Unicode (no unpaired surrogates)"
        elif isinstance(v, dict):
            pending.extend(v.keys())
            pending.extend(v.values())
        elif isinstance(v, (list, tuple)):
            pending.extend(v)
    return ""


def _field_of(message: str) -> str:
    """The argument a library message is about: the first argument name it
    mentions (the library's messages start with it)."""
    found = [(m.start(), name) for name in ARG_NAMES for m in [re.search(rf"\b{name}\b", message)] if m]
    return min(found)[1] if found else "__all__"


def _space_errors(space) -> dict:
    errors = {}
    if not isinstance(space, dict) or not space:
        return {"search_space": "search_space must be a non-empty object of name -> {type, range}"}
    for name, spec in space.items():
        why = _unstorable_text({name: spec})
        if why:
            errors[f"search_space.{name}"] = f"parameter names and choices {why}"
            continue
        try:
            SearchSpace({name: spec})
        except (ValueError, TypeError) as exc:
            errors[f"search_space.{name}"] = str(exc)
    return errors


def _positive_number(value) -> bool:
    return is_finite_number(value) and value > 0


def validate_study(data, trainer_names) -> tuple[dict, dict]:
    """Returns (cleaned, errors). ``cleaned`` holds ``settings`` (a validated
    hpopt Settings) and the dashboard fields; ``errors`` maps a field name
    (``search_space.<param>`` for one parameter) to its message."""
    if not isinstance(data, dict):
        return {}, {"__all__": "the body must be a JSON object"}
    errors: dict[str, str] = {}
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        errors["name"] = "name is required"
    elif len(name) > 200:
        errors["name"] = "name must be at most 200 characters"
    elif _unstorable_text(name):
        errors["name"] = f"name {_unstorable_text(name)}"
    trainer = data.get("trainer")
    if not isinstance(trainer, str) or trainer not in trainer_names:
        known = ", ".join(sorted(trainer_names)) or "none yet: start a worker"
        errors["trainer"] = f"trainer must be one of the registered trainers ({known})"
    parallelism = data.get("parallelism", 1)
    if isinstance(parallelism, bool) or not isinstance(parallelism, int) or not 1 <= parallelism <= MAX_PARALLELISM:
        errors["parallelism"] = f"parallelism must be an integer from 1 to {MAX_PARALLELISM}"
    seconds = data.get("seconds_per_epoch", 1.0)
    if not _positive_number(seconds) or seconds > MAX_SECONDS_PER_EPOCH:
        errors["seconds_per_epoch"] = f"seconds_per_epoch must be a number > 0 and at most {MAX_SECONDS_PER_EPOCH}"
    start = data.get("start", False)
    if not isinstance(start, bool):
        errors["start"] = "start must be true or false"
    errors.update(_space_errors(data.get("search_space")))
    for required in ("full_dataset_size", "num_full_iterations"):
        if data.get(required) is None:
            errors[required] = f"{required} is required"

    args = {k: v for k, v in data.items() if k not in DASHBOARD_FIELDS and k not in IGNORED_ARGS}
    unknown = [k for k in args if ARG_ALIASES.get(k, k) not in ARG_NAMES]
    for k in unknown:
        try:
            make_settings({k: args[k]})
        except TypeError as exc:
            errors[k] = str(exc).replace("create() got", "got")
    args = {k: v for k, v in args.items() if k not in unknown}
    for k in ITERATION_ARGS:
        v = args.get(k)
        if isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > MAX_ITERATIONS:
            errors[k] = f"{k} must be at most {MAX_ITERATIONS}"
            args.pop(k)
    args.setdefault("num_workers", parallelism if "parallelism" not in errors else 1)
    settings = None
    if not any(k.startswith("search_space") or k in ("full_dataset_size", "num_full_iterations") for k in errors):
        args["search_space"] = data["search_space"]
        # one message per round; drop the offending argument and look for more
        for _ in range(len(args) + 1):
            try:
                settings = make_settings(args)
                break
            except (TypeError, ValueError) as exc:
                field = _field_of(str(exc))
                errors.setdefault(field, str(exc))
                if field not in args or field == "search_space":
                    break
                args.pop(field)
    if errors:
        return {}, errors
    return {
        "settings": settings, "name": name.strip(), "trainer": trainer, "parallelism": parallelism,
        "seconds_per_epoch": float(seconds), "start": start,
    }, {}
