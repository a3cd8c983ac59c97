"""Trials with curves written straight to the database, for tests that need
a study's history (states, scores, finish times) without running it."""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone


def add_trial(study, number, params, curve, state="completed", attempt=1, finished=None, spent=None, **fields):
    """Trial ``number`` of ``study`` with scores ``curve`` (epochs 1, 2, ...)."""
    from studies.models import Score, Trial

    now = timezone.now()
    started = now - timedelta(seconds=60) if finished is None else finished - timedelta(minutes=2)
    trial = Trial.objects.create(
        study=study, number=number, params=params, iterations=fields.pop("iterations", len(curve) or 1),
        subset_ratio=1.0, state=state, attempt=attempt, last_iteration=len(curve),
        best_score=max(curve) if curve else None, last_score=curve[-1] if curve else None,
        started=fields.pop("started", started),
        finished=finished,
        spent=float(len(curve)) if spent is None else spent, **fields)
    Score.objects.bulk_create([Score(study=study, trial=trial, iteration=i, value=v) for i, v in enumerate(curve, 1)])
    return trial
