"""Checks a study as read from its file, before anything uses it: the
journal's changes (hpopt.storage.journal) one by one, and a study document
of an older hpopt (``hpopt_study.json``) whole, before it is migrated.

A file edited by hand, cut short by a full disk, or written by something else
must fail with its path and what is wrong, not with a KeyError deep in the
engine, and damage that would pass silently (a score that is not a number,
trial ids that repeat, a null ``meta`` beside trials) must be found too: a
study built on it would rank or number trials wrongly. Each rule lives here
once; the journal and the older document are checked by the same functions.
"""
from __future__ import annotations

import json

from hpopt.errors import HpoError
from hpopt.fields import is_finite_number
from hpopt.status import Pending, TrialState

_STATES = frozenset(s.value for s in TrialState)
_PENDING = frozenset(p.value for p in Pending)
#: what a stored trial cannot do without (TrialRecord's fields without a default)
_REQUIRED = ("params", "iterations", "subset_ratio")


class DamagedStudyFile(HpoError):
    """The study file cannot be read as a study; the message names the file and the damage."""


def damaged(file: str, damage: list[str]) -> DamagedStudyFile:
    """The error for ``file`` with ``damage`` (one or more problems)."""
    more = f" (and {len(damage) - 1} more)" if len(damage) > 1 else ""
    return DamagedStudyFile(
        f"{file} is damaged: {damage[0]}{more}. hpopt.create(..., resume=False) starts a fresh study "
        "there and keeps the damaged file beside it")


def meta_problems(meta: dict) -> list[str]:
    return [f'"meta" has no {key!r}' for key in ("settings", "plan", "space", "initial_space") if key not in meta]


def trial_problem(i: int, trial, partial: bool = False) -> str:
    """What is wrong with trial ``i`` as stored ("": nothing). ``partial``:
    only some of its fields (a journal's change of a trial)."""
    if not isinstance(trial, dict):
        return f"trial {i} is not an object"
    if trial.get("trial_id") != i:
        return f"trial at position {i} has id {trial.get('trial_id')!r} (ids must be 0, 1, 2, ... in order)"
    if trial.get("state") not in _STATES:
        return f"trial {i} has state {trial.get('state')!r}"
    if trial.get("best_score") is not None and not is_finite_number(trial["best_score"]):
        return f"trial {i} has best_score {trial['best_score']!r}, not a finite number"
    if trial.get("pending", "") not in _PENDING:
        return f"trial {i} has pending {trial['pending']!r}"
    rungs = trial.get("rungs", {})
    if not (isinstance(rungs, dict) and all(isinstance(m, str) and m.isdigit() and is_finite_number(v)
                                            for m, v in rungs.items())):
        return f"trial {i} has rungs {str(rungs)[:60]} (milestones whole numbers, scores finite numbers)"
    missing = [] if partial else [k for k in _REQUIRED if k not in trial]
    return f"trial {i} has no {', '.join(map(repr, missing))}" if missing else ""


def score_problem(trial_id, iteration, value) -> str:
    """What is wrong with a stored score ("": nothing)."""
    if isinstance(iteration, int) and not isinstance(iteration, bool) and iteration >= 1 and is_finite_number(value):
        return ""
    return (f"trial {trial_id} has score {value!r} at iteration {iteration!r} "
            "(iterations are 1, 2, ...; scores finite numbers)")


def problems(doc) -> list[str]:
    """What is wrong with a study document of an older hpopt (``[]``: nothing)."""
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
        out += meta_problems(meta)
    out += [p for i, trial in enumerate(trials) if (p := trial_problem(i, trial))]
    for tid, per in scores.items():
        if not (isinstance(tid, str) and tid.isdigit() and int(tid) < len(trials)):
            out.append(f"scores for trial {tid!r}, which the file does not hold")
        elif not isinstance(per, dict):
            out.append(f"scores of trial {tid} are not an object")
        else:
            bad = [p for it, v in per.items() if (p := score_problem(tid, int(it) if it.isdigit() else it, v))]
            out += bad[:1]
    return out


def read_document(file: str) -> dict:
    """A study document of an older hpopt, checked; DamagedStudyFile when it
    is not one (FileNotFoundError when there is none)."""
    try:
        with open(file, encoding="utf-8") as f:
            doc = json.load(f, parse_constant=no_constant)
    except (ValueError, UnicodeDecodeError) as exc:   # JSONDecodeError, NaN/Infinity, bad bytes
        raise damaged(file, [f"not a JSON study ({exc})"]) from None
    damage = problems(doc)
    if damage:
        raise damaged(file, damage)
    return doc


def no_constant(name: str):
    raise ValueError(f"{name} is not a number a study holds")
