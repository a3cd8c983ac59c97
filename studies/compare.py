"""What the compare views draw, computed on the server and bounded in size:
chosen trials of one study side by side (params, which differ, their curves,
final and best-epoch scores), studies of one trainer overlaid (the best score
so far against wall time and against compute spent), and where each attempt
of a trial began on its curve (a resume, a re-run after an OOM).

``numbers(raw, field, most)`` reads a comma-separated list of ids from a
query string, or raises CompareError naming the field and the rule.
"""
from __future__ import annotations

import datetime
import json

from django.db.models import Case, F, FloatField, Max, Min, OuterRef, Q, Subquery, Sum, Value, When, Window
from django.db.models.functions import Coalesce, RowNumber

from hpopt.best import final_score
from hpopt.status import TrialState
from studies import trial_table
from studies.models import Attempt, Score

#: trials compared at once, and studies overlaid
MOST_TRIALS = 12
MOST_STUDIES = 8
#: points per curve or per series sent (the rest is thinned evenly)
MAX_POINTS = 500
#: the states whose scores count for "best so far": trained as far as the
#: algorithm let them (a killed or failed trial's score is an accident of when it ended)
SCORED = (TrialState.COMPLETED.value, TrialState.STOPPED.value)
FAR_FUTURE = datetime.datetime(9999, 1, 1, tzinfo=datetime.timezone.utc)


class CompareError(ValueError):
    def __init__(self, errors: dict):
        super().__init__(errors)
        self.errors = errors


def numbers(raw: str, field: str, most: int) -> list[int]:
    """[3, 7, 9] from "3,7,9" (order kept, repeats dropped): 1 to ``most`` whole numbers."""
    parts = [p.strip() for p in (raw or "").split(",") if p.strip()]
    if not parts or not all(p.isdecimal() and len(p) < 10 for p in parts):
        raise CompareError({field: f"{field} must be comma-separated whole numbers, e.g. 3,7,9"})
    out = list(dict.fromkeys(int(p) for p in parts))
    if len(out) > most:
        raise CompareError({field: f"{field} takes at most {most} at once (got {len(out)})"})
    return out


def thin(points: list, most: int = MAX_POINTS) -> list:
    """``most`` points evenly spread over ``points``, the first and the last among them."""
    n = len(points)
    if n <= most:
        return points
    return [points[round(i * (n - 1) / (most - 1))] for i in range(most)]


def attempt_starts(trial_ids) -> dict[int, list]:
    """{trial id: [[attempt number, first epoch it reported, how the attempt
    before it ended], ...]} for every attempt after a trial's first.

    The first epoch is the lowest iteration whose score was written while the
    attempt ran (from its start to the next attempt's): the worker writes both
    the attempt's start and its scores, so one clock orders them, and it holds
    for trials stored before any such field existed. An attempt that
    reported nothing has no epoch and is left out."""
    if not trial_ids:
        return {}   # a poll's usual case: no query built
    until = Attempt.objects.filter(trial=OuterRef("trial"), number=OuterRef("number") + 1).values("started")[:1]
    first = (Score.objects.filter(trial=OuterRef("trial"), created__gte=OuterRef("started"))
             .filter(created__lt=OuterRef("until")).order_by("iteration").values("iteration")[:1])
    rows = (Attempt.objects.filter(trial_id__in=trial_ids)
            .annotate(until=Coalesce(Subquery(until), Value(FAR_FUTURE)))
            .annotate(first=Subquery(first))
            .order_by("trial_id", "number").values_list("trial_id", "number", "first", "outcome", "oom"))
    out: dict[int, list] = {}
    before: dict[int, str] = {}
    for trial_id, number, first_epoch, outcome, oom in rows:
        if number > 1 and first_epoch is not None and trial_id in before:
            out.setdefault(trial_id, []).append([number, first_epoch, before[trial_id]])
        # an earlier attempt that never wrote its end was lost (its worker vanished)
        before[trial_id] = "out of memory" if oom else (outcome or "lost")
    return out


def _curves(trials) -> dict[int, list]:
    ids = [t.pk for t in trials]
    out: dict[int, list] = {i: [] for i in ids}
    for trial_id, it, value in Score.objects.filter(trial_id__in=ids).order_by("trial_id", "iteration") \
            .values_list("trial_id", "iteration", "value"):
        out[trial_id].append([it, value])
    return out


def _best_epoch(curve: list, mode: str) -> int | None:
    if not curve:
        return None
    sign = 1 if mode == "max" else -1
    # the earliest epoch that reached the best score
    return max(curve, key=lambda p: (sign * p[1], -p[0]))[0]


def trials_side_by_side(study, wanted: list[int]) -> dict:
    """The trials numbered ``wanted`` of ``study``: params (and which differ),
    final and best-epoch scores, curves and attempt starts. Raises
    CompareError for a number the study has no trial for."""
    found = {t.number: t for t in study.trials.filter(number__in=wanted).annotate(seconds=trial_table.duration())}
    missing = [n for n in wanted if n not in found]
    if missing:
        raise CompareError({"trials": f"this study has no trial #{missing[0]} (trials are numbered 0 to "
                                      f"{max(study.trials.count() - 1, 0)})"})
    trials = [found[n] for n in wanted]
    curves, starts = _curves(trials), attempt_starts([t.pk for t in trials])
    names = list(dict.fromkeys([*study.space, *(k for t in trials for k in t.params)]))
    canon = lambda v: json.dumps(v, sort_keys=True)   # noqa: E731 - 1 and 1.0 differ as params do
    differing = [n for n in names if len({canon(t.params.get(n)) for t in trials}) > 1]
    rows = []
    for t in trials:
        curve = curves[t.pk]
        rows.append({
            "id": t.pk, "number": t.number, "state": t.state, "params": t.params,
            "final_score": final_score(t),
            "best_epoch_score": t.best_score, "best_epoch": _best_epoch(curve, study.mode),
            "iterations": t.iterations, "last_iteration": t.last_iteration, "stop_reason": t.stop_reason,
            "attempts": t.attempt, "started": t.started and t.started.isoformat(),
            "finished": t.finished and t.finished.isoformat(), "duration_seconds": t.seconds,
            "curve": thin(curve), "attempt_starts": starts.get(t.pk, []),
        })
    return {"study": {"id": study.pk, "name": study.name, "mode": study.mode, "trainer": study.trainer},
            "params": names, "differing": differing, "trials": rows}


def best_so_far(study) -> dict:
    """The study's best epoch score so far, as its finished trials came in:
    ``by_time`` [[seconds since the study started, best], ...] and
    ``by_epochs`` [[full epochs spent by the trials finished so far, best], ...]
    (every finished trial's compute counts; only completed and stopped trials'
    scores do). A point where the best improved, and one at the latest finish.

    The running best and the running sum are window functions: the database
    sorts the finished trials and sends only the rows that improved (a few
    dozen of 100,000)."""
    order = [F("finished").asc(), F("number").asc()]
    scored = Case(When(state__in=SCORED, then=F("best_score")), output_field=FloatField())
    running = (Max if study.mode == "max" else Min)(scored)
    rows = (study.trials.exclude(finished=None)
            .annotate(own=scored, best=Window(running, order_by=order),
                      spent_so_far=Window(Sum("spent"), order_by=order),
                      from_end=Window(RowNumber(), order_by=[F("finished").desc(), F("number").desc()]))
            # the rows that improved, and the latest finish (where the line ends)
            .filter(Q(best=F("own")) | Q(from_end=1)).order_by("finished", "number")
            .values_list("finished", "spent_so_far", "best", "from_end"))
    origin = study.started or study.created
    by_time, by_epochs = [], []
    for when, spent, best, from_end in rows:
        seconds = (when - origin).total_seconds()
        if best is None:
            continue   # no completed or stopped trial yet
        # a tie with the best so far is no improvement; the last finish only extends the line
        if by_time and by_time[-1][1] == best and (from_end != 1 or by_time[-1][0] == seconds):
            continue
        by_time.append([seconds, best])
        by_epochs.append([spent, best])
    return {"by_time": thin(by_time), "by_epochs": thin(by_epochs)}


def studies_overlaid(studies: list) -> dict:
    """Series of each study (``best_so_far``); the studies must share one trainer."""
    trainers = {s.trainer for s in studies}
    if len(trainers) > 1:
        raise CompareError({"studies": "studies compared must share one trainer (got "
                                       f"{', '.join(sorted(trainers))})"})
    out = []
    for s in studies:
        best = s.best_trial()
        out.append({"id": s.pk, "name": s.name, "trainer": s.trainer, "algorithm": s.algorithm, "mode": s.mode,
                    "state": s.state, "started": s.started and s.started.isoformat(),
                    "best": None if best is None else {"trial": best.number, "final_score": final_score(best),
                                                       "best_epoch_score": best.best_score},
                    **best_so_far(s)})
    return {"studies": out}

