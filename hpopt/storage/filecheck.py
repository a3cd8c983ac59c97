"""Checks a study file (``hpopt_study.json``) as read, before anything uses it.

A file edited by hand, cut short by a full disk, or written by something else
must fail with its path and what is wrong, not with a KeyError deep in the
engine, and damage that would pass silently (a score that is not a number,
trial ids that repeat, a null ``meta`` beside trials) must be found too: a
study built on it would rank or number trials wrongly.
"""
from __future__ import annotations

from hpopt.errors import HpoError
from hpopt.fields import is_finite_number
from hpopt.status import TrialState


class DamagedStudyFile(HpoError):
    """The study file cannot be read as a study; the message names the file and the damage."""


def problems(doc) -> list[str]:
    """What is wrong with a study document (``[]``: nothing)."""
    if not isinstance(doc, dict):
        return [f"the file holds a {type(doc).__name__}, not a study object"]
    missing = [k for k in ("meta", "trials", "scores") if k not in doc]
    if missing:
        return [f"missing {', '.join(map(repr, missing))}"]
    meta, trials, scores = doc["meta"], doc["trials"], doc["scores"]
    if meta is not None and not isinstance(meta, dict):
        return ['"meta" is not an object']
    if not isinstance(trials, list) or not isinstance(scores, dict):
        return ['"trials" must be a list and "scores" an object']
    out = []
    if meta is None and (trials or scores):
        out.append(f'"meta" is null but the file holds {len(trials)} trials')
    if isinstance(meta, dict):
        out += [f'"meta" has no {key!r}' for key in ("settings", "plan", "space", "initial_space") if key not in meta]
    states = {s.value for s in TrialState}
    for i, trial in enumerate(trials):
        if not isinstance(trial, dict):
            out.append(f"trial {i} is not an object")
        elif trial.get("trial_id") != i:
            out.append(f"trial at position {i} has id {trial.get('trial_id')!r} (ids must be 0, 1, 2, ... in order)")
        elif trial.get("state") not in states:
            out.append(f"trial {i} has state {trial.get('state')!r}")
        elif trial.get("best_score") is not None and not is_finite_number(trial["best_score"]):
            out.append(f"trial {i} has best_score {trial['best_score']!r}, not a finite number")
    for tid, per in scores.items():
        if not (isinstance(tid, str) and tid.isdigit() and int(tid) < len(trials)):
            out.append(f"scores for trial {tid!r}, which the file does not hold")
        elif not isinstance(per, dict):
            out.append(f"scores of trial {tid} are not an object")
        else:
            bad = [(it, v) for it, v in per.items() if not (it.isdigit() and int(it) >= 1 and is_finite_number(v))]
            if bad:
                out.append(f"trial {tid} has score {bad[0][1]!r} at iteration {bad[0][0]!r} "
                           "(iterations are 1, 2, ...; scores finite numbers)")
    return out
