"""The live pages' cursor: ``?since=<last score id>:<milliseconds>``.

Scores are written under the study's lock and a replaced score (a re-run
training an iteration again) is stored anew, so ids only grow and ``id > last``
is exact; the client keeps the latest value per (trial, iteration). Trials
change in place, so they are selected by ``updated``; the time part is moved
back by OVERLAP to cover commits that land slightly after their timestamp
(several processes write), and the client merges trials by id.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone as dt_timezone

from django.utils import timezone

from studies.api.serialize import TRIAL_LIST_FIELDS
from studies.models import Score

OVERLAP = timedelta(seconds=3)


def parse(since: str | None) -> tuple[int, datetime | None]:
    """(last score id, trials-changed-after time); (0, None) means everything.
    Raises ValueError for a malformed cursor."""
    if not since:
        return 0, None
    score_part, _, ms_part = since.partition(":")
    score_id, ms = int(score_part), int(ms_part or 0)
    if score_id < 0 or ms < 0:
        raise ValueError("negative cursor")
    return score_id, datetime.fromtimestamp(ms / 1000, tz=dt_timezone.utc) - OVERLAP


def changes(study, since: str | None) -> dict:
    score_id, changed_after = parse(since)
    now = timezone.now()
    trials = study.trials.all()
    if changed_after is not None:
        trials = trials.filter(updated__gte=changed_after)
    trial_rows = list(trials.order_by("number").values(*TRIAL_LIST_FIELDS[:-3], "started", "finished", "heartbeat"))
    for row in trial_rows:
        for key in ("started", "finished", "heartbeat"):
            row[key] = row[key].isoformat() if row[key] else None
    scores = list(
        Score.objects.filter(study=study, id__gt=score_id).order_by("id").values_list("id", "trial__number", "iteration", "value")
    )
    last = scores[-1][0] if scores else score_id
    return {
        "trials": trial_rows,
        "scores": [[number, iteration, value] for _, number, iteration, value in scores],
        "cursor": f"{last}:{int(now.timestamp() * 1000)}",
    }
