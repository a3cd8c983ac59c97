"""The trial table's query: one rule for the trials API, the study page's
table and ``trials.csv``. A big study's table is sorted, filtered and paged
by the database, never in the browser.

``parse(study, params)`` reads the query string into a ``TableQuery`` or
raises ``TableError`` with ``{field: rule}``; ``TableQuery.apply(trials)``
filters and sorts a queryset of the study's trials.

- ``sort``: ``number``, ``state``, ``best_score`` (``score``: the best
  epoch's), ``last_score``, ``final_score`` (what ranks the best config),
  ``epochs``, ``duration``, ``started``, ``worker`` (the host, then the GPU) or
  ``param.<name>``; a leading ``-`` sorts descending. Trials without a value (no score yet) come last either
  way; ties go to the trial number.
- ``state``: comma-separated trial states.
- ``score_min`` / ``score_max``: the best epoch score's range (inclusive).
- ``final_score_min`` / ``final_score_max``: the final score's range
  (inclusive; the ``final_score`` sort's value, which ranks the best config).
- ``param.<name>.min`` / ``param.<name>.max``: a numeric parameter's range.
- ``param.<name>.in``: comma-separated values of a choice parameter (each one
  of the space's choices, written as the page shows it: ``adam``, ``32``,
  ``true``, ``null``); a trial matches any of them.
- ``q``: text in the host, GPU, state, error, stop reason, notes or parameters; a
  number (``12`` or ``#12``) also matches that trial.
"""
from __future__ import annotations

import dataclasses
import json
import math

from django.db.models import Case, F, FloatField, Func, Q, TextField, Value, When
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Coalesce, Concat, NullIf
from django.utils import timezone

from hpopt.status import TrialState
from studies.validation import unstorable_text

COLUMNS = {"number": "number", "state": "state", "best_score": "best_score", "score": "best_score",
           "last_score": "last_score", "epochs": "last_iteration", "started": "started"}
SORTS = (*COLUMNS, "final_score", "duration", "worker", "param.<name>")
#: sorts computed by an expression (not a bare column)
EXPRESSIONS = ("final_score", "duration", "worker")
NOT_NULL = {"number", "state", "epochs"}
#: trials whose duration runs until now (the page shows the same)
OPEN = (TrialState.RUNNING.value, TrialState.QUEUED.value)
MAX_LIMIT = 500
MAX_TEXT = 200


class Seconds(Func):
    """Seconds from the second expression to the first, as a number to sort
    by. (Django's DateTime difference runs a Python function per row on
    SQLite: 2.5 s to sort 100,000 trials; julianday is SQLite's own.)"""

    arg_joiner = " - "
    template = "EXTRACT(EPOCH FROM (%(expressions)s))"
    output_field = FloatField()

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="((julianday(%(expressions)s)) * 86400.0)",
                           arg_joiner=") - julianday(", **extra)


def duration():
    """Seconds the trial's current attempt ran: until now while it is queued
    or running, else until it finished (the table's Duration column)."""
    now = Value(timezone.now())
    end = Case(When(state__in=OPEN, then=now), default=Coalesce("finished", now))
    return Seconds(end, F("started"))


def final_score():
    """hpopt.best.final_score as an expression: the latest report's score."""
    return Coalesce("last_score", "best_score")


class TableError(ValueError):
    def __init__(self, errors: dict):
        super().__init__(errors)
        self.errors = errors


def numeric_params(study) -> set[str]:
    """Parameters whose values are numbers (every type but a choice among
    anything other than numbers): they sort and filter as numbers."""
    def numeric(spec):
        values = spec["range"] if spec["type"] == "choice" else [0]
        return all(_is_number(v) for v in values)
    return {name for name, spec in study.space.items() if numeric(spec)}


def param_value(name: str, numeric: bool):
    text = KeyTextTransform(name, "params")
    return Cast(text, FloatField()) if numeric else text


@dataclasses.dataclass(frozen=True)
class TableQuery:
    sort: str = "-number"
    states: tuple[str, ...] = ()
    score: tuple[float | None, float | None] = (None, None)
    final: tuple[float | None, float | None] = (None, None)
    params: tuple[tuple[str, float | None, float | None], ...] = ()
    #: (name, the space's choices picked) per ``param.<name>.in``
    choices: tuple[tuple[str, tuple], ...] = ()
    text: str = ""
    numeric: frozenset = frozenset()

    def _sort_expression(self):
        key = self.sort.lstrip("-")
        if key in COLUMNS:
            return F(COLUMNS[key])
        if key == "duration":
            return duration()
        if key == "final_score":
            return final_score()
        if key == "worker":
            # a trial no worker has taken (host "") has no value: it sorts last
            return NullIf(Concat("host", Value(" "), "gpu", output_field=TextField()), Value(" "))
        name = key.removeprefix("param.")
        return param_value(name, name in self.numeric)

    def apply(self, trials):
        """``trials`` filtered and sorted by this query."""
        if self.states:
            trials = trials.filter(state__in=self.states)
        trials = _in_range(trials, "best_score", self.score)
        if self.final != (None, None):
            trials = _in_range(trials.alias(_final=final_score()), "_final", self.final)
        for i, (name, low, high) in enumerate(self.params):
            alias = f"_param{i}"
            trials = _in_range(trials.alias(**{alias: param_value(name, True)}), alias, (low, high))
        for i, (name, picked) in enumerate(self.choices):
            # compared as JSON values, not text: 32 finds 32, "32" finds "32"
            alias = f"_choice{i}"
            trials = trials.alias(**{alias: KeyTransform(name, "params")})
            found = Q(**{f"{alias}__in": [v for v in picked if v is not None]})
            if None in picked:   # an SQL IN never matches null: JSON null has its own lookup
                found |= Q(**{alias: None})
            trials = trials.filter(found)
        if self.text:
            trials = trials.filter(self._text_filter())
        expr, desc = self._sort_expression(), self.sort.startswith("-")
        # NULLS LAST only where a value can be missing: PostgreSQL then still
        # reads a page of "newest first" straight from the (study, number) index
        nulls = {} if self.sort.lstrip("-") in NOT_NULL else {"nulls_last": True}
        order = expr.desc(**nulls) if desc else expr.asc(**nulls)
        return trials.order_by(order, "-number" if desc else "number")

    def _text_filter(self) -> Q:
        text = self.text
        found = (Q(host__icontains=text) | Q(gpu__icontains=text) | Q(state__icontains=text)
                 | Q(error__icontains=text) | Q(stop_reason__icontains=text) | Q(notes__icontains=text)
                 | Q(_params_text__icontains=text))
        digits = text.removeprefix("#")
        if digits.isdecimal() and len(digits) < 10:
            found |= Q(number=int(digits))
        return found


def _in_range(trials, column: str, bounds: tuple):
    low, high = bounds
    if low is not None:
        trials = trials.filter(**{f"{column}__gte": low})
    if high is not None:
        trials = trials.filter(**{f"{column}__lte": high})
    return trials


def annotate_text(trials):
    """The parameters as text, for ``q`` (a separate step: only a search pays for it)."""
    return trials.alias(_params_text=Cast("params", TextField()))


def _number(params, key: str, errors: dict) -> float | None:
    raw = params.get(key, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        errors[key] = f"{key} must be a finite number (got {raw[:40]!r})"
        return None
    return value


def choice_text(value) -> str:
    """A choice as ``param.<name>.in`` spells it: a string as itself, any
    other value as JSON (``32``, ``0.5``, ``true``, ``null``)."""
    return value if isinstance(value, str) else json.dumps(value)


def _choices(spec: dict, field: str, raw: str, errors: dict) -> tuple:
    """The space's choices that ``raw`` names: comma-separated (a string as
    itself, any other value as JSON), or a JSON array of the values
    themselves, which is exact where the short form is not (a string with a
    comma, the string "null" beside the choice null). A number names every
    numeric choice equal to it (``1`` finds ``1.0`` too)."""
    if raw.lstrip().startswith("["):
        try:
            wanted = json.loads(raw)
        except ValueError:
            wanted = None
        if not isinstance(wanted, list):
            errors[field[:80]] = f"{field[:80]} must be comma-separated choices or a JSON array of them"
            return ()
        tokens = [(w, lambda c, w=w: _same_value(c, w)) for w in wanted]
    else:
        tokens = [(t, lambda c, t=t: choice_text(c) == t or _same_number(c, t))
                  for t in (t.strip() for t in raw.split(",")) if t]
    picked = []
    for token, names in tokens:
        found = [c for c in spec["range"] if names(c)]
        if not found:
            shown = ", ".join(choice_text(c) for c in spec["range"])
            errors[field[:80]] = f"{field[:80]} takes the parameter's choices ({shown[:200]}); got {str(token)[:40]!r}"
            return ()
        picked += [c for c in found if not any(type(c) is type(p) and c == p for p in picked)]
    return tuple(picked)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same_number(choice, token: str) -> bool:
    if not _is_number(choice):
        return False
    try:
        return float(token) == choice
    except ValueError:
        return False


def _same_value(choice, value) -> bool:
    """A JSON array's value names a choice: equal numbers, else equal and of one type."""
    if _is_number(choice) and _is_number(value):
        return float(value) == choice
    return type(choice) is type(value) and choice == value


def parse(study, params) -> TableQuery:
    """The table query from a query string (a QueryDict or a dict of strings);
    raises TableError naming each bad field and its rule."""
    errors: dict[str, str] = {}
    numeric = numeric_params(study)
    sort = params.get("sort", "") or "-number"
    key = sort.lstrip("-")
    if sort.count("-") > 1 or not (key in COLUMNS or key in EXPRESSIONS
                                   or (key.startswith("param.") and key[6:] in study.space)):
        errors["sort"] = (f"sort must be one of {', '.join(SORTS)} (a parameter of this study), "
                          "with a leading - for descending")
    states = tuple(s for s in params.get("state", "").split(",") if s)
    bad = [s for s in states if s not in TrialState._value2member_map_]
    if bad:
        errors["state"] = f"state must be one of {', '.join(s.value for s in TrialState)} (got {bad[0][:40]!r})"
    score = (_number(params, "score_min", errors), _number(params, "score_max", errors))
    final = (_number(params, "final_score_min", errors), _number(params, "final_score_max", errors))
    ranges, choices = [], []
    for field in params:
        if not field.startswith("param."):
            continue
        name, _, bound = field[6:].rpartition(".")
        if bound not in ("min", "max", "in") or name not in study.space:
            errors[field[:80]] = "parameter filters are param.<name>.min, param.<name>.max and param.<name>.in " \
                                 f"for a parameter of this study ({', '.join(study.space)})"
        elif bound == "in":
            if study.space[name]["type"] != "choice":
                errors[field[:80]] = f"{name} is not a choice parameter: filter it with param.{name}.min/.max"
            elif picked := _choices(study.space[name], field, params.get(field, ""), errors):
                choices.append((name, picked))
        elif name not in numeric:
            errors[field[:80]] = f"{name} is a choice among non-numbers: it has no range (search for it with q)"
        else:
            ranges.append((name, bound, _number(params, field, errors)))
    text = params.get("q", "").strip()
    if len(text) > MAX_TEXT:
        errors["q"] = f"q must be at most {MAX_TEXT} characters"
    elif why := unstorable_text(text):   # a NUL in a query: PostgreSQL raises
        errors["q"] = f"q {why}"
    if errors:
        raise TableError(errors)
    merged: dict[str, list] = {}
    for name, bound, value in ranges:
        merged.setdefault(name, [None, None])[bound == "max"] = value
    return TableQuery(sort=sort, states=states, score=score, final=final, text=text, numeric=frozenset(numeric),
                      params=tuple((n, lo, hi) for n, (lo, hi) in merged.items()), choices=tuple(choices))


def page_bounds(params) -> tuple[int, int]:
    """(offset, limit) of a page; raises TableError for bad numbers."""
    out, errors = [], {}
    for key, default, high in (("offset", 0, 10**9), ("limit", 50, MAX_LIMIT)):
        raw = params.get(key, "") or str(default)
        if not raw.isdecimal() or not (0 <= int(raw) <= high) or (key == "limit" and int(raw) == 0):
            errors[key] = f"{key} must be a whole number from {0 if key == 'offset' else 1} to {high}"
        else:
            out.append(int(raw))
    if errors:
        raise TableError(errors)
    return out[0], out[1]


def trials_for(study, query: TableQuery):
    """The study's trials, filtered and sorted by ``query``."""
    trials = study.trials.all()
    if query.text:
        trials = annotate_text(trials)
    return query.apply(trials)
