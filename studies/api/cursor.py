"""The live pages' cursor: ``?since=<last score id>:<milliseconds>``.

Scores are written under the study's lock and a replaced score (a re-run
training an iteration again) is stored anew, so ids only grow and ``id > last``
is exact; the client keeps the latest value per (trial, iteration). Trials
change in place, so they are selected by ``updated``; the time part is moved
back by OVERLAP to cover commits that land slightly after their timestamp
(several processes write), and the client merges trials by id.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.db.models import Max, Q
from django.utils import timezone

from hpopt.status import TrialState
from studies import progress, settled
from studies.api.serialize import page_row, trial_rows
from studies.models import Score, Trial
from studies.settled import OPEN_STATES

OVERLAP = timedelta(seconds=3)


def parse(since: str | None) -> tuple[int, datetime | None]:
    """(last score id, trials-changed-after time); (0, None) means everything.
    Raises ValueError for a malformed cursor."""
    if not since:
        return 0, None
    score_part, _, ms_part = since.partition(":")
    score_id, ms = int(score_part), int(ms_part or 0)
    # bounds of what this endpoint ever returns: a 64-bit id, a time before year 2286
    if not (0 <= score_id < 2**63 and 0 <= ms < 10**13):
        raise ValueError("cursor out of range")
    return score_id, datetime.fromtimestamp(ms / 1000, tz=dt_timezone.utc) - OVERLAP


#: the first load sends the curves of at most this many trials (running ones,
#: then the best, then the newest): as many as the page draws at once
#: (study_charts.js, MAX_CURVES); it fetches any other trial's curve from
#: /api/trials/<id>. Later polls send every new score.
FIRST_LOAD_CURVES = 120


def curve_trials(study, selected=()) -> list[int]:
    """Trial numbers whose learning curves the first load sends: the
    selected ones (``selected``: trial numbers), then running, best, newest."""
    trials = study.trials.exclude(last_iteration=0)
    # the open trials through the (study, state) index, sorted here: sorted by
    # the database, a planner may walk every trial of the study by number
    live = trials.filter(state__in=[TrialState.RUNNING.value, TrialState.PAUSED.value]).order_by()
    chosen = sorted(live.values_list("number", flat=True), reverse=True)[:FIRST_LOAD_CURVES]
    order = "-best_score" if study.mode == "max" else "best_score"
    # a trial with a score has reported: the (study, best_score) index alone answers
    for qs in (study.trials.exclude(best_score=None).order_by(order), trials.order_by("-number")):
        if len(chosen) >= FIRST_LOAD_CURVES:
            break
        seen = set(chosen)
        chosen += [n for n in qs.values_list("number", flat=True)[:FIRST_LOAD_CURVES] if n not in seen]
    return list(dict.fromkeys([*selected, *chosen[:FIRST_LOAD_CURVES]]))


#: a first load sends every trial of a study up to this size; of a bigger
#: one, the open trials (at most this many) and those whose curves it sends
FIRST_LOAD_TRIALS = 1000


def first_trials(study, curve_ids: list[int]):
    """The trials a first load sends: all of them, or of a big study the open
    ones and those with ids in ``curve_ids`` (the page asks for others by page)."""
    trials = study.trials.all()
    if not study.trials.filter(number__gte=FIRST_LOAD_TRIALS).exists():
        return trial_rows(trials.order_by("number"))
    open_ids = trials.filter(state__in=OPEN_STATES).order_by().values_list("id", flat=True)[:FIRST_LOAD_TRIALS]
    # by primary key alone (the ids are this study's): a planner may otherwise walk the study
    return trial_rows(Trial.objects.filter(id__in={*open_ids, *curve_ids}).order_by("number"))


def changes(study, since: str | None, selected=(), open_rows=None, now=None) -> dict:
    """Trials changed and scores stored since the cursor, and the next cursor.
    ``scores_complete`` is False when the first load left some curves out.
    ``selected`` (trial numbers the page selected): their rows and whole
    curves come too, whatever the cursor. ``open_rows``: the open trials'
    rows (studies.settled.live_rows) read at or after ``now`` (the moment
    the next cursor stands for), which a poll then does not read again."""
    score_id, changed_after = parse(since)
    now = now or timezone.now()
    trials = study.trials.all()
    if changed_after is not None:
        trials = trials.filter(updated__gte=changed_after)
    scores = Score.objects.filter(study=study, id__gt=score_id)
    last = None   # the newest score id: of the scores sent, unless the first load sends some curves only
    complete = True
    if since is None and study.trials.filter(number__gte=FIRST_LOAD_CURVES).exists():
        last = scores.aggregate(m=Max("id"))["m"] or score_id
        # by trial id: the (trial, iteration) index finds each curve
        ids = list(study.trials.filter(number__in=curve_trials(study, selected)).values_list("id", flat=True))
        scores = Score.objects.filter(trial_id__in=ids)
        complete = False
        changed = first_trials(study, ids)
    else:
        if open_rows is not None and changed_after is not None:
            # a trial that left the open states between the two reads comes
            # in both: the later read (the closed one) wins
            closed = {row["id"]: row for row in trial_rows(trials.exclude(state__in=OPEN_STATES).order_by())}
            rows = [page_row(r) for r in open_rows if r["updated"] >= changed_after and r["id"] not in closed]
            changed = sorted([*rows, *closed.values()], key=lambda row: row["number"])
        else:
            changed = trial_rows(trials.order_by("number"))
        if selected:
            picked = list(study.trials.filter(number__in=selected).values_list("id", flat=True))
            have = {row["id"] for row in changed}
            changed += trial_rows(Trial.objects.filter(id__in=set(picked) - have).order_by("number"))
            scores = Score.objects.filter(Q(study=study, id__gt=score_id) | Q(trial_id__in=picked))
    rows = list(scores.order_by("id").values_list("id", "trial_id", "iteration", "value"))
    if last is None:
        last = max(rows[-1][0], score_id) if rows else score_id
    # trial numbers: of the trials already read (a poll's scores are mostly
    # the running trials'), the others by primary key, not by a join: joined,
    # PostgreSQL read every trial of a 100,000-trial study to send 120 curves
    numbers = {row["id"]: row["number"] for row in (*(open_rows or ()), *changed)}
    missing = {r[1] for r in rows} - numbers.keys()
    if missing:
        numbers.update(Trial.objects.filter(id__in=missing).values_list("id", "number"))
    return {
        "trials": changed,
        "scores": [[numbers[t], it, v] for _, t, it, v in rows],
        "scores_complete": complete,
        "cursor": f"{last}:{int(now.timestamp() * 1000)}",
    }


def poll(study, since: str | None, selected=()) -> tuple[dict, object, object]:
    """A poll of the study page: (``changes``, the tally of every trial,
    studies.progress.live's snapshot), the open trials read once for both.
    The moment the next cursor stands for comes before the reads: a change
    after it comes with the next poll. Raises ValueError for a malformed
    cursor, before reading anything."""
    parse(since)
    now = timezone.now()
    tally, open_rows = settled.live_rows(study)
    snapshot = progress.live(study, tally, settled.records(open_rows))
    return changes(study, since, selected, open_rows, now), tally, snapshot
