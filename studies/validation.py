"""Checking a study submitted by the browser or a script, field by field.

The rules are the library's own (``hpopt.settings.validate`` on the table of
``hpopt.fields``, the search space classes, ``hpopt.plan.plan``), which
report every broken rule under its field at once; this module adds the
dashboard's own fields (``DASHBOARD_RULES``, the same kind of rules) and the
limits of what a database stores, so a form can show each message at its
input and nothing is saved until all is valid. ``form_schema()`` is what the
browser's instant checks and defaults come from.
"""
from __future__ import annotations

import dataclasses
import datetime
import re

from django.utils import timezone

from hpopt.errors import FieldError
from hpopt.fields import RULES, Rule, schema
from hpopt.params import SPACE_TYPES, search_space_layouts
from hpopt.settings import validate
from studies.durations import parse_duration, seconds_until


def is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1

#: create() arguments with no meaning for a database-backed study
IGNORED_ARGS = ("save_path", "resume")
MAX_PARALLELISM = 1024
#: a year per epoch: beyond, estimates overflow and mean nothing
MAX_SECONDS_PER_EPOCH = 365 * 86400
DASHBOARD_RULES: dict[str, Rule] = {
    "parallelism": Rule("int", default=1, minimum=1, maximum=MAX_PARALLELISM),
    #: the time model (studies.timing): seconds per full-data epoch, and a trial's start-up
    "seconds_per_epoch": Rule("number", default=1.0, minimum=0, maximum=MAX_SECONDS_PER_EPOCH, min_open=True),
    "startup_seconds": Rule("number", default=0.0, minimum=0, maximum=MAX_SECONDS_PER_EPOCH),
    "start": Rule("bool", default=False),
}
#: a wall-clock budget instead of expected_time_ratio (at most one of them)
TIME_BUDGETS = ("budget", "done_by")


@dataclasses.dataclass(frozen=True)
class Limits:
    """What the dashboard stores and sends for one study (the library has no
    such limits): every page and poll of a study carries its search space,
    and a study of 1 MB choice strings made the studies list 67 MB. The
    request body's own limit is settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    (HPOPT_MAX_BODY_BYTES)."""

    #: fields of a study's body (create() has about 30, the dashboard a few more)
    fields: int = 64
    #: parameters of a search space
    parameters: int = 100
    #: choices of one choice parameter
    choices: int = 1000
    #: characters of a text: a study, trainer or parameter name, a choice string, any other text field
    text: int = 200
    #: characters of a study's or a trial's Markdown notes
    notes: int = 20_000
    #: tags on one study, and characters of one tag (TAG_CHARS)
    tags: int = 20
    tag: int = 40

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


LIMITS = Limits()
#: a tag: a letter or digit, then letters, digits and . _ : - (stored lowercase,
#: so "GPU" and "gpu" are one tag; no spaces: a tag is found as " tag " in the list's search)
TAG_CHARS = re.compile(r"[a-z0-9][a-z0-9._:-]*")


def clean_tags(value) -> tuple[list[str], str]:
    """(the tags, lowercased, duplicates dropped, in the order given; "") or
    ([], why the value breaks a rule). ``value``: a list of strings, or one
    string of tags separated by commas or spaces (what the page's box sends)."""
    if isinstance(value, str):
        value = [t for t in re.split(r"[\s,]+", value) if t]
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        return [], "tags must be a list of strings (or one string, separated by commas or spaces)"
    tags = list(dict.fromkeys(t.strip().lower() for t in value if t.strip()))
    if len(tags) > LIMITS.tags:
        return [], f"a study has at most {LIMITS.tags} tags (got {len(tags)})"
    for tag in tags:
        if len(tag) > LIMITS.tag:
            return [], f"a tag is at most {LIMITS.tag} characters ({tag[:20]!r}... has {len(tag)})"
        if not TAG_CHARS.fullmatch(tag):
            return [], (f"tag {tag[:LIMITS.tag]!r}: a tag starts with a letter or digit and holds only "
                        "letters a-z, digits and . _ : -")
    return tags, ""


def clean_notes(value) -> tuple[str, str]:
    """(the notes, "") or ("", why they break a rule): Markdown text up to LIMITS.notes characters."""
    if not isinstance(value, str):
        return "", "notes must be a string (Markdown)"
    if len(value) > LIMITS.notes:
        return "", f"notes must be at most {LIMITS.notes} characters (got {len(value)})"
    why = unstorable_text(value)
    return ("", f"notes {why}") if why else (value.strip(), "")


def form_schema() -> dict:
    """The rules and defaults of every field of the new-study form (what the
    page's script checks as the user types; the server checks again), and
    the layouts of the parameter types."""
    fields = schema([n for n in RULES if n not in IGNORED_ARGS])
    fields.update({name: rule.to_json() for name, rule in DASHBOARD_RULES.items()})
    fields.pop("startup_epochs", None)  # the form asks for seconds (startup_seconds)
    return {"fields": fields, "space_types": {t: search_space_layouts(t) for t in SPACE_TYPES},
            "limits": LIMITS.to_json()}


def unstorable_text(value) -> str:
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


def _dashboard_fields(data: dict, trainer_names, errors: dict) -> dict:
    """The dashboard's own fields, checked; their messages go into ``errors``."""
    out = {}
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        errors["name"] = "name is required"
    elif unstorable_text(name):
        errors["name"] = f"name {unstorable_text(name)}"
    else:
        out["name"] = name.strip()
    trainer = data.get("trainer")
    if not isinstance(trainer, str) or trainer not in trainer_names:
        known = ", ".join(sorted(trainer_names)) or "none yet: start a worker"
        errors["trainer"] = f"trainer must be one of the registered trainers ({known})"
    else:
        out["trainer"] = trainer
    for field, rule in DASHBOARD_RULES.items():
        try:
            out[field] = rule.check(field, data.get(field, rule.default))
        except FieldError as exc:
            errors[field] = str(exc)
    return out


def _time_budget(data: dict, errors: dict) -> float | None:
    """Seconds of wall time the user gave as the budget ("budget": "3h", or
    "done_by": a moment), or None; its message goes into ``errors``."""
    given = [f for f in TIME_BUDGETS if data.get(f) not in (None, "")]
    if not given:
        return None
    if len(given) > 1 or "expected_time_ratio" in data:
        errors[given[0]] = (f"{given[0]}: give the budget once: as a duration (budget), a moment (done_by) "
                            "or expected_time_ratio")
        return None
    field = given[0]
    try:
        if field == "budget":
            return parse_duration(data[field])
        return seconds_until(data[field], timezone.now())
    except ValueError as exc:
        errors[field] = f"{field} {exc}"
        return None


def _too_long(text) -> bool:
    return isinstance(text, str) and len(text) > LIMITS.text


def _too_many_fields(data: dict) -> str:
    """Why the body is too far out of LIMITS to check its fields, or ""."""
    if len(data) > LIMITS.fields:
        return f"a study has at most {LIMITS.fields} fields (got {len(data)})"
    if any(_too_long(k) for k in data):
        return f"field names must be at most {LIMITS.text} characters"
    return ""


def _within_limits(data: dict, errors: dict) -> None:
    """The limits (LIMITS) of the body's text fields and of its search space:
    their messages go into ``errors`` (replacing any other rule's, which
    would repeat the oversized text)."""
    for field, value in data.items():
        if _too_long(value):
            errors[field] = f"{field} must be at most {LIMITS.text} characters (got {len(value)})"
    space = data.get("search_space")
    if not isinstance(space, dict):
        return
    if len(space) > LIMITS.parameters:
        errors["search_space"] = f"search_space has at most {LIMITS.parameters} parameters (got {len(space)})"
        return
    long_names = [p for p in space if _too_long(p)]
    if long_names:
        errors["search_space"] = (f"parameter names must be at most {LIMITS.text} characters "
                                  f"(one starts {long_names[0][:20]!r}, {len(long_names[0])} characters)")
    for param, spec in space.items():
        values = spec.get("range") if isinstance(spec, dict) and spec.get("type") == "choice" else None
        if param in long_names or not isinstance(values, list):
            continue
        key = f"search_space.{param}"
        if len(values) > LIMITS.choices:
            errors[key] = f"parameter '{param}': at most {LIMITS.choices} choices (got {len(values)})"
        elif any(_too_long(v) for v in values):
            i = next(i for i, v in enumerate(values) if _too_long(v))
            errors[key] = (f"parameter '{param}': choice strings must be at most {LIMITS.text} characters "
                           f"(choice {i} has {len(values[i])})")


def _storable_space(space, errors: dict) -> None:
    if isinstance(space, dict):
        for param, spec in space.items():
            why = unstorable_text({param: spec})
            if why:
                errors[f"search_space.{param}"] = f"parameter names and choices {why}"


def validate_study(data, trainer_names, capacity: int | None = None) -> tuple[dict, dict]:
    """Returns (cleaned, errors). ``cleaned`` holds ``settings`` (a validated
    hpopt Settings) and the dashboard fields; ``errors`` maps a field name
    (``search_space.<param>`` for one parameter) to its message: every
    broken rule at once. ``capacity``: how many trials of the trainer the
    live workers run side by side at full speed (studies.dispatch
    capacity); Auto Config then plans for min(parallelism, capacity)
    workers (``cleaned["planned_workers"]``), the study keeps its
    parallelism as its slots."""
    if not isinstance(data, dict):
        return {}, {"__all__": "the body must be a JSON object"}
    if _too_many_fields(data):
        return {}, {"__all__": _too_many_fields(data)}
    errors: dict[str, str] = {}
    cleaned = _dashboard_fields(data, trainer_names, errors)
    _storable_space(data.get("search_space"), errors)
    args = {k: v for k, v in data.items()
            if k not in ("name", "trainer", *DASHBOARD_RULES, *IGNORED_ARGS, *TIME_BUDGETS)}
    parallelism = cleaned.get("parallelism", 1)
    args.setdefault("num_workers", min(parallelism, capacity) if capacity else parallelism)
    seconds = cleaned.get("seconds_per_epoch")
    if seconds and "startup_epochs" not in args:
        # Auto Config's unit: full epochs
        args["startup_epochs"] = cleaned.get("startup_seconds", 0.0) / seconds
    wall = _time_budget(data, errors)
    if wall is not None and seconds and is_count(data.get("num_full_iterations")):
        # budget = (expected_time_ratio - 1) full trainings of wall time
        args["expected_time_ratio"] = 1 + wall / (data["num_full_iterations"] * seconds)
        cleaned["budget_seconds"] = wall
        if data.get("done_by") not in (None, ""):   # a moment stays that moment (studies.deadline)
            cleaned["deadline"] = timezone.now() + datetime.timedelta(seconds=wall)
    _within_limits(data, errors)
    if any(k.startswith("search_space") for k in errors):
        args["search_space"] = {}  # reported already; the other fields are still checked
    settings, problems = validate(args)
    for field, exc in problems.items():
        if field == "search_space" and any(k.startswith("search_space.") for k in errors):
            continue
        errors.setdefault(field, str(exc).replace("create() got", "got"))
    if errors:
        return {}, errors
    return {"settings": settings, "planned_workers": settings.num_workers, **cleaned}, {}
