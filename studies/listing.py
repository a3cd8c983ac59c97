"""The studies list: one page of the studies a user sees, searched and
sorted on the server, each row with what the list shows (state, progress,
trial counts, best score, ETA) and nothing more (no search spaces).

Whatever the number of studies it costs the same number of queries: the
aggregates of every study on the page come from one grouped query each, by
the rules the study page uses (hpopt.progress, the best-trial rule of
hpopt.best, the time model of studies.timing). Sorting by best score or by
progress needs those values for every study that matches, so those two
sorts read the aggregates of all of them (still one query each); the
others sort and page in the database, and only the page is aggregated.
"""
from __future__ import annotations

import dataclasses

from django.db.models import Count, F, Func, JSONField, Max, Min, Q, Sum, Window
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from hpopt import best as core_best
from hpopt import progress as core_progress
from hpopt.plan import full_length
from hpopt.snapshot import Meta
from hpopt.status import StudyState
from hpopt.timing import RECENT, TimeModel, measure, pace
from studies import deadline, timing
from studies.api.serialize import Scores, score_names
from studies.models import Trial
from studies.models.study import meta_from_values
from studies.models.trial import CORE_FIELDS, record_from_values
from studies.progress import OPEN_STATES
from studies.validation import LIMITS, TAG_CHARS, unstorable_text

PER_PAGE = 25
MAX_PER_PAGE = 100
#: sort keys (a leading "-" for descending) -> a database ordering, or None
#: for the two computed from aggregates
SORTS = {"created": "created", "name": "name", "state": "state", "best": None, "progress": None}


class WithoutSpace(Func):
    """A study's ``settings`` without its ``search_space`` (the list never
    shows a space, and a space can be large)."""

    output_field = JSONField()
    template = "%(expressions)s"   # other databases: the whole settings

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="JSON_REMOVE(%(expressions)s, '$.search_space')", **extra)

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="(%(expressions)s - 'search_space')", **extra)


#: the study columns a row needs (never the search spaces)
COLUMNS = ("id", "name", "owner__username", "trainer", "algorithm", "state", "parallelism", "seconds_per_epoch",
           "startup_seconds", "plan", "search_over", "budget_refused", "error", "created", "started", "finished",
           "archived", "tags", "deadline", "paused_seconds")


#: the ``archived`` values of a list query: the default hides archived studies
ARCHIVED = {"": False, "0": False, "1": True, "all": None}


@dataclasses.dataclass(frozen=True)
class ListQuery:
    """What the list was asked for: ``q`` (a part of the name, trainer, a
    tag or the notes), ``tag`` (one tag, exactly), ``state``, ``archived``
    (a key of ARCHIVED), ``sort`` (a key of SORTS, "-" first for
    descending), ``page`` (from 1) and ``per_page``."""

    q: str = ""
    state: str = ""
    sort: str = "-created"
    page: int = 1
    per_page: int = PER_PAGE
    tag: str = ""
    archived: str = ""

    @classmethod
    def parse(cls, params) -> tuple["ListQuery", dict]:
        """From a GET query: (the query, {field: message} for bad values)."""
        errors = {}
        q = params.get("q", "").strip()
        if len(q) > LIMITS.text:
            errors["q"] = f"q must be at most {LIMITS.text} characters"
        elif why := unstorable_text(q):   # a NUL in a query: PostgreSQL raises
            errors["q"] = f"q {why}"
        tag = params.get("tag", "").strip().lower()
        if tag and (len(tag) > LIMITS.tag or not TAG_CHARS.fullmatch(tag)):
            errors["tag"] = (f"tag must be one tag: up to {LIMITS.tag} characters, a letter or digit first, "
                             "then letters, digits and . _ : -")
        archived = params.get("archived", "")
        if archived not in ARCHIVED:
            errors["archived"] = "archived must be 0 (the default: not archived), 1 (only archived) or all"
        state = params.get("state", "")
        if state and state not in StudyState._value2member_map_:
            errors["state"] = f"state must be one of {', '.join(s.value for s in StudyState)}"
        sort = params.get("sort", "") or "-created"
        if sort.lstrip("-") not in SORTS:
            errors["sort"] = f"sort must be one of {', '.join(SORTS)} (a leading '-' for descending)"
        numbers = {}
        for field, default, most in (("page", 1, None), ("per_page", PER_PAGE, MAX_PER_PAGE)):
            raw = params.get(field, "") or str(default)
            if not raw.isdecimal() or int(raw) < 1 or (most and int(raw) > most):
                errors[field] = f"{field} must be a whole number from 1" + (f" to {most}" if most else "")
            else:
                numbers[field] = int(raw)
        if errors:
            return cls(), errors
        return cls(q=q, state=state, sort=sort, tag=tag, archived="" if archived == "0" else archived,
                   **numbers), {}

    def shelf(self, studies):
        """``studies`` archived or not, as ``archived`` asks (before the state filter)."""
        wanted = ARCHIVED[self.archived]
        return studies if wanted is None else studies.filter(archived=wanted)

    def filter(self, studies):
        studies = self.shelf(studies)
        if self.q:
            studies = studies.filter(Q(name__icontains=self.q) | Q(trainer__icontains=self.q)
                                     | Q(tags__icontains=self.q) | Q(notes__icontains=self.q))
        if self.tag:
            studies = studies.filter(tags__contains=f" {self.tag} ")   # stored as " a b " (Study.tags)
        if self.state:
            studies = studies.filter(state=self.state)
        return studies


@dataclasses.dataclass(frozen=True)
class Page:
    rows: list
    total: int
    page: int
    pages: int
    per_page: int


def page_of(studies, query: ListQuery) -> Page:
    """One page of ``studies`` (those the user sees) for ``query``."""
    matching = query.filter(studies)
    total = matching.count()
    pages = max(1, -(-total // query.per_page))
    page = min(query.page, pages)
    window = slice((page - 1) * query.per_page, page * query.per_page)
    key, descending = query.sort.lstrip("-"), query.sort.startswith("-")
    rows = matching.values(*COLUMNS, settings_only=WithoutSpace("settings"))
    if SORTS[key] is not None:
        rows = list(rows.order_by(("-" if descending else "") + SORTS[key], "-id")[window])
        _summarise(rows, Trial.objects.filter(study_id__in=[r["id"] for r in rows]))
    else:
        # a subquery, not a list of ids: any number of studies fits in one query
        rows = list(rows.order_by("-id"))
        _summarise(rows, Trial.objects.filter(study__in=matching.values("id")))
        field = "progress" if key == "progress" else "best_score"
        known = sorted((r for r in rows if r[field] is not None), key=lambda r: r[field], reverse=descending)
        rows = (known + [r for r in rows if r[field] is None])[window]   # studies without a score last
    _add_best_trials(rows)
    _add_etas(rows)
    return Page([_public(r) for r in rows], total, page, pages, query.per_page)


def _summarise(rows: list[dict], trials) -> None:
    """Adds each row's progress, trial counts and best score; ``trials``:
    a queryset of at least these studies' trials."""
    totals, by_length, open_trials = {}, {}, {}
    # per iterations too: a study has few values (the full length, ASHA's backfill budgets)
    for t in trials.values("study_id", "state", "iterations").annotate(n=Count("id"), spent=Sum("spent")).order_by():
        row = totals.setdefault(t["study_id"], {}).setdefault(t["state"], {"n": 0, "spent": 0.0})
        row["n"] += t["n"]
        row["spent"] += t["spent"] or 0.0
        lengths = by_length.setdefault(t["study_id"], {})
        lengths[t["iterations"]] = lengths.get(t["iterations"], 0) + t["n"]
    for values in trials.filter(state__in=OPEN_STATES).order_by("number").values("study_id", "number", *CORE_FIELDS):
        study_id, number = values.pop("study_id"), values.pop("number")
        open_trials.setdefault(study_id, []).append(record_from_values(number, values))
    best_values = _best_values(trials) if rows else {}
    for r in rows:
        meta = Meta.from_dict(meta_from_values({
            "settings": {**r.pop("settings_only"), "search_space": {}}, "space": {}, "initial_space": {},
            **{c: r[c] for c in ("plan", "error", "search_over", "budget_refused", "created")}}))
        mine = totals.get(r["id"], {})
        created = sum(t["n"] for t in mine.values())
        spent = sum(t["spent"] or 0.0 for t in mine.values())
        r["_meta"], r["_open"] = meta, open_trials.get(r["id"], [])
        r["_progress"] = core_progress.progress(meta, spent, r["_open"], created,
                                                ended=StudyState(r["state"]).is_finished())
        r["progress"] = r["_progress"].fraction
        r["counts"] = {state: t["n"] for state, t in mine.items()}
        short = sum(n for iterations, n in by_length.get(r["id"], {}).items()
                    if not full_length(iterations, meta.plan.max_iterations))
        r["trial_count"] = core_progress.trial_count(created, r["plan"].get("num_trials"), short)
        r["_best"] = _pick_best(best_values.get(r["id"], {}), meta)
        r["best_score"] = None if r["_best"] is None else r["_best"][0]


def _best_values(trials) -> dict:
    """{study id: {(state, iterations): (highest, lowest final score)}} of the trials that reported."""
    out: dict = {}
    scored = trials.filter(excluded=False).exclude(best_score=None).annotate(
        final=Coalesce("last_score", "best_score"))
    for t in scored.values("study_id", "state", "iterations").annotate(hi=Max("final"), lo=Min("final")).order_by():
        out.setdefault(t["study_id"], {})[(t["state"], t["iterations"])] = (t["hi"], t["lo"])
    return out


def _pick_best(groups: dict, meta: Meta):
    """(final score, pool) of the best trial by hpopt.best's rule, or None."""
    high = meta.settings.mode == "max"
    for pool in core_best.POOLS:
        states = {s.value for s in pool.states}
        found = [hi if high else lo for (state, iterations), (hi, lo) in groups.items()
                 if state in states and (not pool.full_length or iterations >= meta.plan.max_iterations)]
        if found:
            return (max(found) if high else min(found)), pool
    return None


def _add_best_trials(rows: list[dict]) -> None:
    """Each row's best trial number: the earliest trial with the best final
    score in the best pool (ties to the earlier trial, as hpopt.best), in one query."""
    wanted = Q(pk__in=[])
    for r in rows:
        if r["_best"] is not None:
            score, pool = r["_best"]
            one = Q(study_id=r["id"], state__in=[s.value for s in pool.states], final=score, excluded=False)
            if pool.full_length:
                one &= Q(iterations__gte=r["_meta"].plan.max_iterations)
            wanted |= one
    found_rows: dict = {}
    found = Trial.objects.annotate(final=Coalesce("last_score", "best_score")).filter(wanted)
    for study_id, *trial in found.order_by("-number").values_list("study_id", "number", "best_score", "last_score"):
        found_rows[study_id] = trial   # the last one written is the earliest
    for r in rows:
        number, best_score, last_score = found_rows.get(r["id"], (None, None, None))
        r["best_trial"], r["_best_scores"] = number, Scores(best_score, last_score)


def _latest(trials, condition, count: int) -> dict:
    """{study id: the timing rows (studies.timing.ROW) of its latest ``count``
    trials meeting ``condition``, newest first}, in one query."""
    ranked = trials.filter(condition).annotate(
        rank=Window(RowNumber(), partition_by=F("study_id"), order_by=F("started").desc()))
    out: dict = {}
    for study_id, _rank, *row in ranked.filter(rank__lte=count).order_by("study_id", "rank").values_list(
            "study_id", "rank", *timing.ROW):
        out.setdefault(study_id, []).append(tuple(row))
    return out


def _add_etas(rows: list[dict]) -> None:
    """Each row's ETA (None once ended), as studies.progress.summary gives it:
    the study's time model (studies.timing.of_study) at its latest pace
    (studies.timing.for_eta), within its deadline (studies.deadline)."""
    live = [r for r in rows if not StudyState(r["state"]).is_finished()]
    now = timezone.now()
    for r in rows:
        r["eta_seconds"] = None
    if not live:
        return
    trials = Trial.objects.filter(study_id__in=[r["id"] for r in live])
    timed = _latest(trials, Q(epoch_count__gt=0), timing.SAMPLE)
    paced = _latest(trials, Q(first_report__isnull=False), RECENT)
    for r in live:
        model = measure(timed.get(r["id"], []), RECENT) or TimeModel(
            r["seconds_per_epoch"], r["startup_seconds"], "declared")
        if model.source == "measured":
            model = pace(model, paced.get(r["id"], []))
        parallel = timing.eta_parallel(r["parallelism"], r["_meta"].plan, model)
        r["eta_seconds"] = deadline.study_eta(r["_meta"], r["_progress"], r["_open"], parallel, model,
                                              r["deadline"], now, r["started"], r["paused_seconds"])


def _iso(dt):
    return dt.isoformat() if dt else None


def _public(r: dict) -> dict:
    """A row as the list shows it (docs/api.md, GET /api/studies)."""
    return {
        "id": r["id"], "name": r["name"], "owner": r["owner__username"], "trainer": r["trainer"],
        "algorithm": r["algorithm"], "mode": r["_meta"].settings.mode, "state": r["state"],
        "parallelism": r["parallelism"], "num_trials": r["plan"].get("num_trials"), "error": r["error"],
        "created": _iso(r["created"]), "started": _iso(r["started"]), "finished": _iso(r["finished"]),
        "progress": r["progress"], "counts": r["counts"], "trial_count": r["trial_count"],
        "eta_seconds": r["eta_seconds"],
        # r["best_score"] is the best trial's final score (hpopt.best); the names as GET /api/studies/<id> gives them
        "best": None if r["best_score"] is None else {"trial": r["best_trial"], "score": r["best_score"],
                                                      "best_score": r["_best_scores"].best_score,
                                                      **score_names(r["_best_scores"])},
        "archived": r["archived"], "tags": r["tags"].split(),
    }


def state_counts(studies, query: ListQuery) -> tuple[dict, int]:
    """({state: number of studies} among ``studies`` on the query's shelf,
    archived or not; the number archived): the list's filter chips, one query."""
    counts, archived = {}, 0
    shelf = ARCHIVED[query.archived]
    for state, is_archived, n in studies.order_by().values_list("state", "archived").annotate(n=Count("id")):
        archived += n if is_archived else 0
        if shelf is None or is_archived == shelf:
            counts[state] = counts.get(state, 0) + n
    return counts, archived

