"""A study's lifecycle beyond its controls: a new study from an existing
one (clone), a draft's definition edited before it starts, and a config
queued by hand into a running or paused study ("try this config").

Every definition goes through the one check of the create path
(``studies.validation.validate_study``) as a whole, so an edit or a clone
saves all of it or nothing; a config queued by hand goes through the core's
``hpopt.engine.enqueue`` (the same hand-out path as a sampled trial).
"""
from __future__ import annotations

import math

from hpopt import engine
from hpopt.settings import stored_values
from hpopt.status import StudyState
from studies import control, dispatch
from studies.models import Study, Trial
from studies.storage import DbStorage
from studies.validation import IGNORED_ARGS, LIMITS, TIME_BUDGETS, validate_study

#: studies a config may be queued into by hand
ENQUEUE_STATES = (StudyState.RUNNING.value, StudyState.PAUSED.value)


class StateConflict(Exception):
    """The study's state does not allow the change (the API's 409)."""


def definition(study: Study) -> dict:
    """The body of ``POST /api/studies`` that makes a study like ``study``:
    its create() arguments (the search space it started with, not one an
    out-of-memory error shrank), algorithm settings, budget as
    expected_time_ratio (a wall-clock budget was turned into one), workers
    and time model. Values the dashboard derives (num_workers from
    parallelism, startup_epochs from the start-up seconds) are left out
    when they are what it would derive."""
    settings = stored_values(study.settings)   # a study stored before an argument ran as it says
    body = {k: v for k, v in settings.items()
            if v is not None and k not in (*IGNORED_ARGS, "search_space", "num_workers", "startup_epochs")}
    if study.settings.get("num_workers") not in (None, study.parallelism):
        body["num_workers"] = study.settings["num_workers"]
    derived = study.startup_seconds / study.seconds_per_epoch
    if not math.isclose(study.settings.get("startup_epochs", 0.0), derived, rel_tol=1e-9, abs_tol=1e-12):
        body["startup_epochs"] = study.settings["startup_epochs"]
    body.update(name=study.name, trainer=study.trainer, search_space=study.initial_space,
                parallelism=study.parallelism, seconds_per_epoch=study.seconds_per_epoch,
                startup_seconds=study.startup_seconds)
    return body


def clone_name(name: str) -> str:
    suffix = " (copy)"
    return name[:LIMITS.text - len(suffix)] + suffix


def _with_changes(base: dict, changes) -> dict | None:
    """``base`` with the fields of ``changes`` (None when it is not an
    object; a field set to null goes back to its default, or to Auto
    Config); a wall-clock budget among them replaces the base's ratio."""
    if not isinstance(changes, dict):
        return None
    merged = {**base, **changes}
    if any(merged.get(f) not in (None, "") for f in TIME_BUDGETS) and changes.get("expected_time_ratio") is None:
        merged.pop("expected_time_ratio", None)
    return merged


def check_body(body) -> tuple[dict, dict]:
    """A study's body checked as the create path checks it, against the
    trainers workers offer (a missing trainer's error says why it may be
    missing): (cleaned, {}) or ({}, errors by field)."""
    if body is None:
        return {}, {"__all__": "the body must be a JSON object"}
    cleaned, errors = validate_study(body, dispatch.get().trainers(), dispatch.capacity_for(body))
    why = "trainer" in errors and dispatch.get().why_missing()
    if why:
        errors["trainer"] += f"; {why}"
    return cleaned, errors


def clone(source: Study, owner, changes=None) -> tuple[Study | None, dict]:
    """A new study of ``owner`` defined as ``source`` (named "... (copy)"),
    with ``changes`` (fields of the create body) over it: (study, {}) or
    (None, errors by field), nothing saved. ``source`` is only read."""
    body = _with_changes({**definition(source), "name": clone_name(source.name)}, {} if changes is None else changes)
    cleaned, errors = check_body(body)
    if errors:
        return None, errors
    return control.create(owner, cleaned), {}


def edit_draft(study: Study, changes) -> dict:
    """Changes a draft's definition: ``changes`` (fields of the create body)
    over its current one, checked whole as a create is; errors by field
    ({} when saved; nothing saved otherwise). ``"start": true`` starts it
    after the edit. StateConflict once the study has left the draft state."""
    with DbStorage(study.pk).locked():
        study.refresh_from_db()
        if study.state != StudyState.DRAFT.value:
            raise StateConflict(f"cannot edit a study that is {study.state}: only a draft can be edited "
                                "(a new study from this one can change anything)")
        cleaned, errors = check_body(_with_changes(definition(study), changes))
        if errors:
            return errors
        study.redefine(cleaned)
        if cleaned.get("start"):
            control.start(study)
    study.refresh_from_db()
    return {}


def enqueue(study: Study, params) -> Trial:
    """Queues ``params`` as a hand-picked trial of a running or paused
    study (hpopt.engine.enqueue: checked against the current search space,
    at the fidelity a new trial gets now, under the budget) and, when the
    study runs, gives it a free slot if one is free; otherwise the next slot
    that frees takes it before any new trial is sampled (control.fill_slots).
    Raises StateConflict, hpopt.errors.ConfigError or hpopt.errors.NoRoom."""
    storage = DbStorage(study.pk)
    with storage.locked():
        study.refresh_from_db()
        if study.state not in ENQUEUE_STATES:
            raise StateConflict(f"cannot enqueue a config into a study that is {study.state}: "
                                "only a running or paused study takes one")
        record = engine.enqueue(storage, params)
        if study.state == StudyState.RUNNING.value:
            control.fill_slots(study.pk)
    return Trial.objects.get(study=study, number=record.trial_id)
